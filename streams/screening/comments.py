"""Is a bad review's comment abuse, or about something other than the service?

A small lexicon, matched on jieba's words rather than on substrings: "垃圾" is abuse, but
jieba keeps "垃圾分类" (waste sorting, a service some departments run) as one word, so a
complaint about that service is not taken for abuse. Spam (ads, contact offers, links) is
matched as phrases on normalized text, since jieba cuts "加微信" into pieces that are
harmless alone. A match only *flags* a review as possibly malicious (恶意差评): excluding it
is a person's decision (``suspect_confirmed``).
"""

from __future__ import annotations

import logging
import re
import threading
import unicodedata
from dataclasses import dataclass
from typing import Any, Final

# insults and curses aimed at staff or the department, not at how the service went
ABUSE_WORDS: Final = frozenset(
    {
        "垃圾",
        "废物",
        "傻逼",
        "傻b",
        "煞笔",
        "狗官",
        "去死",
        "滚蛋",
        "混蛋",
        "王八蛋",
        "白痴",
        "猪脑子",
        "脑残",
        "畜生",
        "人渣",
        "狗东西",
        "饭桶",
        "蠢货",
        "贱人",
        "死全家",
        "sb",
    }
)
# words jieba must keep whole, so that they match (and what contains them does not)
_KEEP_WHOLE: Final = ("傻逼", "煞笔", "猪脑子", "狗东西", "死全家", "狗官", "垃圾分类", "垃圾清运")
# advertising and contact offers: nothing to do with the service evaluated
SPAM_PHRASES: Final = (
    "加微信",
    "加v",
    "加vx",
    "加qq",
    "qq群",
    "代办包过",
    "刷单",
    "兼职",
    "贷款",
    "彩票",
    "博彩",
    "返利",
    "http",
    "www.",
    "点击链接",
)
_SPACES: Final = re.compile(r"\s+")

_lock = threading.Lock()
_tokenizer: Any = None


@dataclass(frozen=True, slots=True)
class CommentVerdict:
    abuse: tuple[str, ...] = ()  # abuse words found
    spam: tuple[str, ...] = ()  # spam phrases found

    @property
    def flagged(self) -> bool:
        return bool(self.abuse or self.spam)

    def evidence(self) -> str:
        parts = []
        if self.abuse:
            parts.append("abuse: " + "、".join(self.abuse))
        if self.spam:
            parts.append("unrelated: " + "、".join(self.spam))
        return "; ".join(parts)


def _segmenter() -> Any:
    """A jieba tokenizer of its own (loaded once, ~0.5 s): words added here must not change
    how ``haochaping problems`` cuts comments in the same process."""
    global _tokenizer
    if _tokenizer is None:
        with _lock:
            if _tokenizer is None:
                import jieba

                jieba.setLogLevel(logging.WARNING)
                tokenizer = jieba.Tokenizer()
                tokenizer.initialize()
                for word in _KEEP_WHOLE:
                    tokenizer.add_word(word)
                _tokenizer = tokenizer
    return _tokenizer


def load_segmenter() -> None:
    """Load the tokenizer now (a worker at start) rather than at the first bad comment, where
    its half a second would stall every agent of the worker mid-traffic."""
    _segmenter()


def normalized(text: str) -> str:
    """NFKC (full-width letters to ASCII), lower case, without spaces: "加 Ｖ" → "加v"."""
    return _SPACES.sub("", unicodedata.normalize("NFKC", text)).lower()


def judge_comment(comment: str) -> CommentVerdict:
    if not comment:
        return CommentVerdict()
    text = normalized(comment)
    words = set(_segmenter().lcut(text, HMM=False))
    abuse = tuple(sorted(words & ABUSE_WORDS))
    spam = tuple(phrase for phrase in SPAM_PHRASES if phrase in text)
    return CommentVerdict(abuse, spam)
