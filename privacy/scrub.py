"""Removing personal data from free text, and keyed pseudonyms of identifiers.

Pure functions, no Faust: the ingest agent calls them for every evaluation (~15k/s).

How a text is scrubbed:

1. A gate: text with no digit, digit-like character, at-sign, "at" or WeChat keyword cannot
   hold anything we mask, and most comments are like that, so they cost one regex search.
2. Folding: every character is mapped on its own (NFKC; Chinese numerals, circled, Arabic-Indic,
   mathematical and full-width digits to ASCII; zero-width characters, combining and
   enclosing marks and variation selectors to U+200B), keeping the
   index of the original character behind each folded one. Citizens write 138 1234 5678,
   一三八一二三四五六七八 or １３８－１２３４－５６７８; the patterns only ever see 0-9, and what
   gets replaced is the span the citizen actually wrote.
3. Matching on the folded text: e-mail addresses, then runs of digits with up to
   ``_GAP_MAX`` separators between digits (letters typed for digits, l38 OOl3 8OOO, read as
   digits inside such a run), then WeChat ids after a keyword. A run is cut into groups (at
   separators, and where the way digits are written changes: 张三一三八… is a name and a
   number); windows of consecutive groups are classified by length, prefix, birth date,
   checksum (ISO 7064 MOD 11-2 for ID numbers, Luhn for cards) and the keyword before the run.
   The checksums are what tell an ID or card number from any other long number; dates,
   amounts, times and counts are too short or have the wrong shape to be taken for anything.
4. What was found is replaced in the original text, and the result looked at once or twice
   more, since a placeholder can uncover what its neighbour hid.

Linear time: no two adjacent quantifiers of a pattern can match the same characters unless
they are bounded or possessive, and the loops visit each character a bounded number of times
(windows span at most 20 digits, keywords are looked for in the 16 characters before a run).
tests/unit/privacy/test_scrub_properties.py checks it.
"""

from __future__ import annotations

import bisect
import contextlib
import functools
import hashlib
import hmac
import ipaddress
import json
import re
import unicodedata
from dataclasses import dataclass
from typing import Any, Final

from schemas.addresses import ipv4_octets

_MOBILE: Final = "[手机号]"
_PHONE: Final = "[电话]"
_ID: Final = "[身份证号]"
_EMAIL: Final = "[邮箱]"
_CARD: Final = "[银行卡号]"
_QQ: Final = "[QQ号]"
_WECHAT: Final = "[微信号]"

PLACEHOLDERS: Final[tuple[str, ...]] = (_MOBILE, _PHONE, _ID, _EMAIL, _CARD, _QQ, _WECHAT)

# --- folding --------------------------------------------------------------------------------

_NUMERALS: Final[dict[str, str]] = {
    **dict(zip("〇零一二三四五六七八九", "00123456789", strict=True)),
    # 幺 is how 1 is read out in phone numbers, 两 how 2 is said before a measure word
    "幺": "1",
    "两": "2",
    # financial numerals (大写数字), simplified and traditional, and Suzhou numerals (〡〢〣)
    **dict(zip("壹贰叁肆伍陆柒捌玖", "123456789", strict=True)),
    **dict(zip("貳參陸", "236", strict=True)),
    **{chr(0x3021 + i): str(i + 1) for i in range(9)},
    # circled and parenthesised ideographs (㊀, ㈠) are numerals too once NFKC has opened them
    **{chr(0x3280 + i): str(i + 1) for i in range(9)},
    **{chr(0x3220 + i): str(i + 1) for i in range(9)},
}
_ZERO_WIDTH: Final = frozenset("\u200b\u200c\u200d\u2060\ufeff\u00ad")
# Combining and enclosing marks carry no digit: a mark or variation selector after each digit
# (1̲3̲8̲, 1️3️8️) and keycaps (1️⃣ is 1, U+FE0F, U+20E3) fold to the zero-width character, which
# is a separator between digits (issue 29).
_MARKS: Final = frozenset(("Mn", "Me"))
# Zero-width characters fold to one of them rather than to nothing, which keeps folding one
# character to one character for almost every text (no offset table to build).
_ZW: Final = "\u200b"
_FOLD_CACHE_MAX: Final = 65_536


def _fold_char(ch: str) -> str:
    if ch in _NUMERALS:
        return _NUMERALS[ch]
    if ch in _ZERO_WIDTH or unicodedata.category(ch) in _MARKS:
        return _ZW
    digit = unicodedata.digit(ch, None)
    if digit is not None:
        # before NFKC: ⑴ and ⒈ are digits, not "(1)" and "1."; ٣ and ❶ have no NFKC form
        return str(digit)
    folded = unicodedata.normalize("NFKC", ch)
    out = "".join(
        _NUMERALS.get(c) or (_ZW if c in _ZERO_WIDTH else None) or _digit_or_self(c) for c in folded
    )
    return out or _ZW


def _digit_or_self(ch: str) -> str:
    digit = unicodedata.digit(ch, None)
    return ch if digit is None else str(digit)


class _FoldTable(dict[int, str]):
    """``str.translate`` table computing entries on first use; bounded, since every code point
    could otherwise end up in it."""

    def __missing__(self, code: int) -> str:
        folded = _fold_char(chr(code))
        if len(self) < _FOLD_CACHE_MAX:
            self[code] = folded
        return folded


_FOLD: Final = _FoldTable({code: chr(code) for code in range(128)})
_NUMERAL: Final = re.compile("[" + "".join(_NUMERALS) + "]")


@dataclass(frozen=True, slots=True)
class _Folded:
    original: str
    text: str
    # origin[i]: index in ``original`` of the character that folded character i came from;
    # None when folding kept one character for one (nearly always).
    origin: list[int] | None

    def start(self, i: int) -> int:
        return i if self.origin is None else self.origin[i]

    def end(self, j: int) -> int:
        return j if self.origin is None else self.origin[j - 1] + 1


def _fold(text: str) -> _Folded:
    folded = text.translate(_FOLD)
    if len(folded) == len(text):  # no character folded to more than one
        return _Folded(text, _read_lookalikes(folded), None)
    pieces: list[str] = []
    origin: list[int] = []
    for i, ch in enumerate(text):
        piece = _FOLD[ord(ch)]
        pieces.append(piece)
        origin.extend([i] * len(piece))
    return _Folded(text, _read_lookalikes("".join(pieces)), origin)


# Letters typed for digits to slip past a filter (issue 29): l and I for 1, O and o for 0, S for
# 5, B for 8 (l3B OOl3 BOOO). Read as digits only inside a run of such letters and digits that
# is long enough to be a number, holds a digit or follows a keyword (座机SSBBOSS), and that no
# other word is glued to (a keyword such as QQ or tel may be), so that words and codes keep
# their letters. What the letters become is only masked if it has a number's shape.
_LOOKALIKE_LETTERS: Final = "lIOoSB"
_LOOKALIKES: Final = str.maketrans(_LOOKALIKE_LETTERS, "110058")
_LOOKALIKE_HINT: Final = re.compile(f"[{_LOOKALIKE_LETTERS}]")
_GLUED_KEYWORDS: Final = frozenset(("qq", "q", "tel", "id", "wx", "vx", "v", "phone", "no"))


def _read_lookalikes(text: str) -> str:
    """``text`` (folded, so digits are 0-9) with the letters of each run that stand for digits
    made digits; one character for one."""
    if not _LOOKALIKE_HINT.search(text):
        return text
    pieces: list[str] = []
    last = 0
    for m in _LOOKALIKE_RUN.finditer(text):
        start, end = _run_proper(text, m.start(), m.end()), m.end()
        run = text[start:end]
        letters = sum(c in _LOOKALIKE_LETTERS for c in run)
        digits = sum("0" <= c <= "9" for c in run)
        if not letters or letters + digits < _SHORTEST:
            continue
        if not digits and _before_run(text, start)[0] in (None, "txn"):
            continue  # letters alone (座机SSBBOSS) only after a phone, ID or QQ keyword
        if _word_after(text, end):
            continue
        pieces += (text[last:start], run.translate(_LOOKALIKES))
        last = end
    return "".join(pieces) + text[last:] if pieces else text


def _word_after(text: str, end: int) -> bool:
    """Whether a word is glued after a run ending at ``end`` (the X of an ID number is not)."""
    if end >= len(text) or not _is_letter(text[end]):
        return False
    return text[end] not in "Xx" or (end + 1 < len(text) and _is_letter(text[end + 1]))


def _run_proper(text: str, start: int, end: int) -> int:
    """Where a run found at ``start`` begins once the letters that end a word glued before
    it are left to that word ("Tel l3B…": the l of Tel; "QQl2345": QQ is a keyword)."""
    if start == 0 or not _is_letter(text[start - 1]):
        return start
    word_start = start
    while word_start > 0 and start - word_start < 8 and _is_letter(text[word_start - 1]):
        word_start -= 1
    if text[word_start:start].lower() in _GLUED_KEYWORDS:
        return start
    while start < end and text[start] in _LOOKALIKE_LETTERS:
        start += 1
    while start < end and not text[start].isalnum():
        start += 1
    return start if start == end or not _is_letter(text[start - 1]) else end


# --- the gate -------------------------------------------------------------------------------

# Separators in a row that may stand between two digits of one number: five were beaten by
# six (issue 29); sixteen commas or dots between two digits are no longer a way of writing.
_GAP_MAX: Final = 16

# Characters that are not decimal digits (\d) but fold to one: superscripts, fractions, circled,
# parenthesised, dingbat and enclosed digits, Ethiopic and other scripts' digits, squared units
# with numbers, and look-alikes of Chinese numerals (Kangxi radicals, compatibility ideographs).
# test_scrub_properties checks this list against every code point.
_DIGIT_LIKE: Final = (
    "\u00b2\u00b3\u00b9\u00bc-\u00be\u1369-\u1371\u19da\u2070\u2074-\u2079\u2080-\u2089"
    "\u2150-\u215f\u2189\u2460-\u24ff\u2776-\u2793\u3251-\u325f\u32b1-\u32cb\u3358-\u3370"
    "\u3378\u3379\u339f-\u33a6\u33a8\u33af\u33e0-\u33fe"
    "\U00010a40-\U00010a43\U00010e60-\U00010e68\U00011052-\U0001105a\U0001f100-\U0001f10a"
    "\u2f00\u2f06\u2f0b\u2f33\u3192-\u3195\uf96b\uf9b2\uf9d1\uf9d3"
    "\U0001f214\U0001f229\U0001f22a\U0001f241\U0001f242"
)
_NUMERAL_CLASS: Final = "".join(_NUMERALS)
# separators as typed, before folding (the gate runs on the original text)
_RAW_SEPARATORS: Final = (
    r"\s\u200b-\u200d\u2060\ufeff\u00ad.．/／\\＼_＿\-－﹣\u2010-\u2015\u2212·・()（）"
    r",，、。:：|｜*＊+＋#＃~～〜ー"
)
# Separate searches, each a plain scan of the text, rather than one alternation tried at every
# position: three times faster on the comments that have nothing to mask. A superset of what
# the matchers below can find ("at", "we", "wx" anywhere), never a subset.
_GATE_CHARS: Final = re.compile(rf"[\d@＠﹫#＃%％{_DIGIT_LIKE}aAａＡ艾信薇wvWVｗｖＷＶ]")


def _five_in_a_row(chars: str) -> re.Pattern[str]:
    """Five of ``chars``, separators as typed between them: the shortest number."""
    return re.compile(rf"[{chars}](?:[{_RAW_SEPARATORS}]{{0,{_GAP_MAX}}}+[{chars}]){{4}}")


# Chinese numerals are everyday words (一次, 两个); only five in a row can be a number
_GATE_NUMERALS: Final = _five_in_a_row(_NUMERAL_CLASS)
# a number written in letters alone (座机SSBBOSS)
_GATE_LETTERS: Final = _five_in_a_row(_LOOKALIKE_LETTERS)


def _may_hold_personal_data(text: str) -> bool:
    return (
        _GATE_CHARS.search(text) is not None
        or _GATE_NUMERALS.search(text) is not None
        or _GATE_LETTERS.search(text) is not None
    )


# --- e-mail ---------------------------------------------------------------------------------

# Every pattern here starts with a literal, so that the regex engine skips ahead to candidate
# positions instead of trying the pattern at each one; what precedes a match (spaces before
# the at-sign, a letter before "wx") is checked in Python. Bounded or possessive quantifiers:
# a long run of spaces or letters without an address in it costs each start a constant.
_AT: Final = "[aA][tT]"
# and, written to slip past a filter (issue 29): @@, {at}, (a), %40, and # before a domain
_AT_MARK: Final = (
    rf"(?P<at>(?:@@?|\[{_AT}\]|\({_AT}\)|\{{{_AT}\}}|【{_AT}】|<{_AT}>|\([aA]\)|%40|艾特"
    rf"|{_AT}(?=\s)|#(?=[^\W_]))\s{{0,3}}+)"
)
_ASCII_LABEL: Final = r"[A-Za-z0-9][A-Za-z0-9\-\u200b]{0,62}+"
# IDN labels (例子.中国); 点 is excluded so that a label can never swallow a spelled-out dot
_UNICODE_LABEL: Final = r"[^\W\d_A-Za-z点]{1,63}+"
_LABEL: Final = rf"(?:{_ASCII_LABEL}|{_UNICODE_LABEL})"
_DOT_WORD: Final = "[dD][oO][tT]"
_DOT: Final = (
    rf"(?:\.|。|点|\[{_DOT_WORD}\]|\({_DOT_WORD}\)|\{{{_DOT_WORD}\}}|【{_DOT_WORD}】|<{_DOT_WORD}>"
    rf"|\s{{1,2}}+{_DOT_WORD}\s{{1,2}}+"
    # a dot or 点 with spaces around it (x @ qq . com, x 艾特 qq 点 com; issue 29)
    rf"|\s{{1,2}}+(?:\.|。|点)\s{{0,2}}+|(?:\.|。|点)\s{{1,2}}+)"
)
# no re.IGNORECASE: it would keep the engine from skipping ahead to the literals
_EMAIL_AT: Final = re.compile(rf"{_AT_MARK}(?P<domain>{_LABEL}(?:{_DOT}{_LABEL}){{0,8}}+)")
_DOMAIN_PART: Final = re.compile(rf"(?P<dot>{_DOT})|(?P<label>{_LABEL})")
_STRONG_DOTS: Final = frozenset((".", "[dot]", "(dot)", "{dot}", "【dot】", "<dot>"))
# mail providers whose name alone says where the mailbox is: x@qq, x@163 com (issue 29)
_MAIL_PROVIDERS: Final = frozenset(
    ("qq", "163", "126", "139", "189", "yeah", "sina", "sohu", "aliyun", "foxmail", "gmail",
     "hotmail", "outlook", "yahoo", "icloud")
)  # fmt: skip
_ASCII_TLD: Final = re.compile(r"(?:[A-Za-z]\u200b?){2,24}+(?![A-Za-z])")
# With a spelled-out at or dot ("zhang at qq dot com", "艾特", "点") the top-level domain must
# be a known one: "at" and "点" are ordinary words.
_KNOWN_TLDS: Final = frozenset(
    (
        "com", "cn", "net", "org", "edu", "gov", "info", "biz", "io", "cc", "top", "xyz",
        "me", "co", "hk", "tw", "mo", "us", "uk", "jp", "de", "fr", "ru", "site", "vip",
        "club", "shop", "online", "tech", "mil", "int", "asia", "name", "mobi", "ltd",
        "store", "wang", "ink",
    )
)  # fmt: skip
_UNICODE_TLDS: Final = (
    "中国", "中國", "公司", "网络", "網絡", "在线", "集团", "政务", "公益", "香港", "台湾",
    "台灣", "澳门", "新加坡", "网址", "商城", "网店",
)  # fmt: skip
_ASCII_LOCAL: Final = frozenset(
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._%+-\u200b"
)
_LOCAL_MAX: Final = 64
# A Chinese local part (张三@例子.中国) has no visible start: it is cut after the last of these
# words, or taken whole up to this many characters.
_UNICODE_LOCAL_MAX: Final = 24
_LOCAL_LEADS: Final = ("邮箱", "邮件", "地址", "邮址", "mail", "是", "到", "给", "我", "的", "联系")


def _local_start(text: str, end: int) -> int:
    """Start of the local part ending at ``end``, or -1 when there is none."""
    i = end
    if i > 0 and text[i - 1] in _ASCII_LOCAL:
        floor = max(0, end - _LOCAL_MAX)
        while i > floor and text[i - 1] in _ASCII_LOCAL:
            i -= 1
    elif i > 0 and text[i - 1].isalpha():
        # ASCII may be mixed in: 张三丰 folds to 张3丰
        floor = max(0, end - _UNICODE_LOCAL_MAX)
        while i > floor and (text[i - 1].isalpha() or text[i - 1] in _ASCII_LOCAL):
            i -= 1
        run = text[i:end].lower()
        i += max((run.rfind(w) + len(w) for w in _LOCAL_LEADS if w in run), default=0)
    if any(ch.isalnum() for ch in text[i:end]):
        return i
    return -1


def _domain_end(domain: str, weak: bool) -> int:
    """Length of the longest prefix of ``domain`` ending in a top-level domain, 0 if none."""
    parts = [(m.lastgroup, m.start(), m.end()) for m in _DOMAIN_PART.finditer(domain)]
    for k in range(len(parts) - 1, 1, -1):
        kind, start, end = parts[k]
        if kind != "label" or parts[k - 1][0] != "dot":
            continue
        dots = {domain[s:e].strip().lower() for kind_, s, e in parts[:k] if kind_ == "dot"}
        weak_here = weak or not dots <= _STRONG_DOTS
        label = domain[start:end]
        if label.replace(_ZW, "").isascii():
            # The letters a label starts with: zs@qq.com13812345678 is an address and a number.
            # A spelled-out address ends at a known domain: zs艾特qq点comQQ12345 ends at com.
            if weak_here:
                known = [t for t in _KNOWN_TLDS if label.lower().startswith(t)]
                if known:
                    return start + max(map(len, known))
                continue
            tld = _ASCII_TLD.match(label)
            if tld:
                return start + len(tld.group().rstrip(_ZW))
            continue
        for name in _UNICODE_TLDS:
            if label.startswith(name):
                return start + len(name)
    return 0


def _provider_end(m: re.Match[str]) -> int:
    """Length of a bare provider name the domain starts with (x@qq), 0 if it does not."""
    label = _DOMAIN_PART.match(m.group("domain"))
    if label is None or label.lastgroup != "label":
        return 0
    return label.end() if label.group().lower() in _MAIL_PROVIDERS else 0


def _email_spans(text: str, taken: bytearray, spans: list[tuple[int, int, str | None]]) -> None:
    for m in _EMAIL_AT.finditer(text):
        at = m.group("at").strip().lower()
        weak = at in ("at", "艾特", "#", "(a)")
        before = m.start()
        floor = max(0, before - 3)
        while before > floor and text[before - 1].isspace():
            before -= 1
        if at == "at" and before == m.start():
            continue  # "at" inside a word (cat, data)
        end = _domain_end(m.group("domain"), weak) or (0 if weak else _provider_end(m))
        if not end:
            continue
        start = _local_start(text, before)
        # a local part cannot reach back into the address before it (a@b.com两c@d.com)
        while 0 <= start < before and taken[start]:
            start += 1
        if start < 0 or not any(ch.isalnum() for ch in text[start:before]):
            continue
        if at == "at" and not text[start:before].replace(_ZW, "").isascii():
            continue
        end += m.start("domain")
        if any(taken[start:end]):
            continue
        _take(taken, start, end)
        spans.append((start, end, _EMAIL))


# --- WeChat ids and our own pseudonyms -----------------------------------------------------

_WECHAT_ID: Final = re.compile(
    r"(?:微\s?信|威信|薇信|[vV]信|[wW][eE](?:[cC][hH][aA][tT]|[iI][xX][iI][nN])|[wWvV][xX]"
    # 加我V, 薇：, v❤: (issue 29): a bare V or 薇 only where nothing else can be meant
    # (not a name: 张薇：… is someone called 张薇)
    r"|加[我个]?[vV](?![A-Za-z])|(?:(?<![\u4e00-\u9fff])|(?<=[我加]))薇(?=[:：])|[vV][❤♥]\ufe0f?)"
    # not possessive: in 微信iDaaaa the id is iDaaaa (trying both costs a constant)
    r"(?:\s?(?:号码|号|账号|帐号|[iI][dD]))?"
    r"[\s:：=是为\u200b]{0,4}+(?P<id>[A-Za-z][A-Za-z0-9_\-]{5,19}+)(?![A-Za-z0-9_\-])"
)
# A plain scan for one character each is much cheaper than the patterns' search, and most
# texts that get this far hold a digit but no address or WeChat id.
_EMAIL_HINT: Final = re.compile("[@艾aA#%]")
_WECHAT_HINT: Final = re.compile("[信薇wWvV]")
# Kept as they are, so that their digits cannot join a window: the pseudonyms scrub_raw writes
# (64 hex digits are no one's personal data); 事项实施编码 (310000-070001002000-1, see
# schemas/catalogue.py), whose 6+12 digits would otherwise pass a checksum for an ID or card
# number about one time in five; dates written with separators (2023-05-14 - 2024-06-15 has the
# 16 digits of a card) and IPv4 addresses (154.112.154.68 has the 11 of a mobile number), both
# only where no digits come just before (110101-1990-03-07-1233 is an ID number).
_KEEP: Final = re.compile(
    r"hash:[0-9a-f]{64}(?![0-9a-f])"
    r"|[0-9]{6}-[0-9]{12}-[0-9]{1,3}(?![0-9])"
    r"|(?<![0-9][-/.\s])(?:19|20)[0-9]{2}(?P<sep>[-/.])(?:0?[1-9]|1[0-2])(?P=sep)"
    r"(?:[12][0-9]|3[01]|0?[1-9])(?![0-9])"
    r"|(?<![0-9][-/.\s])(?:[0-9]{1,3}\.){3}[0-9]{1,3}(?![0-9]|\.[0-9])"
    # amounts: ￥77,139.07 1632.00元 has the 11 digits of a mobile number. Only with a
    # currency sign or decimals: 手机13812345678元 is a typo, 4395元 may end a phone number.
    r"|[¥$][0-9][0-9,]{0,15}+(?:\.[0-9]{1,4})?"
    r"|(?<![0-9.])[0-9]{1,12}+\.[0-9]{1,2}+(?=\s?(?:元|万|块|角|亿|千|百|%|美元|rmb|RMB))"
)

# --- digits ---------------------------------------------------------------------------------

# What may stand between groups of digits, after folding: spaces, dots, dashes and the like,
# and the punctuation people type to hide a number from a filter (138，0013，8000,
# 138|0013|8000, 110105〜19491231〜002X; issue 29).
_SEPARATORS: Final = r"\s.\/\\\-\u2010-\u2015\u2212_·・()\u200b,、。:|*+#~〜ー"
# A run of digits with at most _GAP_MAX separators between two digits (138 -- 1234 -- 5678,
# 138，，，，，，，0013), and the X an ID number may end with. Possessive: a digit run never
# backtracks. (X followed by a digit still ends the run: in …123X一直 the 一 folds to a digit.)
_RUN: Final = re.compile(rf"[0-9](?:[{_SEPARATORS}]{{0,{_GAP_MAX}}}+[0-9])*+(?:[Xx](?![A-Za-z]))?")
_GROUP: Final = re.compile(r"[0-9]++(?:[Xx](?![A-Za-z]))?")
_LOOKALIKE_RUN: Final = re.compile(
    rf"[0-9{_LOOKALIKE_LETTERS}](?:[{_SEPARATORS}]{{0,{_GAP_MAX}}}+[0-9{_LOOKALIKE_LETTERS}])*+"
)
_EXTENSION: Final = re.compile(r"\s{0,2}+(?:转|分机|ext\.?|x|-)\s{0,2}+[0-9]{1,5}+(?![0-9])", re.I)
_WINDOW_MAX: Final = 20  # digits: 0086 + a mobile is 15, a card 19, a WeChat number 20
_SHORTEST: Final = 5  # digits: a QQ number
_LOOKBACK: Final = 16
_FILLER: Final = r"[\s:：=#＃是为我的\u200b\-(（\[【]*+"
# The keyword just before a run, read on the lower-cased 16 characters before it. Where
# alternatives overlap, the leftmost wins: 证件号 is an ID, not the 件号 of a file.
_CONTEXT: Final = re.compile(
    "(?:"
    r"(?P<id>身份证(?:编号|号码|号)?|证件(?:编号|号码|号)?|身份号码?|(?<![a-z])id)"
    # Q号, Q：, qq群, 加我扣： (issue 29): a QQ number is 5+ digits, so a lone q or 扣 before
    # a short count (Q3, 扣5分) never makes one
    r"|(?P<qq>(?<![a-z])q(?:\s?q)?群?|扣扣|抠抠|扣|企鹅)"
    r"|(?P<wechat>微信|威信|薇信|(?<![a-z])(?:v信|wechat|weixin|wx|vx))"
    r"|(?P<phone>电话|手机|座机|固话|联系(?:方式)?|致电|来电|拨打|打|传真|号码"
    r"|(?<![a-z])(?:tel|phone|mobile|cell|fax|call))"
    r"|(?P<card>银行卡|卡|账户|帐户|账|帐|(?<![a-z])card)"
    r"|(?P<txn>编号|编码|单号|件号|案号|序号|申请号|业务号|排队号|流水号?|受理号?|回执号?"
    r"|工单号?|订单号?)"
    ")"
    rf"(?:{_FILLER}(?:号码|号|码|id|no\.?))?{_FILLER}$"
)
# a digit doubled, and its two digits added up (Luhn)
_LUHN_DOUBLED: Final = str.maketrans("0123456789", "0246813579")
# the lengths a number can be masked at without a keyword before it
_BARE_LENGTHS: Final = frozenset((10, 11, 12, 13, 15, 16, 17, 18, 19))
# how a mobile number starts, alone (13..19) or after 86
_BARE_PREFIXES: Final = frozenset(("13", "14", "15", "16", "17", "18", "19", "86"))
_CODE_GLUE: Final = frozenset("-_/\\.")
_KEYWORDS_AFTER: Final = ("qq", "wx", "vx", "tel", "wechat", "weixin", "id")


@dataclass(frozen=True, slots=True)
class _Group:
    start: int
    end: int
    digits: str


def _id18_checksum_ok(d: str) -> bool:
    # The weights are 2**(18 - k) mod 11 and 13 = 2 (mod 11), so the weighted sum is twice the
    # first 17 digits read in base 13: one int() in C instead of a loop.
    return "10X98765432"[2 * int(d[:17], 13) % 11] == d[17].upper()


def _plausible_date(year: int, month: int, day: int) -> bool:
    return 1 <= month <= 12 and 1 <= day <= 31 and 1800 <= year <= 2099


def _is_id18(d: str, listed: bool = False) -> bool:
    """listed: after 办件编号, 订单号 and the like, where an 18-digit number is what the
    keyword says (310101202611280001: a district, a date, a sequence number) unless it ends
    in X with the right checksum."""
    if not d[:17].isdigit():
        return False
    if listed:
        return d[17] in "Xx" and _id18_checksum_ok(d)
    if _id18_checksum_ok(d):
        return True
    # A mistyped check digit still identifies the person: the shape (an area, a date of
    # birth) will do.
    return d[0] != "0" and _plausible_date(int(d[6:10]), int(d[10:12]), int(d[12:14]))


def _is_id15(d: str) -> bool:
    return d[0] != "0" and _plausible_date(1900 + int(d[6:8]), int(d[8:10]), int(d[10:12]))


def _luhn_ok(d: str) -> bool:
    # every other digit from the right doubled (and its digits added: _LUHN_DOUBLED), then the
    # digit sum, counted on the ASCII bytes
    digits = (d[-1::-2] + d[-2::-2].translate(_LUHN_DOUBLED)).encode()
    return (sum(digits) - 48 * len(digits)) % 10 == 0


def _is_card(d: str, context: str | None) -> bool:
    # 62 is UnionPay's prefix: a mistyped check digit should not give a card number away.
    # Written in fours is no sign: 2023 2024 2025 2026 is written so too. After 订单号 and the
    # like, one number in ten passes Luhn by chance: there it takes the prefix.
    if context == "card" or d.startswith("62"):
        return True
    return context != "txn" and _luhn_ok(d)


def _is_mobile(d: str) -> bool:
    n = len(d)
    if n == 13 and d.startswith("86"):
        d = d[2:]
    elif n == 15 and d.startswith("0086"):
        d = d[4:]
    return len(d) == 11 and d[0] == "1" and d[1] in "3456789"


def _is_landline(d: str) -> bool:
    """0, an area code (10, 2x, or three digits: [3-9][1-9]x), 7-8 digits not starting 0.

    No area code has 0 as its second digit (0310 yes, 0700 no): that keeps the 12-digit
    block of a 事项实施编码 (310000-070001002000-1) from passing for one.
    """
    if len(d) < 10 or d[0] != "0":
        return False
    if d[1] == "2" or d[1:3] == "10":
        local = d[3:]
    elif d[1] in "3456789" and d[2] != "0":
        local = d[4:]
    else:
        return False
    return len(local) in (7, 8) and local[0] != "0"


def _classify(d: str, context: str | None) -> str | None:
    """The placeholder for the digits of a window, or None."""
    n = len(d)
    listed = context == "txn"
    if d[-1] in "Xx":
        if n == 18 and _is_id18(d, listed):
            return _ID
        # not an ID's check character: a letter after the number (…4173X), which goes with it
        d = d[:-1]
        n -= 1
    if n == 18 and _is_id18(d, listed):
        return _ID
    if 16 <= n <= 19 and _is_card(d, context):
        return _CARD
    if n == 15 and not listed and _is_id15(d):
        return _ID
    if _is_mobile(d):
        return _MOBILE
    if _is_landline(d):
        return _PHONE
    if context == "phone" and 7 <= n <= 12 and d[0] not in "01":
        # a local number (they start 2-8; 0 and 1 are area codes, mobiles and 110, 12345)
        return _PHONE
    if context == "qq" and 5 <= n <= 11:
        return _QQ
    if context == "wechat" and 5 <= n <= 20:
        return _WECHAT
    if context == "id" and n in (15, 18):
        return _ID
    return None


def _glued_after(text: str, end: int) -> bool:
    """Whether letters follow the run directly (12310000425005437H, a 统一社会信用代码)."""
    if end >= len(text) or not _is_letter(text[end]):
        return False
    return not text[end : end + 6].lower().startswith(_KEYWORDS_AFTER)


def _before_run(text: str, start: int) -> tuple[str | None, bool]:
    """The keyword just before a run, and whether letters are glued to its start."""
    match = _CONTEXT.search(text[max(0, start - _LOOKBACK) : start].lower())
    q = start
    while q > 0 and start - q < 2 and text[q - 1] in _CODE_GLUE:
        q -= 1
    return (match.lastgroup if match else None), q > 0 and _is_letter(text[q - 1])


def _groups(folded: _Folded, scan: str, start: int, end: int) -> list[_Group]:
    """The run's digits cut at separators and where the way digits are written changes.

    Chinese numerals are each a group of their own: names are written with them (张三,
    李四), so in 张三一三八… a number starts one numeral in, with nothing to show it. Other
    scripts end a group where they meet: in 我是张三۱۳۸۱۲۳۴۵۶۷۸3 the Arabic-Indic digits are the
    number, the 3 is not. Windows may span groups, so a cut too many costs nothing.
    """
    groups: list[_Group] = []
    original = folded.original
    for m in _GROUP.finditer(scan, start, end):
        g_start, g_end = m.span()
        if not original[folded.start(g_start) : folded.end(g_end)].isascii():
            previous = _script(original[folded.start(g_start)])
            for p in range(g_start + 1, g_end):
                if scan[p] in "Xx":
                    continue
                script = _script(original[folded.start(p)])
                if script is None or script != previous:
                    groups.append(_Group(g_start, p, scan[g_start:p]))
                    g_start = p
                previous = script
        groups.append(_Group(g_start, g_end, scan[g_start:g_end]))
    return groups


def _script(ch: str) -> int | None:
    """Which way a digit is written, near enough (its block of 16 code points); None for a
    Chinese numeral, which is never in one group with anything."""
    return None if ch in _NUMERALS else ord(ch) >> 4


def _digit_spans(folded: _Folded, scan: str, spans: list[tuple[int, int, str | None]]) -> None:
    # Neighbours are read on ``scan``, where what was found before is blanked out:
    # the letters of zs@qq.com do not make the 13812345678 right after it a code.
    for run in _RUN.finditer(scan):
        if run.end() - run.start() < _SHORTEST:
            continue  # too few digits to be anything, whatever the keyword
        groups = _groups(folded, scan, run.start(), run.end())
        context, glued = _before_run(scan, run.start())
        k = len(groups)
        # Letters glued to ASCII digits make a code (SH2026112800012345, A023, the
        # 统一社会信用代码 12310000425005437H), unless the letters are a keyword (tel, QQ, ID)
        # or one precedes: the group they touch may not start or end a window.
        original = folded.original
        first_ok = not (
            glued
            and context is None
            and original[folded.start(groups[0].start) : folded.end(groups[0].end)].isascii()
        )
        closing = k
        if context is None and _glued_after(scan, run.end()):
            tail = groups[-1]
            if original[folded.start(tail.start) : folded.end(tail.end)].isascii():
                closing = k - 1
        windows = _Windows.of(groups, closing)
        offsets = windows.offsets
        i = 0
        while i < k:
            found = None
            if (i or first_ok) and offsets[-1] - offsets[i] >= _SHORTEST:
                found = _window_at(windows, i, context if i == 0 else None)
            if found is None:
                i += 1
                continue
            last, label = found
            end = groups[last].end
            if label == _PHONE:
                extension = _EXTENSION.match(scan, end)
                if extension:
                    end = extension.end()
            spans.append((groups[i].start, end, label))
            i = last + 1
            while i < k and groups[i].start < end:
                i += 1


@dataclass(frozen=True, slots=True)
class _Windows:
    """A run's digits and where its groups start in them, for windows of groups."""

    digits: str
    offsets: list[int]  # offsets[m]: where group m starts; offsets[-1]: how many digits
    dated: list[int]  # dated[m]: how many of the groups before m are dates (20240322)
    closing: int  # groups a window may end with: all, or all but a last one glued to letters

    @classmethod
    def of(cls, groups: list[_Group], closing: int) -> _Windows:
        offsets, dated = [0], [0]
        for g in groups:
            offsets.append(offsets[-1] + len(g.digits))
            dated.append(dated[-1] + _is_compact_date(g.digits))
        return cls("".join(g.digits for g in groups), offsets, dated, closing)

    def date_at(self, position: int) -> bool:
        m = bisect.bisect_left(self.offsets, position)
        return self.offsets[m] == position and self.dated[m + 1] > self.dated[m]


def _is_compact_date(g: str) -> bool:
    return len(g) == 8 and g[:2] in ("19", "20") and _plausible_date(2000, int(g[4:6]), int(g[6:]))


def _window_at(w: _Windows, i: int, context: str | None) -> tuple[int, str] | None:
    """The longest window of groups from group ``i`` that is personal data: (its last group,
    its placeholder). Longest first, so that +86 and the number after it are one."""
    digits, offsets = w.digits, w.offsets
    start = offsets[i]
    # Without a keyword nothing under 10 digits is masked: dates, amounts, counts.
    shortest = _SHORTEST if context else 10
    lead = digits[start : start + 2]
    j = min(bisect.bisect_right(offsets, start + _WINDOW_MAX) - 2, w.closing - 1)
    while j >= i:
        n = offsets[j + 1] - start
        if n < shortest:
            return None
        # cheap refusals first: this runs for every group of every run of digits
        if context or (n in _BARE_LENGTHS and (n > 13 or lead[0] == "0" or lead in _BARE_PREFIXES)):
            label = _classify(digits[start : start + n], context)
            # A date written as 20240322 joins other numbers only as an ID's date of birth
            # (110101 19900307 1233) or a local number after its area code (029 20731124);
            # otherwise 错误代码151 20240322 is a code and a date.
            dates = w.dated[j + 1] - w.dated[i]
            if label and dates and j > i:
                birth = label == _ID and w.date_at(start + 6)
                local = label == _PHONE and lead[0] == "0" and w.dated[j] == w.dated[i]
                if dates > 1 or not (birth or local):
                    label = None
            if label:
                return j, label
        j -= 1
    return None


# --- putting it together --------------------------------------------------------------------


def _is_letter(ch: str) -> bool:
    return ch.isascii() and ch.isalpha()


def _take(taken: bytearray, start: int, end: int) -> None:
    taken[start:end] = b"\x01" * (end - start)


def _find(text: str) -> list[tuple[int, int, str | None]]:
    """Spans of ``text`` (original indices, sorted, disjoint) and what replaces each; None
    keeps the span as it is."""
    if not _may_hold_personal_data(text):
        return []
    folded = _fold(text)
    ftext = folded.text
    taken = bytearray(len(ftext))
    found: list[tuple[int, int, str | None]] = []
    plain = _without_numerals(folded)
    for m in _KEEP.finditer(plain):
        if m.start() == 0 or not plain[m.start() - 1].isdigit():
            _take(taken, m.start(), m.end())
            found.append((m.start(), m.end(), None))
    if _EMAIL_HINT.search(ftext):
        _email_spans(ftext, taken, found)
    _digit_spans(folded, _blanked(ftext, found), found)
    if _WECHAT_HINT.search(ftext):
        # After the numbers: 微信abcdef1tel13812345678 is an id only once the number is out.
        scan = _blanked(ftext, found)
        ids = False
        for m in _WECHAT_ID.finditer(scan):
            # an ASCII keyword must start a word: not the wx of "xwx"
            glued = m.group()[0].isascii() and m.start() > 0 and _is_letter(scan[m.start() - 1])
            if not glued:
                found.append((*m.span("id"), _WECHAT))
                ids = True
        if ids:
            # and the other way round: wx:dotXat.110101199003071233 is an ID number once the id
            # before it is out (it was glued to its letters)
            _digit_spans(folded, _blanked(ftext, found), found)
    spans: list[tuple[int, int, str | None]] = []
    previous_end = 0
    for fstart, fend, label in sorted(found):
        start, end = folded.start(fstart), folded.end(fend)
        if label in (_MOBILE, _PHONE):
            start = _widen(text, start, end, previous_end)
        spans.append((start, end, label))
        previous_end = end
    return spans


def _without_numerals(folded: _Folded) -> str:
    """The folded text with Chinese numerals blanked out, for the patterns of things that
    are written in digits only: 145.242.92.158两个窗口 is an IP address and 两个."""
    original = folded.original
    if not _NUMERAL.search(original):
        return folded.text
    chars = list(folded.text)
    if folded.origin is None:
        for m in _NUMERAL.finditer(original):
            chars[m.start()] = "\ufffc"
    else:
        for p, o in enumerate(folded.origin):
            if original[o] in _NUMERALS:
                chars[p] = "\ufffc"
    return "".join(chars)


def _blanked(text: str, spans: list[tuple[int, int, str | None]]) -> str:
    """``text`` with the spans found so far overwritten: later matchers can neither match in
    them nor read them as neighbours."""
    if not spans:
        return text
    pieces: list[str] = []
    pos = 0
    for start, end, _ in sorted(spans):
        pieces.append(text[pos:start])
        pieces.append("\ufffc" * (end - start))
        pos = end
    pieces.append(text[pos:])
    return "".join(pieces)


def _widen(text: str, start: int, end: int, floor: int) -> int:
    """Take in the + of +86 and the ( of (021) so that no stray bracket is left behind."""
    closes = ")" in text[start:end] or "）" in text[start:end]
    for _ in range(2):
        if start > floor and (text[start - 1] in "+＋" or (closes and text[start - 1] in "(（")):
            start -= 1
    return start


def _render(text: str, spans: list[tuple[int, int, str | None]], stop: int | None = None) -> str:
    pieces: list[str] = []
    pos = 0
    limit = len(text) if stop is None else stop
    for start, end, label in spans:
        if start >= limit:
            break
        pieces.append(text[pos:start])
        pieces.append(text[start:end] if label is None else label)
        pos = end
    if pos < limit:
        pieces.append(text[pos:limit])
    return "".join(pieces)


_MORE_PASSES: Final = 2


def scrub_text(text: str) -> str:
    """``text`` with phone, ID-card, bank-card, QQ and WeChat numbers and e-mail addresses
    replaced by placeholders (``PLACEHOLDERS``)."""
    if not _may_hold_personal_data(text):  # most comments: one search, no call to _find
        return text
    spans = _find(text)
    if all(label is None for _, _, label in spans):
        return text
    out = _render(text, spans)
    # A placeholder is a new neighbour: in …233X13812345678 the ID number is glued to a
    # letter until the mobile number after it is out. Another look at the result catches
    # what masking uncovered, so that scrubbing scrubbed text changes nothing.
    for _ in range(_MORE_PASSES):
        spans = _find(out)
        if all(label is None for _, _, label in spans):
            break
        out = _render(out, spans)
    return out


def pseudonymize(value: str, secret: bytes) -> str:
    """Keyed pseudonym (HMAC-SHA256, hex) of an identifier such as an evaluator id.

    Keyed so that a leaked table cannot be reversed by hashing every phone or ID number;
    refusing an empty key is the caller's job (settings), not a per-message concern.
    """
    # surrogatepass: a str from an arbitrary source may hold lone surrogates; never raise here.
    data = value.encode("utf-8", "surrogatepass")
    return hmac.new(secret, data, hashlib.sha256).hexdigest()


# A client's address is kept only as its network: a /24 is a hall's or an office's LAN, a /48
# one site's IPv6 allocation, so flooding from one place is visible without naming a device.
IPV4_NETWORK_BITS: Final = 24
IPV6_NETWORK_BITS: Final = 48


def client_network(ip: str) -> str | None:
    """The /24 (IPv4) or /48 (IPv6) network of an address, as text; None if not an address."""
    text = ip.strip()
    octets = ipv4_octets(text)
    if octets is not None:
        a, b, c, _ = octets
        return f"{a}.{b}.{c}.0/{IPV4_NETWORK_BITS}"
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    bits = IPV4_NETWORK_BITS if address.version == 4 else IPV6_NETWORK_BITS
    return str(ipaddress.ip_network(f"{address}/{bits}", strict=False))


def network_pseudonym(ip: str, secret: bytes) -> str | None:
    """Keyed pseudonym of the network of ``ip`` (never of the address itself)."""
    network = client_network(ip)
    return None if network is None else _network_pseudonym(network, secret)


@functools.lru_cache(maxsize=16_384)
def _network_pseudonym(network: str, secret: bytes) -> str:
    # a hall's rating pads and an office's computers share a network: its HMAC is kept (the
    # cache holds networks, the very thing pseudonymized, never an address)
    return pseudonymize("net:" + network, secret)


RAW_COPY_MAX: Final = 8000
# A raw message may be up to Kafka's record limit; only this much of it is scrubbed, of which
# the last _RAW_TAIL characters are dropped, since a number cut at the end of the scanned part
# would no longer be recognised. Scrubbing can shrink text a lot (a spaced-out card number
# becomes six characters), which is why the cut is on the input and not on the output.
_RAW_TAIL: Final = 2048
_RAW_SCAN_MAX: Final = 4 * RAW_COPY_MAX + _RAW_TAIL
_EVALUATOR_ID: Final = re.compile(
    r'(?P<key>"(?P<name>evaluator_id|device_id|client_ip)"\s*+:\s*+)'
    r'(?:"(?P<string>(?:[^"\\]|\\[\s\S])*+)(?P<closed>")?|[^\s,}\]"]++)'
)


# identifiers of a person or their device, pseudonymized in the rejected copy as on ingest
_PSEUDONYMIZED_KEYS: Final = ("evaluator_id", "device_id", "client_ip")


def _pseudonym_or_removed(value: object, secret: bytes, key: str = "evaluator_id") -> str:
    if isinstance(value, str):
        if key == "client_ip":
            network = network_pseudonym(value, secret)
            return "[removed]" if network is None else "hash:" + network
        return "hash:" + pseudonymize(value, secret)
    return "[removed]"


def _replace_evaluator_ids(document: Any, secret: bytes) -> None:
    # iterative: the document may be nested as deep as json allowed
    stack = [document]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            for key in _PSEUDONYMIZED_KEYS:
                if key in node:
                    node[key] = _pseudonym_or_removed(node[key], secret, key)
            stack.extend(v for v in node.values() if isinstance(v, dict | list))
        elif isinstance(node, list):
            stack.extend(v for v in node if isinstance(v, dict | list))


def _mask_evaluator_ids(text: str, secret: bytes) -> str:
    """evaluator_id values in text that is not (or not entirely) JSON."""

    def replace(m: re.Match[str]) -> str:
        key = m.group("key")
        value = m.group("string")
        if value is None or m.group("closed") is None:  # not a string, or cut off
            return key + '"[removed]"'
        with contextlib.suppress(ValueError):  # an invalid escape: hash the text as written
            value = json.loads(f'"{value}"')
        return key + '"' + _pseudonym_or_removed(value, secret, m.group("name")) + '"'

    return _EVALUATOR_ID.sub(replace, text)


# in text that is not JSON: an escaped backslash (kept as it is), a surrogate pair, one escape
_JSON_ESCAPE: Final = re.compile(
    r"\\\\|\\u[dD][89abAB][0-9a-fA-F]{2}\\u[dD][c-fC-F][0-9a-fA-F]{2}|\\u[0-9a-fA-F]{4}"
)


def _decode_escapes(text: str) -> str:
    """``\\uXXXX`` escapes of text that json.loads refused, decoded, so that neither an
    escaped key (``evaluator\\u005fid``) nor escaped digits hide from the masking and the
    scrubber. A quote, a backslash, a control character or a lone surrogate stays escaped:
    decoding it would change where the text's strings end."""

    def one(m: re.Match[str]) -> str:
        escape = m.group()
        if escape == "\\\\":
            return escape
        char = json.loads(f'"{escape}"')  # one escape, or a pair: one character
        if char < " " or char in '"\\' or "\ud800" <= char <= "\udfff":
            return escape
        return str(char)

    return _JSON_ESCAPE.sub(one, text)


def scrub_raw(raw: bytes, secret: bytes) -> str:
    """A readable copy of a rejected message with no personal data, for the rejected table.

    The original bytes stay only on the ``ratings.rejected`` topic (for replay under its
    retention); ClickHouse gets this copy: every evaluator_id replaced by its pseudonym (also
    when the bytes are cut-off or not-quite JSON), then everything scrubbed like a comment.
    At most ``RAW_COPY_MAX`` characters; never raises.
    """
    text = raw.decode("utf-8", "replace")
    try:
        document = json.loads(text)
        _replace_evaluator_ids(document, secret)
        text = json.dumps(document, ensure_ascii=False)
    except (ValueError, RecursionError):
        text = _mask_evaluator_ids(_decode_escapes(text), secret)
    if len(text) <= _RAW_SCAN_MAX:
        return scrub_text(text)[:RAW_COPY_MAX]
    head = text[:_RAW_SCAN_MAX]
    return _render(head, _find(head), stop=_RAW_SCAN_MAX - _RAW_TAIL)[:RAW_COPY_MAX]
