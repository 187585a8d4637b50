"""Window maths on event time, in whole epoch seconds.

Minute windows are tumbling in UTC; day windows are calendar days in Asia/Shanghai, the
day an analyst in Shanghai means by "today". The rolling hour is not kept as state: it is
the sum of the last sixty minute windows, done where it is read (the surge step,
ClickHouse views), which costs nothing per evaluation.

Two horizons decide what a late evaluation still counts in (streams/ingest/step.py):

* the short one (``allowed_lateness_s``, 1 h) for minute windows: they feed surge detection,
  which must judge a minute soon and never reopen it;
* the long one (``late_horizon_days``, 30 days) for day windows, and so for the months made
  of them: an SMS answered in the evening or a rating pad synced after an outage still
  counts in its day.

Both are judged per evaluation, on its age when it reached the platform (the Kafka record
time): the same message is decided the same way on every replay.
"""

from __future__ import annotations

from runtime.clock import CHINA_OFFSET_S

MINUTE = 60
DAY = 86_400
# Asia/Shanghai has had no daylight saving since 1991, so a day is always 86,400 s at +08:00.


def minute_window(epoch: float) -> tuple[int, int]:
    start = int(epoch // MINUTE) * MINUTE
    return start, start + MINUTE


def shanghai_day_window(epoch: float) -> tuple[int, int]:
    start = int((epoch + CHINA_OFFSET_S) // DAY) * DAY - CHINA_OFFSET_S
    return start, start + DAY


def is_closed(window_end: int, watermark: float, allowed_lateness_s: int) -> bool:
    """A window no evaluation can still reach: anything for it now would arrive late."""
    return window_end + allowed_lateness_s < watermark
