from types import SimpleNamespace

from streams.ingest.rekey import state_partition
from streams.outbox import Outbox
from tests.bench.batch_ingest import changelogged, records_of


def test_a_changelogged_dict_sends_each_change_to_its_partition_of_the_changelog() -> None:
    outbox = Outbox()
    state = changelogged("app-dedupe-changelog", outbox)
    state["2|ev-1"] = {"seen": 1}
    state["3|ev-2"] = {"seen": 2}
    del state["2|ev-1"]
    assert dict(state.items()) == {"3|ev-2": {"seen": 2}}
    sent = outbox._messages["app-dedupe-changelog"]
    assert [(partition, key) for partition, key, _, _ in sent] == [
        (state_partition(2), b"2|ev-1"),
        (state_partition(3), b"3|ev-2"),
        (state_partition(2), b"2|ev-1"),
    ]
    assert sent[-1][2] is None  # a deletion is a tombstone, as in the worker's tables


def test_records_keep_where_they_were_read_and_their_time_in_seconds() -> None:
    read = SimpleNamespace(topic="t.raw", partition=1, offset=7, timestamp=1_700_000_000_500)
    batch = {"tp": [SimpleNamespace(**vars(read), key=b"k", value=b"{}")]}
    (record,) = records_of(batch)
    assert (record.topic, record.partition, record.offset) == ("t.raw", 1, 7)
    assert record.timestamp == 1_700_000_000.5
    assert (record.key, record.value) == (b"k", b"{}")
