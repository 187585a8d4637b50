"""What the sink retries as an outage, and what it takes as refused rows."""

from __future__ import annotations

from clickhouse_driver import errors as ch_errors

from sinks.clickhouse import is_outage


def test_an_unreachable_server_is_an_outage() -> None:
    assert is_outage(ch_errors.NetworkError("Connection refused"))
    assert is_outage(ConnectionRefusedError())
    assert is_outage(TimeoutError())
    assert is_outage(EOFError())


def test_a_replica_without_zookeeper_is_an_outage_not_a_refusal() -> None:
    # on a cluster, a replicated table is read-only while ZooKeeper is away: retry, never
    # take the rows as bad
    assert is_outage(ch_errors.ServerException("Table is in readonly mode", code=242))
    assert is_outage(ch_errors.ServerException("Session expired", code=999))
    assert is_outage(ch_errors.ServerException("Cannot allocate block number", code=225))


def test_rows_the_server_refuses_are_not_an_outage() -> None:
    assert not is_outage(ch_errors.ServerException("Cannot parse input", code=27))
    assert not is_outage(ch_errors.ServerException("Unknown table", code=60))
    assert not is_outage(ValueError("bad row"))
