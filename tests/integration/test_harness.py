"""The harness itself: a test leaves nothing on the shared broker (tests/integration/harness.py)."""

from __future__ import annotations

import time
from pathlib import Path

from haochaping.topics import admin_client
from tests.integration.harness import cleanup, prepare, unique_settings


def test_cleanup_deletes_every_topic_prepare_made(tmp_path: Path) -> None:
    settings = unique_settings(tmp_path, topic_partitions=2)
    prefix = settings.topic_raw.split(".", 1)[0] + "."  # the contract topics' test prefix
    admin = admin_client(settings)
    try:
        prepare(settings)

        def ours() -> list[str]:
            return sorted(
                t for t in admin.list_topics() if t.startswith((prefix, settings.app_id))
            )

        made = ours()
        # the contract topics and the worker's own (its inputs and its tables' changelogs)
        assert any(t.startswith(settings.app_id) for t in made), made
        cleanup(settings)
        deadline = time.monotonic() + 60  # the broker deletes in the background
        while (left := ours()) and time.monotonic() < deadline:
            time.sleep(0.5)
        assert left == [], f"left on the broker after cleanup: {left}"
    finally:
        admin.close()
