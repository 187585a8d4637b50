"""Screening of fake and malicious evaluations (刷好评, 恶意差评): pure rules, no Faust.

- ``facts``: what the ingest step forwards per accepted evaluation (``ScreenFact``)
- ``signals``: each signal as a pure function over plain data
- ``comments``: the abuse / unrelated-comment lexicon, with jieba
- ``screener``: the state per key (event-time windows, deduplicated by evaluation id) and the
  verdicts, so a replay of the same evaluations gives the same suspects

A suspect is marked, never dropped: it counts in every raw number until a person confirms it
(``suspect_confirmed`` on ``cases.events``).
"""
