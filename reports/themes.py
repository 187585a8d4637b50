"""Problem discovery: what people complain about, per department and service item.

Pure functions, no I/O: `haochaping problems` reads the comments from ClickHouse and hands
them here. Comments are segmented with jieba; the terms kept are Chinese or Latin words of two
characters or more that are neither stop words, punctuation, numbers nor the placeholders the
scrubber leaves behind ([手机号], [身份证号], …).

A theme is a term over-represented in a group's bad-review (差评, level ≤ 2) comments compared
with all comments of the period. Terms are counted once per comment (document frequency), so
one angry comment repeating a word makes no theme, and a term needs `min_docs` bad comments.

Scoring is the weighted log-odds ratio with an informative Dirichlet prior of Monroe, Colaresi
and Quinn (2008, "Fightin' Words", eqs. 16–22): for term w with y_b bad comments and y_a comments
of all, n_b and n_a the summed term counts of each side, and a prior α_w = α0 · p_all(w)
proportional to the term's background frequency,

    δ_w = log((y_b + α_w) / (n_b + α0 − y_b − α_w)) − log((y_a + α_w) / (n_a + α0 − y_a − α_w))
    score_w = δ_w / sqrt(1 / (y_b + α_w) + 1 / (y_a + α_w))

a z-score: a term wins by being both much more frequent among bad comments and frequent
enough that the difference is no accident, which neither a plain ratio (rare terms win) nor a
plain count (办理, 工作人员 win) achieves. α0 is the size of the bad side (n_b): the prior weighs
as much as the evidence. Only terms with score > 0 and lift > 1 are themes. The bad comments
are usually part of "all" too; that makes the comparison conservative, never wrong-signed.
"""

from __future__ import annotations

import logging
import math
import re
import threading
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Final, Literal

from privacy.scrub import PLACEHOLDERS

# Function words and fillers of 好差评 comments that say nothing about a problem. Single
# characters are dropped anyway, so only words of two characters or more are listed.
_STOP_WORDS_TEXT: Final = """
    一个 一些 一下 一点 一直 一次 一样 一般 一起 不是 不要 不过 不会 不能 为了 为什么 之后 之前
    也是 也没 什么 今天 以后 以前 但是 你们 其他 其实 具体 再次 几个 别人 到底 即使 只是 只能
    可以 可能 各种 同时 后来 否则 哪里 因为 因此 如何 如果 实在 对于 就是 已经 希望 并且
    我们 或者 所以 所有 才能 然后 然而 现在 直接 真的 确实 而且 而是 自己 虽然 要是 这个
    这些 这么 这样 这种 还是 还有 还要 进行 那个 那么 那些 那样 都是 非常 之类 比较 特别 有点
    有些 没有 没人 怎么 怎样 感觉 觉得 时候 地方 东西 事情 问题 情况 方面 大家 他们 她们 它们
    有关 关于 通过 根据 以及 及其 以上 以下 不了 不到 起来 出来 过来 下来 上来 一遍 两次 三次
    多次 多个 好几 好几次 几次 不上 谢谢 您好 你好 请问 麻烦
    """
STOP_WORDS: Final[frozenset[str]] = frozenset(_STOP_WORDS_TEXT.split())

# Complaints jieba's dictionary cuts into pieces that mean nothing alone (登录 / 不上): kept
# whole, so the theme reads as what happened.
COMPLAINT_WORDS: Final[tuple[str, ...]] = (
    "登录不上",
    "登不上",
    "打不开",
    "打不通",
    "进不去",
    "办不了",
    "提交不了",
    "上传不了",
    "上传失败",
    "没人接",
    "没人管",
    "互相推诿",
    "白跑一趟",
    "来回跑",
    "跑了好几趟",
)

_PLACEHOLDER_PATTERN: Final = re.compile(
    "|".join(re.escape(p) for p in PLACEHOLDERS) + r"|\[[^\]\s]{1,8}\]"
)
# a kept term: CJK characters and Latin letters only (no digits, punctuation or spaces)
_TERM: Final = re.compile(r"[\u4e00-\u9fffA-Za-z]+")
# numerals and counted units written in Chinese (两个, 三次, 几天): digits by another name
_NUMERAL: Final = re.compile(
    r"[零〇一二两三四五六七八九十百千万几]+[个次趟天周月年遍回位号名件份]?"
)
_HAS_CJK_OR_LATIN: Final = re.compile(r"[\u4e00-\u9fffA-Za-z]")

_lock = threading.Lock()
_jieba: Any = None


def _segmenter() -> Any:
    """jieba, loaded once (its dictionary takes ~0.5 s) and quiet."""
    global _jieba
    if _jieba is None:
        with _lock:
            if _jieba is None:
                import jieba

                jieba.setLogLevel(logging.WARNING)
                jieba.initialize()
                for word in COMPLAINT_WORDS:
                    jieba.add_word(word)
                _jieba = jieba
    return _jieba


def is_term(token: str) -> bool:
    token = token.strip()
    return (
        len(token) >= 2
        and _TERM.fullmatch(token) is not None
        and _NUMERAL.fullmatch(token) is None
        and token.lower() not in STOP_WORDS
        and token not in STOP_WORDS
    )


def tokens(text: str) -> list[str]:
    """The terms of one comment in order, repeats kept (placeholders, stop words, punctuation,
    digits and single characters dropped)."""
    if not text or not _HAS_CJK_OR_LATIN.search(text):
        return []
    cleaned = _PLACEHOLDER_PATTERN.sub(" ", text)
    return [t.strip().lower() for t in _segmenter().lcut(cleaned) if is_term(t)]


@lru_cache(maxsize=200_000)
def terms(text: str) -> frozenset[str]:
    """The distinct terms of one comment (cached: comments repeat, segmentation is slow)."""
    return frozenset(tokens(text))


@dataclass(frozen=True, slots=True)
class Theme:
    term: str
    bad_docs: int  # bad comments that contain the term
    share_of_bad: float  # bad_docs / bad comments of the group
    lift: float  # share among bad comments / share among all comments (smoothed)
    score: float  # weighted log-odds z-score (Monroe et al.)
    example: str  # a bad comment with the term, shortened around it


class Background:
    """Document frequencies of all comments of the period: computed once, used by every group."""

    def __init__(self, comments: Iterable[str]) -> None:
        self.doc_freq: Counter[str] = Counter()
        self.docs = 0
        for comment in comments:
            self.docs += 1
            self.doc_freq.update(terms(comment))
        self.total = sum(self.doc_freq.values())


def snippet(comment: str, term: str, width: int = 40) -> str:
    """``comment`` cut to ``width`` characters around the first ``term``."""
    text = " ".join(comment.split())
    if len(text) <= width:
        return text
    at = text.lower().find(term.lower())
    start = max(0, min(at - width // 3, len(text) - width)) if at >= 0 else 0
    piece = text[start : start + width]
    return ("…" if start > 0 else "") + piece + ("…" if start + width < len(text) else "")


def _example(comments: Sequence[str], term: str) -> str:
    with_term = Counter(c for c in comments if term in terms(c))
    # the most repeated wording, then the shortest: the clearest statement of the theme
    best = min(with_term, key=lambda c: (-with_term[c], len(c), c))
    return snippet(best, term)


def themes_against(
    bad_comments: Sequence[str],
    background: Background,
    top: int = 10,
    min_docs: int = 3,
) -> list[Theme]:
    """The ``top`` terms most over-represented in ``bad_comments`` against ``background``."""
    docs = [c for c in bad_comments if c]
    if not docs:
        return []
    bad_freq: Counter[str] = Counter()
    for comment in docs:
        bad_freq.update(terms(comment))
    n_bad = sum(bad_freq.values())
    n_all = background.total
    vocabulary = len(set(bad_freq) | set(background.doc_freq))
    alpha0 = float(n_bad)
    scored: list[tuple[float, int, str, float]] = []
    for term, y_b in bad_freq.items():
        if y_b < min_docs:
            continue
        y_a = background.doc_freq.get(term, 0)
        # add-half smoothing: a term missing from a sampled background still has a prior
        alpha = alpha0 * (y_a + 0.5) / (n_all + 0.5 * vocabulary)
        delta = math.log((y_b + alpha) / (n_bad + alpha0 - y_b - alpha)) - math.log(
            (y_a + alpha) / (n_all + alpha0 - y_a - alpha)
        )
        score = delta / math.sqrt(1 / (y_b + alpha) + 1 / (y_a + alpha))
        lift = (y_b / len(docs)) / ((y_a + 1) / (background.docs + 1))
        if score > 0 and lift > 1:
            scored.append((score, y_b, term, lift))
    scored.sort(key=lambda s: (-s[0], -s[1], s[2]))
    return [
        Theme(
            term=term,
            bad_docs=y_b,
            share_of_bad=y_b / len(docs),
            lift=lift,
            score=score,
            example=_example(docs, term),
        )
        for score, y_b, term, lift in scored[:top]
    ]


def themes(
    bad_comments: Sequence[str],
    all_comments: Sequence[str],
    top: int = 10,
    min_docs: int = 3,
) -> list[Theme]:
    """The recurring themes of ``bad_comments``, compared with ``all_comments``."""
    return themes_against(bad_comments, Background(all_comments), top=top, min_docs=min_docs)


@dataclass
class Group:
    """One department or service item and the bad-review comments it received."""

    code: str
    name: str
    department_code: str
    department_name: str
    comments: list[str] = field(default_factory=list)


def group_comments(
    rows: Iterable[Sequence[Any]], by: Literal["department", "service"] = "department"
) -> dict[str, Group]:
    """Rows of (department_code, department_name, service_code, service_name, comment), as
    reports.queries.PROBLEM_BAD_COMMENTS returns them, grouped by department or service code."""
    groups: dict[str, Group] = {}
    for dept, dept_name, service, service_name, comment in rows:
        code, name = (dept, dept_name) if by == "department" else (service, service_name)
        group = groups.get(code)
        if group is None:
            group = groups[code] = Group(code, name or "", dept, dept_name or "")
        elif not group.name and name:
            group.name = name
        if comment:
            group.comments.append(comment)
    return groups
