from datetime import datetime

from runtime.clock import CHINA
from streams.windows import is_closed, minute_window, shanghai_day_window


def test_minute_window_is_tumbling_and_half_open() -> None:
    start, end = minute_window(120.0)
    assert (start, end) == (120, 180)
    assert minute_window(179.999) == (120, 180)


def test_day_window_is_the_shanghai_calendar_day() -> None:
    # 2026-11-27 23:30 in Shanghai is 15:30 UTC: still the 27th there
    moment = datetime(2026, 11, 27, 23, 30, tzinfo=CHINA).timestamp()
    start, end = shanghai_day_window(moment)
    assert datetime.fromtimestamp(start, CHINA) == datetime(2026, 11, 27, tzinfo=CHINA)
    assert end - start == 86_400
    after_midnight = datetime(2026, 11, 28, 0, 0, 1, tzinfo=CHINA).timestamp()
    assert shanghai_day_window(after_midnight)[0] == end


def test_a_window_closes_only_after_the_allowed_lateness() -> None:
    assert not is_closed(window_end=100, watermark=150, allowed_lateness_s=60)
    assert is_closed(window_end=100, watermark=161, allowed_lateness_s=60)
