"""Removing personal data from free text, and keyed pseudonyms of identifiers.

Pure functions, no Faust: the ingest agent calls them for every evaluation (~15k/s), so every
regex is compiled once at import and text without digits or ``@`` skips the regexes entirely.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from typing import Final

# Citizens type full-width digits (１３８…) in Chinese IMEs as often as ASCII ones.
_D: Final = "[0-9０-９]"
# Boundaries are "not a digit" rather than \b: Chinese characters are word characters, so \b
# would miss a number written straight after 电话 or before 谢谢.
_NOT_BEFORE: Final = r"(?<![0-9０-９])"
_NOT_AFTER: Final = r"(?![0-9０-９])"
_SEP: Final = r"[ \-－]?"

_EMAIL: Final = re.compile(
    # The look-behind anchors a match at the start of a run of address characters, which keeps
    # a long run without '@' linear instead of quadratic.
    r"(?<![A-Za-z0-9._%+\-])[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}"
)
# Resident ID: 6-digit area, a plausible birth date, 3-digit sequence, check digit or X.
# Requiring the date keeps an 18-digit bank card from being called an ID number; both are
# replaced anyway, the label is what differs.
_ID_CARD: Final = re.compile(
    _NOT_BEFORE
    + rf"[1-9１-９]{_D}{{5}}"
    + rf"(?:18|19|20|１８|１９|２０){_D}{{2}}"
    + r"(?:0[1-9]|1[0-2]|０[１-９]|１[０-２])"
    + r"(?:0[1-9]|[12][0-9]|3[01]|０[１-９]|[１２][０-９]|３[０１])"
    + rf"{_D}{{3}}[0-9０-９XxＸｘ]"
    + r"(?![0-9０-９A-Za-z])"
)
_BANK_CARD: Final = re.compile(
    _NOT_BEFORE
    + rf"(?:{_D}{{16,19}}|{_D}{{4}}(?:[ \-－]{_D}{{4}}){{3}}(?:[ \-－]?{_D}{{1,3}})?)"
    + _NOT_AFTER
)
_MOBILE: Final = re.compile(
    r"(?<![0-9０-９+＋])"
    + r"(?:(?:[+＋]|00)?(?:86|８６)[ \-－]?|[(（](?:[+＋]?(?:86|８６))[)）][ \-－]?)?"
    + rf"(?:1|１)[3-9３-９]{_D}{_SEP}{_D}{{4}}{_SEP}{_D}{{4}}"
    + _NOT_AFTER
)
_LANDLINE: Final = re.compile(
    _NOT_BEFORE
    + rf"(?:[(（](?:0|０){_D}{{2,3}}[)）][ \-－]?|(?:0|０)[1-9１-９]{_D}{{1,2}}{_SEP})"
    + rf"[1-9１-９]{_D}{{6,7}}"
    + rf"(?:[\-－转]{_D}{{1,5}})?"
    + _NOT_AFTER
)
# A bare 7-8 digit local number is only taken for a phone number when a phone word precedes it;
# on its own it could be a date like 20261128 or an amount.
_LOCAL_PHONE: Final = re.compile(
    r"((?:电话|座机|固话|联系方式|手机|tel|phone)\s*(?:号码|号)?\s*[:：]?\s*)"
    + rf"{_D}{{7,8}}"
    + _NOT_AFTER,
    re.IGNORECASE,
)
_MAYBE_PERSONAL: Final = re.compile(r"[0-9０-９@]")

# Order matters: an ID or card number contains phone-shaped runs, so the longer kinds go first.
_RULES: Final[tuple[tuple[re.Pattern[str], str], ...]] = (
    (_EMAIL, "[邮箱]"),
    (_ID_CARD, "[身份证号]"),
    (_BANK_CARD, "[银行卡号]"),
    (_MOBILE, "[手机号]"),
    (_LANDLINE, "[电话]"),
    (_LOCAL_PHONE, r"\1[电话]"),
)

PLACEHOLDERS: Final[tuple[str, ...]] = (
    "[手机号]",
    "[电话]",
    "[身份证号]",
    "[邮箱]",
    "[银行卡号]",
)


def scrub_text(text: str) -> str:
    """``text`` with phone, ID-card, e-mail and bank-card numbers replaced by placeholders."""
    if not _MAYBE_PERSONAL.search(text):
        return text
    for pattern, placeholder in _RULES:
        text = pattern.sub(placeholder, text)
    return text


def pseudonymize(value: str, secret: bytes) -> str:
    """Keyed pseudonym (HMAC-SHA256, hex) of an identifier such as an evaluator id.

    Keyed so that a leaked table cannot be reversed by hashing every phone or ID number;
    refusing an empty key is the caller's job (settings), not a per-message concern.
    """
    # surrogatepass: a str from an arbitrary source may hold lone surrogates; never raise here.
    data = value.encode("utf-8", "surrogatepass")
    return hmac.new(secret, data, hashlib.sha256).hexdigest()


RAW_COPY_MAX: Final = 8000


def scrub_raw(raw: bytes, secret: bytes) -> str:
    """A readable copy of a rejected message with no personal data, for the rejected table.

    The original bytes stay only on the ``ratings.rejected`` topic (for replay under its
    retention); ClickHouse gets this copy: evaluator_id replaced by its pseudonym when the
    bytes are a JSON object, then every string scrubbed like a comment.
    """
    text = raw.decode("utf-8", "replace")
    try:
        document = json.loads(text)
    except ValueError:
        return scrub_text(text)[:RAW_COPY_MAX]
    if isinstance(document, dict) and isinstance(document.get("evaluator_id"), str):
        document["evaluator_id"] = "hash:" + pseudonymize(document["evaluator_id"], secret)
    elif isinstance(document, dict) and "evaluator_id" in document:
        document["evaluator_id"] = "[removed]"
    return scrub_text(json.dumps(document, ensure_ascii=False))[:RAW_COPY_MAX]
