"""The follow-up agents' gap finding (streams/worker/gaps.py): which offsets a batch passed
over, and where the fetched records go."""

from __future__ import annotations

from streams.records import Record
from streams.worker.gaps import NextOffsets, in_order


def rec(offset: int, topic: str = "facts", partition: int = 0) -> Record:
    return Record(topic, partition, offset, 0.0, None, b"")


def test_a_first_batch_that_starts_past_the_commit_is_a_gap() -> None:
    offsets = NextOffsets()
    offsets.resume_at(("facts", 0), 10)
    assert offsets.gaps([rec(14), rec(15)]) == [("facts", 0, 10, 14)]


def test_a_batch_that_starts_at_the_next_offset_has_none() -> None:
    offsets = NextOffsets()
    offsets.resume_at(("facts", 0), 10)
    batch = [rec(10), rec(11)]
    assert offsets.gaps(batch) == []
    offsets.advance(batch)
    assert offsets.gaps([rec(12)]) == []
    assert offsets.gaps([rec(13)]) == [("facts", 0, 12, 13)]


def test_a_gap_inside_a_batch_is_found_too() -> None:
    offsets = NextOffsets()
    offsets.resume_at(("facts", 0), 0)
    assert offsets.gaps([rec(0), rec(1), rec(5), rec(6), rec(9)]) == [
        ("facts", 0, 2, 5),
        ("facts", 0, 7, 9),
    ]


def test_a_record_read_again_is_no_gap_and_does_not_move_the_next_offset_back() -> None:
    offsets = NextOffsets()
    offsets.resume_at(("facts", 0), 0)
    offsets.advance([rec(0), rec(1), rec(2)])
    assert offsets.gaps([rec(1), rec(2), rec(3)]) == []
    offsets.advance([rec(1)])
    assert offsets.gaps([rec(3)]) == []


def test_partitions_are_apart_and_an_unknown_one_is_not_checked() -> None:
    offsets = NextOffsets()
    offsets.resume_at(("cases", 1), 5)
    batch = [rec(7, "cases", 1), rec(3, "cases", 2)]
    assert offsets.unknown(batch) == {("cases", 2)}
    assert offsets.gaps(batch) == [("cases", 1, 5, 7)]


def test_a_revoked_partition_starts_again_from_where_it_resumes() -> None:
    offsets = NextOffsets()
    offsets.resume_at(("facts", 0), 0)
    offsets.advance([rec(0), rec(1)])
    offsets.forget(("facts", 0))
    assert offsets.unknown([rec(1)]) == {("facts", 0)}
    offsets.resume_at(("facts", 0), 1)
    assert offsets.gaps([rec(1)]) == []


def test_fetched_records_go_before_the_first_later_record_of_their_partition() -> None:
    batch = [rec(4, "a"), rec(20, "b"), rec(5, "a"), rec(8, "a")]
    fetched = [rec(7, "a"), rec(2, "a"), rec(3, "a"), rec(6, "a")]
    assert [(r.topic, r.offset) for r in in_order(batch, fetched)] == [
        ("a", 2),
        ("a", 3),
        ("a", 4),
        ("b", 20),
        ("a", 5),
        ("a", 6),
        ("a", 7),
        ("a", 8),
    ]


def test_fetched_records_after_the_whole_batch_go_at_its_end() -> None:
    assert [r.offset for r in in_order([rec(1)], [rec(3), rec(2)])] == [1, 2, 3]
    assert in_order([rec(1)], []) == [rec(1)]


def test_a_partition_revoked_during_a_fetch_is_not_brought_back_by_its_batch() -> None:
    offsets = NextOffsets()
    offsets.resume_at(("facts", 0), 0)
    offsets.forget(("facts", 0))
    offsets.advance([rec(0), rec(1)])
    assert offsets.unknown([rec(2)]) == {("facts", 0)}
