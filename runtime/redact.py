"""What may be shown of a setting: secrets and credentials in URLs are masked.

Robot webhook URLs carry their access token in the query string
(``https://oapi.dingtalk.com/robot/send?access_token=…``), and any URL may carry a user and
password; those parts are credentials, the rest (scheme, host, port, path) is what an operator
needs to recognise the endpoint.
"""

from __future__ import annotations

import urllib.parse

from pydantic import SecretStr

MASK = "***"


def mask_url(url: str) -> str:
    """``url`` without its credentials: userinfo, query and fragment become ``***``."""
    if not url:
        return url
    try:
        parts = urllib.parse.urlsplit(url)
    except ValueError:  # e.g. an unclosed IPv6 bracket: nothing in it can be trusted as safe
        return MASK
    if not parts.netloc and "@" in url:  # "user:password@host" without "//": no safe part
        return MASK
    _, at, hostport = parts.netloc.rpartition("@")
    netloc = f"{MASK}@{hostport}" if at else hostport
    shown = urllib.parse.urlunsplit((parts.scheme, netloc, parts.path, "", ""))
    if parts.query:
        shown += "?" + MASK
    if parts.fragment:
        shown += "#" + MASK
    return shown


def shown_setting(name: str, value: object) -> str:
    """A setting's value as ``haochaping settings`` prints it."""
    if isinstance(value, SecretStr):
        n = len(value.get_secret_value())
        return f"(set, {n} chars)" if n else "(empty)"
    if name.endswith("_url") and isinstance(value, str):
        return mask_url(value)
    return str(value)
