"""Ingest: one batch of ``ratings.raw`` → accepted or rejected, deduplicated, counted.

- ``decision``: the pure accept/reject decision for one message
- ``perimeter``: per-message isolation, so one bad message costs only itself
- ``rekey``: mis-keyed evaluations forwarded to their home partition (一次一评 whatever the key)
- ``dedupe``: repeated evaluations and 一次一评 per source partition
- ``counts``: per-partition window counts, versioned by offset
- ``step``: the step the worker's ingest agent drives
"""
