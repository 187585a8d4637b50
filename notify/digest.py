"""Grouping warnings into one message per department and interval, as Alertmanager groups
alerts (group_wait, group_interval). Pure: the case notifier (notify/cases.py) feeds it what
it reads and asks what is ready to send; no Kafka, no HTTP.

A group's first warning waits ``wait_s`` for others to join it; once a group was sent, what
arrives for it waits until ``interval_s`` after that send. A warning already in a group (a
re-read after a restart) is not added twice. ``safe_offsets`` says how far each partition may
be committed: up to its first warning not sent yet, so a crash re-reads every unsent warning
(at least once; a re-read warning of a sent group may be sent again, with its warning id).
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Item:
    key: str  # the group: a department code
    item_id: str  # a warning id: "case:deadline:kind"
    value: bytes  # the warning as read
    partition: int
    offset: int


@dataclass
class _Group:
    items: dict[str, Item] = field(default_factory=dict)
    first_at: float = 0.0
    sent_at: float | None = None


class Digests:
    def __init__(self, wait_s: float, interval_s: float) -> None:
        if wait_s < 0 or interval_s < 0:
            raise ValueError("wait_s and interval_s must not be negative")
        self.wait_s, self.interval_s = wait_s, interval_s
        self._groups: dict[str, _Group] = {}
        self._read_to: dict[int, int] = {}  # partition → the offset after the last read

    def add(self, item: Item, now: float) -> None:
        self._read_to[item.partition] = max(self._read_to.get(item.partition, 0), item.offset + 1)
        group = self._groups.setdefault(item.key, _Group())
        if not group.items:
            group.first_at = now
        group.items.setdefault(item.item_id, item)

    def move(self, old: str, new: str) -> None:
        """The unsent items of group ``old`` join group ``new`` (found to be part of it); they
        keep their place in time, so the joined group is due as soon as either was."""
        source = self._groups.get(old)
        if source is None or not source.items or old == new:
            return
        target = self._groups.setdefault(new, _Group())
        target.first_at = min(target.first_at, source.first_at) if target.items else source.first_at
        for item_id, item in source.items.items():
            target.items.setdefault(item_id, item)
        source.items.clear()

    def read(self, partition: int, offset: int) -> None:
        """A record that is no warning (skipped) was read: it may be committed past."""
        self._read_to[partition] = max(self._read_to.get(partition, 0), offset + 1)

    def ready(self, now: float) -> list[tuple[str, list[Item]]]:
        """The groups to send now, each with its warnings in the order they were read."""
        out = []
        for key, group in sorted(self._groups.items()):
            if not group.items:
                continue
            if group.sent_at is None:
                due = group.first_at + self.wait_s
            else:
                due = max(group.first_at, group.sent_at + self.interval_s)
            if now >= due:
                items = sorted(group.items.values(), key=lambda i: (i.partition, i.offset))
                out.append((key, items))
        return out

    def sent(self, key: str, items: list[Item], now: float) -> None:
        """These warnings of ``key`` were delivered (or refused for good)."""
        group = self._groups[key]
        for item in items:
            group.items.pop(item.item_id, None)
        group.sent_at = now

    def safe_offsets(self) -> dict[int, int]:
        """Per partition read: the offset to commit (its first unsent warning, else past the
        last record read)."""
        out = dict(self._read_to)
        for group in self._groups.values():
            for item in group.items.values():
                out[item.partition] = min(out[item.partition], item.offset)
        return out

    def waiting(self) -> int:
        return sum(len(group.items) for group in self._groups.values())
