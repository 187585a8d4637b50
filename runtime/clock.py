"""China time, defined once: the days, deadlines and labels people read are in it.

China has kept +08:00 without daylight saving since 1991, so a fixed offset is exact for
every time the pipeline handles, and day arithmetic on epoch seconds may use it directly.
"""

from __future__ import annotations

from datetime import timedelta, timezone
from typing import Final

CHINA_OFFSET_S: Final = 8 * 3600
CHINA: Final = timezone(timedelta(seconds=CHINA_OFFSET_S), "CST")
# the zone's name, for ClickHouse's date functions
CHINA_ZONE: Final = "Asia/Shanghai"

