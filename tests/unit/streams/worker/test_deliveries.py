"""The worker acknowledges a batch to Faust before its output is delivered (issue 14), so a
failed delivery must end the process before Faust's flush-then-commit can pass it."""

from __future__ import annotations

import asyncio

import pytest

from streams.worker import kafka as worker_kafka


def test_a_failed_delivery_exits_before_a_flush_waiting_for_it_returns(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    order: list[str] = []
    monkeypatch.setattr(worker_kafka, "exit_undelivered", lambda who, error: order.append("exit"))

    async def scenario() -> None:
        loop = asyncio.get_running_loop()
        batch = loop.create_future()  # aiokafka's record batch future
        delivery = asyncio.shield(batch)  # what send_batch returns
        worker_kafka.watch_deliveries([delivery])

        async def flush_then_commit() -> None:
            # aiokafka's flush: asyncio.wait on the batch futures, failed or not
            await asyncio.wait([batch])
            order.append("commit")

        committing = asyncio.create_task(flush_then_commit())
        await asyncio.sleep(0)  # the flush is waiting
        batch.set_exception(RuntimeError("broker gone"))
        await committing
        with pytest.raises(RuntimeError):
            await delivery

    asyncio.run(scenario())
    assert order == ["exit", "commit"]  # in the worker, "exit" is os._exit: no commit


def test_delivered_batches_do_not_exit(monkeypatch: pytest.MonkeyPatch) -> None:
    exits: list[BaseException] = []
    monkeypatch.setattr(worker_kafka, "exit_undelivered", lambda who, error: exits.append(error))

    async def scenario() -> None:
        delivery = asyncio.get_running_loop().create_future()
        worker_kafka.watch_deliveries([delivery])
        delivery.set_result(None)
        await delivery

    asyncio.run(scenario())
    assert exits == []
