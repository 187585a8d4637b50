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
from collections.abc import Callable
from typing import Any, Final

from prometheus_client import Counter
from pydantic import ValidationError

from notify.digest import Digests, Item
from notify.grouped import GroupedNotifier
from notify.messages import WECOM_MAX_BYTES, clip_utf8, escape_markdown
from notify.webhook import WebhookClient
from runtime.clock import CHINA
from schemas.cases import CaseWarning
from schemas.catalogue import DEPARTMENT_NAMES

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


class CaseNotifier(GroupedNotifier):
    def __init__(
        self,
        consumer: Any,
        client_for: Callable[[str], WebhookClient | None],
        digests: Digests,
        **loop: Any,
    ) -> None:
        super().__init__(consumer, digests, **loop)
        self._client_for = client_for

    def _read(self, partition: int, offset: int, value: bytes | None) -> None:
        try:
            warning = CaseWarning.model_validate_json(value or b"")
        except (ValidationError, ValueError):
            log.warning("alerts.cases[%d]@%d is no case warning; skipped", partition, offset)
            self._digests.read(partition, offset)
            return
        item = Item(warning.department_code, warning.warning_id, value or b"", partition, offset)
        self._digests.add(item, self._clock())

    def _deliver(self, department: str, items: list[Item]) -> str:
        warnings = [CaseWarning.model_validate_json(i.value) for i in items]
        client = self._client_for(department)
        if client is None:
            outcome = "no_webhook"
        else:
            outcome = self._post(
                client,
                digest_id(department, warnings),
                render_digest(department, warnings, client.fmt),
                f"{department}'s warnings",
            )
        if outcome == "delivered":
            self.delivered += len(warnings)
        if outcome != "unreachable":
            digests_sent.labels(outcome=outcome).inc()
        return outcome
