"""Grouping case warnings per department and interval (notify/digest.py)."""

from __future__ import annotations

from notify.digest import Digests, Item


def item(key: str, n: int, partition: int = 0) -> Item:
    return Item(key, f"c{n}:callback:overdue", b"{}", partition, n)


def test_a_group_waits_for_others_then_goes_once() -> None:
    digests = Digests(wait_s=30, interval_s=300)
    digests.add(item("D1", 0), now=0)
    digests.add(item("D1", 1), now=10)
    digests.add(item("D2", 2), now=20)
    assert digests.ready(now=29) == []
    ((key, items),) = digests.ready(now=30)
    assert key == "D1" and [i.offset for i in items] == [0, 1]
    digests.sent("D1", items, now=30)
    assert [key for key, _ in digests.ready(now=50)] == ["D2"]


def test_after_a_send_the_group_waits_its_interval() -> None:
    digests = Digests(wait_s=30, interval_s=300)
    digests.add(item("D1", 0), now=0)
    digests.sent("D1", digests.ready(now=30)[0][1], now=30)
    digests.add(item("D1", 1), now=40)
    assert digests.ready(now=329) == []
    assert [i.offset for i in digests.ready(now=330)[0][1]] == [1]


def test_a_warning_read_twice_is_in_its_group_once() -> None:
    digests = Digests(wait_s=0, interval_s=0)
    digests.add(item("D1", 0), now=0)
    digests.add(item("D1", 0), now=1)
    assert len(digests.ready(now=1)[0][1]) == 1


def test_offsets_are_committed_up_to_the_first_unsent_warning() -> None:
    digests = Digests(wait_s=30, interval_s=300)
    digests.add(item("D1", 0), now=0)
    digests.add(item("D2", 1), now=20)
    digests.add(item("D1", 2), now=21)
    digests.read(0, 3)  # a record that is no warning
    digests.add(item("D3", 0, partition=1), now=22)
    assert digests.safe_offsets() == {0: 0, 1: 0}
    digests.sent("D1", digests.ready(now=30)[0][1], now=30)
    assert digests.safe_offsets() == {0: 1, 1: 0}  # D2's warning at offset 1 waits
    for key, items in digests.ready(now=60):
        digests.sent(key, items, now=60)
    assert digests.safe_offsets() == {0: 4, 1: 1} and digests.waiting() == 0


def test_a_moved_group_keeps_its_place_in_time() -> None:
    digests = Digests(wait_s=10, interval_s=60)
    digests.add(item("service:S1", 0), now=0)
    digests.add(item("department:D1", 1, partition=1), now=8)
    digests.move("service:S1", "department:D1")
    digests.move("service:S-none", "department:D1")  # nothing there: nothing happens
    assert digests.ready(now=9) == []
    ((key, items),) = digests.ready(now=10)  # due when the service's item was
    assert key == "department:D1" and [i.offset for i in items] == [0, 1]
    assert digests.safe_offsets() == {0: 0, 1: 1}
