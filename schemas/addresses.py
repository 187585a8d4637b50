"""Client IP addresses as channels send them (``client_ip``): checked by the evaluation's
schema, reduced to their network by privacy (``privacy.scrub.client_network``)."""

from __future__ import annotations

import ipaddress
import socket


def ipv4_octets(text: str) -> bytes | None:
    """The four bytes of a dotted-quad IPv4 address; None if ``text`` is not one.

    inet_pton takes exactly the dotted quads ipaddress takes (no leading zeros, no short
    forms; tests/unit/schemas/test_addresses.py) at a tenth of its cost, and nearly every
    address a channel sends is one."""
    try:
        return socket.inet_pton(socket.AF_INET, text)
    except (OSError, ValueError):  # ValueError: a NUL or a lone surrogate in the text
        return None


def is_ip_address(text: str) -> bool:
    """Whether ``text`` is an IPv4 or IPv6 address as ``ipaddress.ip_address`` reads one."""
    if ipv4_octets(text) is not None:
        return True
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True
