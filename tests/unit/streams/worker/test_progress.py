"""``read_through``: which partitions the surge and case heartbeats may say are read to the end."""

from __future__ import annotations

from streams.worker.progress import read_through


def test_a_partition_is_through_when_read_or_committed_to_its_end() -> None:
    ends = {0: 10, 1: 10, 2: 10, 3: 0}
    read = {0: 10, 1: 4}.get
    committed = {1: 10, 2: 9}.get

    through = read_through(ends, lambda p: read(p, 0), lambda p: committed(p, 0))

    # 0 read to its end, 1 committed to it (read nothing since it started), 2 one short,
    # 3 empty: nothing to read
    assert through == [0, 1, 3]


def test_nothing_is_through_with_a_record_left_behind() -> None:
    assert read_through({0: 5}, lambda p: 4, lambda p: 4) == []
