"""A large mapping kept as one changelog record per entry, written only where it changed.

The surge step's state used to be one record holding every key's detector state (about 112
bytes a key) and every pending minute partial: past ~9,000 keys that one record outgrows
Kafka's 1 MB limit, and the whole of it was rewritten every batch. Here each entry of such a
mapping is a record of its own under ``prefix + entry``; a write sends the entries that
changed since the last write and deletes the ones that went.
"""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping
from typing import Any

import pydantic_core


class SplitState:
    def __init__(self, state: MutableMapping[str, Any], prefix: str) -> None:
        self._state = state
        self._prefix = prefix
        self._written: dict[str, bytes] = {}  # entry -> JSON of what is in the state

    def read(self) -> dict[str, Any]:
        """Every entry under the prefix (after a recovery: what the changelog held)."""
        out = {
            name.removeprefix(self._prefix): value
            for name, value in list(self._state.items())
            if name.startswith(self._prefix)
        }
        self._written = {entry: _json(value) for entry, value in out.items()}
        return out

    def write(self, entries: Mapping[str, Any]) -> int:
        """Make the state hold exactly ``entries``; returns how many records that took."""
        records = 0
        for entry, value in entries.items():
            text = _json(value)
            if self._written.get(entry) != text:
                self._state[self._prefix + entry] = value
                self._written[entry] = text
                records += 1
        for entry in [e for e in self._written if e not in entries]:
            self._state.pop(self._prefix + entry, None)
            del self._written[entry]
            records += 1
        return records


def _json(value: Any) -> bytes:
    # in the order of the value's keys (a fifth of the time json.dumps took): a value equal
    # in another order is written once more, which is harmless
    return pydantic_core.to_json(value)
