from pathlib import Path

from tests.bench.cold_start import restarts_since

LOG = """2026-12-07 04:39:50,101 INFO spawned: 'worker' with pid 101
2026-12-07 04:39:51,102 INFO success: worker entered RUNNING state
2026-12-07 04:39:58,001 INFO exited: follow-up (exit status 75; not expected)
2026-12-07 04:40:30,002 INFO exited: dashboard (terminated by SIGTERM; expected)
"""


def test_only_unexpected_exits_after_the_offset_count_as_restarts(tmp_path: Path) -> None:
    log = tmp_path / "supervisord.log"
    earlier = "2026-12-07 03:00:00,000 INFO exited: sink (exit status 1; not expected)\n"
    log.write_text(earlier + LOG)
    assert restarts_since(log, len(earlier.encode())) == [
        "2026-12-07 04:39:58,001 INFO exited: follow-up (exit status 75; not expected)"
    ]
    assert len(restarts_since(log, 0)) == 2


def test_no_log_is_no_restart(tmp_path: Path) -> None:
    assert restarts_since(tmp_path / "missing.log", 0) == []
