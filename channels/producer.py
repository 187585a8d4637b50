"""The producer a channel backend embeds to send evaluations to ``ratings.raw``.

Every evaluation is validated against the contract before it leaves (a channel learns of a
bad field at once, not from the rejected topic), the producer is idempotent with acks=all,
and delivery failures reach the caller: ``send`` returns a future, ``flush`` raises
``DeliveryFailed`` naming what was not delivered.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Mapping
from typing import Any

from kafka import KafkaProducer
from kafka.errors import KafkaError
from kafka.producer.future import FutureRecordMetadata

from schemas.evaluation import RawEvaluation


class DeliveryFailed(Exception):
    def __init__(self, failures: list[tuple[bytes | None, BaseException]]) -> None:
        self.failures = failures
        first_key, first_error = failures[0]
        super().__init__(
            f"{len(failures)} evaluation(s) not delivered; first key {first_key!r}: {first_error}"
        )


def message_key(evaluation: Mapping[str, Any]) -> bytes:
    """The contract's key: transaction_id, else evaluation_id."""
    return str(evaluation.get("transaction_id") or evaluation["evaluation_id"]).encode()


class ChannelProducer:
    def __init__(
        self, bootstrap_servers: list[str], topic: str = "ratings.raw", **config: Any
    ) -> None:
        self.topic = topic
        self._producer = KafkaProducer(
            bootstrap_servers=bootstrap_servers,
            acks="all",
            enable_idempotence=True,
            linger_ms=20,
            batch_size=256 * 1024,
            compression_type=None,
            client_id="haochaping-channel",
            **config,
        )
        self._failures: list[tuple[bytes | None, BaseException]] = []
        self._lock = threading.Lock()
        self.delivered = 0

    def send(self, evaluation: Mapping[str, Any]) -> FutureRecordMetadata:
        """Validate and send one evaluation; raises pydantic.ValidationError if it is invalid."""
        value = json.dumps(evaluation, ensure_ascii=False, separators=(",", ":")).encode()
        # validated as the worker will see it: JSON, with the contract's strict types
        RawEvaluation.model_validate_json(value)
        return self.send_raw(message_key(evaluation), value)

    def send_raw(
        self,
        key: bytes | None,
        value: bytes,
        *,
        timestamp_ms: int | None = None,
        partition: int | None = None,
    ) -> FutureRecordMetadata:
        """Send bytes as they are (the simulator uses this for its malformed messages).
        ``timestamp_ms``: the record's CreateTime (None: now), which the worker takes as
        the time the evaluation reached the platform; ``partition``: None for the key's."""
        future = self._producer.send(
            self.topic, key=key, value=value, timestamp_ms=timestamp_ms, partition=partition
        )
        future.add_callback(self._on_delivered)
        future.add_errback(self._on_failed, key)
        return future

    def _on_delivered(self, _metadata: Any) -> None:
        with self._lock:
            self.delivered += 1

    def _on_failed(self, key: bytes | None, error: BaseException) -> None:
        with self._lock:
            self._failures.append((key, error))

    def flush(self, timeout_s: float | None = 60) -> None:
        for attempt in range(5):
            try:
                self._producer.flush(timeout=timeout_s)
                break
            except KafkaError as exc:
                # kafka-python 3 can raise "Future not done" while it is still splitting and
                # retrying a refused batch; the records' own callbacks report their outcome
                if attempt == 4:
                    raise DeliveryFailed([(None, exc)]) from exc
                time.sleep(0.2)
        with self._lock:
            failures, self._failures = self._failures, []
        if failures:
            raise DeliveryFailed(failures)

    def close(self) -> None:
        try:
            self.flush()
        finally:
            self._producer.close()
