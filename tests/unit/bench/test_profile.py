from tests.bench.profile import IDLE, stage_of


def test_a_pool_thread_waiting_on_its_queue_is_idle() -> None:
    frames = [
        "Thread._bootstrap (threading.py:1002)",
        "Thread.run (threading.py:982)",
        "_worker (concurrent/futures/thread.py:81)",
    ]
    assert stage_of(frames) == IDLE


def test_an_event_loop_in_select_is_idle() -> None:
    frames = ["BaseEventLoop._run_once (asyncio/base_events.py:1869)"]
    assert stage_of([*frames, "EpollSelector.select (selectors.py:468)"]) == IDLE


def test_work_run_by_a_pool_thread_is_busy() -> None:
    frames = [
        "Thread.run (threading.py:982)",
        "_worker (concurrent/futures/thread.py:83)",
        "_WorkItem.run (concurrent/futures/thread.py:58)",
        "Perimeter.check (streams/ingest/perimeter.py:120)",
    ]
    assert stage_of(frames) == "check (parse, validate, scrub, pseudonymize)"
