"""Surges: bad reviews surging for a department or service item, judged per minute.

- ``minutes``: merges the ingest step's per-partition minute partials, and says when a
  minute is complete (event time, heartbeats when traffic stops)
- ``detector``: which keys of a dimension got surprisingly many bad reviews in a minute
- ``lifecycle``: judgements → ``opened`` / ``updated`` / ``resolved`` alert events
- ``splitstate``: the step's state as one changelog record per entry
- ``step``: the step the worker's surge agent drives
"""
