"""alerts.cases → each department's webhook, one message per department and interval
(`haochaping notify --stream cases`).

Warnings (due soon, overdue, escalated) are grouped per responsible department
(notify/digest.py: wait ``HAOCHAPING_CASE_GROUP_WAIT_S`` for more, then at most one message
per ``HAOCHAPING_CASE_GROUP_INTERVAL_S``) and posted to the department's URL in
``HAOCHAPING_CASE_WEBHOOKS`` (``"*"`` for every other department; a department without one
is skipped and counted). At least once: offsets are committed only up to the first warning
not delivered yet, so a restart re-reads what was not sent.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Callable
from typing import Any, Final

from kafka import TopicPartition
from prometheus_client import Counter
from pydantic import ValidationError

from notify.digest import Digests, Item
from notify.messages import WECOM_MAX_BYTES, clip_utf8, escape_markdown
from notify.webhook import WebhookClient
from runtime.clock import CHINA
from schemas.cases import CaseWarning
from schemas.catalogue import DEPARTMENT_NAMES
from sinks.consumer import commit_offsets, poll_until_stopped

log = logging.getLogger("haochaping.notify")

digests_sent = Counter(
    "haochaping_case_digests_total",
    "messages of case warnings per department: delivered, refused, or without a webhook",
    ["outcome"],
)
_KINDS: Final = {
    "due_soon": "即将到期",
    "overdue": "超期",
    "escalated_1": "一级督办",
    "escalated_2": "二级督办",
}
_DEADLINES: Final = {"callback": "回访", "rectification": "整改"}


def digest_id(department: str, warnings: list[CaseWarning]) -> str:
    """The same for a repeat of the same warnings: the receiver drops it."""
    ids = "\n".join(sorted(w.warning_id for w in warnings))
    return f"cases:{hashlib.sha256(f'{department}|{ids}'.encode()).hexdigest()[:32]}"


def render_digest(department: str, warnings: list[CaseWarning], fmt: str) -> bytes:
    """The body for one department's warnings in format ``fmt``."""
    if fmt == "generic":
        body: dict[str, Any] = {
            "department_code": department,
            "warnings": [json.loads(w.model_dump_json()) for w in warnings],
        }
        return json.dumps(body, ensure_ascii=False).encode()
    name = escape_markdown(DEPARTMENT_NAMES.get(department, department))
    title = f"【差评督办】{name}：{len(warnings)} 条案件提醒"
    lines = [
        f"- {_KINDS[w.kind]} {_DEADLINES[w.deadline]}：案件 {escape_markdown(w.case_id)}，"
        f"期限 {w.due_at.astimezone(CHINA):%Y-%m-%d %H:%M}"
        for w in warnings
    ]
    text = f"### {title}\n\n" + "\n".join(lines)
    if fmt == "dingtalk":
        return json.dumps(
            {"msgtype": "markdown", "markdown": {"title": title, "text": text}},
            ensure_ascii=False,
        ).encode()
    return json.dumps(
        {"msgtype": "markdown", "markdown": {"content": clip_utf8(text, WECOM_MAX_BYTES)}},
        ensure_ascii=False,
    ).encode()


class CaseNotifier:
    def __init__(
        self,
        consumer: Any,
        client_for: Callable[[str], WebhookClient | None],
        digests: Digests,
        *,
        say: Callable[[str], None] = print,
        should_stop: Callable[[], bool] = lambda: False,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._consumer, self._client_for, self._digests = consumer, client_for, digests
        self._say, self._should_stop, self._clock = say, should_stop, clock
        self.topic = ""
        self._committed: dict[int, int] = {}
        # read by the watchdog thread (runtime/poll_watchdog.py): plain attributes only
        self.last_batch_at = time.monotonic()
        self._down: set[str] = set()  # webhooks unreachable at their last try
        self.delivered = 0
        self.progress = 0  # warnings settled (delivered, refused or without a webhook)

    def poll_once(self) -> int:
        """Read what one poll returns and send the groups that are due; how many records were
        read (the loop's idle clock)."""
        read = 0
        for tp, records in self._consumer.poll(timeout_ms=500, max_records=500).items():
            self.topic = tp.topic
            for record in records:
                self._read(tp.partition, record.offset, record.value)
                read += 1
        self._send_ready()
        safe = self._digests.safe_offsets()
        if safe and safe != self._committed:
            offsets = {TopicPartition(self.topic, p): o for p, o in safe.items()}
            commit_offsets(self._consumer, offsets, "may be sent again")
            self._committed = safe
        self.last_batch_at = time.monotonic()
        return read

    def _read(self, partition: int, offset: int, value: bytes | None) -> None:
        try:
            warning = CaseWarning.model_validate_json(value or b"")
        except (ValidationError, ValueError):
            log.warning("alerts.cases[%d]@%d is no case warning; skipped", partition, offset)
            self._digests.read(partition, offset)
            return
        item = Item(warning.department_code, warning.warning_id, value or b"", partition, offset)
        self._digests.add(item, self._clock())

    def _send_ready(self) -> None:
        for department, items in self._digests.ready(self._clock()):
            warnings = [CaseWarning.model_validate_json(i.value) for i in items]
            outcome = self._deliver(department, warnings)
            if outcome == "unreachable":
                continue  # kept: the next round tries again
            digests_sent.labels(outcome=outcome).inc()
            self._digests.sent(department, items, self._clock())
            self.progress += len(items)

    def _deliver(self, department: str, warnings: list[CaseWarning]) -> str:
        client = self._client_for(department)
        if client is None:
            return "no_webhook"
        result = client.send(
            digest_id(department, warnings), render_digest(department, warnings, client.fmt)
        )
        if result.outcome == "unreachable":
            if client.where not in self._down:
                self._say(f"notify: webhook {client.where} unreachable ({result.detail}); kept")
            self._down.add(client.where)
            return "unreachable"
        self._down.discard(client.where)
        if result.outcome == "delivered":
            self.delivered += len(warnings)
        else:
            log.warning("webhook %s refused %s's warnings (%s)", client.where, department,
                        result.detail)  # fmt: skip
        return result.outcome

    @property
    def outage(self) -> bool:
        """A webhook is unreachable: waiting on it is not a stall (runtime/poll_watchdog.py)."""
        return bool(self._down)

    def run(self, *, idle_exit_s: float | None = None) -> None:
        poll_until_stopped(self.poll_once, self._should_stop, idle_exit_s=idle_exit_s)
