"""The follow-up loop of a bad review: events on ``cases.events`` (Kafka key: ``case_id``) and
deadline warnings (超期预警) on ``alerts.cases`` (Kafka key: ``case_id:deadline``).

Contract decisions (department teams read these):

* ``case_id`` is the bad review's ``evaluation_id``: one case per bad review, no second id to
  map.
* Types are strict as on ``ratings.raw``; unknown extra fields are ignored; ``null`` means
  absent.
* ``at`` (and ``evaluated_at``) must carry a UTC offset and lie in 2000..2099; they are kept in
  UTC. The upper bound keeps working-day arithmetic far from ``datetime.max``.
* ``opened`` must carry the evaluation: ``service_code``, ``level`` (1 or 2: only a 差评 opens a
  case) and ``evaluated_at``; its ``at`` is when the platform received the bad review and sent
  it to the department, and the deadlines count from that. Other events may omit them.
* ``note`` is free text from case handlers and may hold personal data: error messages never
  echo it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Final, Literal, Self

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    model_validator,
)
from pydantic_core import ErrorDetails, PydanticCustomError

from schemas.codes import RejectReason, is_bad
from schemas.errors import FieldRules, translate
from schemas.evaluation import CODE_MAX, COMMENT_MAX, EVALUATION_ID_MAX

CaseEventKind = Literal[
    "opened",
    "routed",
    # issue 27: steps the office and the departments take in the browser (cases.actions),
    # written here by the worker once it accepted them (streams/cases/rules.py)
    "reroute_requested",
    "reroute_refused",
    "verified",
    "called_back",
    "rectified",
    "rectification_rated",
    "appealed",
    "appeal_upheld",
    "appeal_rejected",
    "closed",
    # the office's review of a suspect evaluation (ratings.suspect); case_id = its evaluation_id
    "suspect_confirmed",
    "suspect_cleared",
]
# review events that are not steps of a bad review's follow-up: they travel on cases.events so
# that every human decision on an evaluation lands in one table, but open or move no case
SUSPECT_REVIEW_EVENTS: Final[tuple[str, ...]] = ("suspect_confirmed", "suspect_cleared")
CASE_EVENT_KINDS: Final[tuple[str, ...]] = CaseEventKind.__args__  # type: ignore[attr-defined]
Deadline = Literal["callback", "rectification"]
# escalated_1 / _2: the deadline is still missed N and 2N working days after it (督办 levels)
WarningKind = Literal["due_soon", "overdue", "escalated_1", "escalated_2"]

EARLIEST_AT: Final = datetime(2000, 1, 1, tzinfo=UTC)
LATEST_AT: Final = datetime(2100, 1, 1, tzinfo=UTC)
NOTE_MAX: Final = COMMENT_MAX


def _to_utc(value: datetime) -> datetime:
    try:
        utc = value.astimezone(UTC)
    except (OverflowError, ValueError):
        # e.g. 0001-01-01T00:00:00+08:00 has no UTC representation; pydantic only turns
        # ValueError-like errors into validation errors, an OverflowError would escape.
        raise PydanticCustomError("timestamp_out_of_range", "must lie in 2000..2099") from None
    if not EARLIEST_AT <= utc < LATEST_AT:
        raise PydanticCustomError("timestamp_out_of_range", "must lie in 2000..2099")
    return utc


UtcDatetime = Annotated[AwareDatetime, AfterValidator(_to_utc)]
CaseId = Annotated[str, Field(min_length=1, max_length=EVALUATION_ID_MAX)]
Code = Annotated[str, Field(min_length=1, max_length=CODE_MAX)]


class CaseEvent(BaseModel):
    """One step of a bad review's follow-up, as a department's system reports it."""

    model_config = ConfigDict(strict=True, extra="ignore", frozen=True, title="CaseEvent")

    case_id: Annotated[
        CaseId,
        Field(
            description="= evaluation_id of the bad review (of the suspect evaluation for "
            "suspect_confirmed / suspect_cleared)"
        ),
    ]
    event: CaseEventKind
    at: Annotated[UtcDatetime, Field(description="when the step happened, with a UTC offset")]
    department_code: Annotated[Code, Field(description="department reporting / routed to")]
    actor: Annotated[
        str | None, Field(max_length=CODE_MAX, description="handler id, not a name")
    ] = None
    note: Annotated[str | None, Field(max_length=NOTE_MAX, description="free text")] = None
    # The evaluation, required for `opened` only.
    service_code: Annotated[str | None, Field(min_length=1, max_length=CODE_MAX)] = None
    level: Annotated[int | None, Field(ge=1, le=5, strict=True)] = None
    evaluated_at: UtcDatetime | None = None
    # set by the platform on the `opened` events it derives from bad reviews, so ClickHouse
    # can tell an on-time rectification from a late one without a holiday calendar
    callback_due_at: UtcDatetime | None = None
    rectification_due_at: UtcDatetime | None = None
    # the action (cases.actions) this event was accepted from, and what it said
    action_id: Annotated[str | None, Field(max_length=64)] = None
    truthful: bool | None = None  # verified: 属实
    reasonable: bool | None = None  # verified: 合理
    category: Annotated[str | None, Field(max_length=CODE_MAX)] = None  # verified
    outcome: Annotated[str | None, Field(max_length=CODE_MAX)] = None  # called_back
    satisfaction: Annotated[str | None, Field(max_length=CODE_MAX)] = None  # rectification_rated

    @model_validator(mode="after")
    def _opened_carries_evaluation(self) -> Self:
        if self.event != "opened":
            return self
        missing = [
            name
            for name in ("service_code", "level", "evaluated_at")
            if getattr(self, name) is None
        ]
        if missing:
            raise PydanticCustomError(
                "opened_missing",
                "{fields}: required when event is 'opened'",
                {"fields": ", ".join(missing)},
            )
        if self.level is not None and not is_bad(self.level):
            raise PydanticCustomError(
                "opened_not_bad",
                "level: must be 1 or 2 when event is 'opened' (only a bad review opens a case), "
                "got {level}",
                {"level": self.level},
            )
        return self

    def kafka_key(self) -> bytes:
        return self.case_id.encode()

    def to_json_bytes(self) -> bytes:
        return self.model_dump_json(exclude_none=True).encode()

    @classmethod
    def from_json_bytes(cls, data: bytes | str) -> Self:
        return cls.model_validate_json(data)


def warning_key(case_id: str, deadline: Deadline) -> str:
    """Kafka key on ``alerts.cases``: both warnings of one deadline land on one partition, in
    order (due_soon before overdue)."""
    return f"{case_id}:{deadline}"


class CaseWarning(BaseModel):
    """超期预警: a deadline of a case is near (``due_soon``) or missed (``overdue``).

    ``at`` is when the warning fell due (``due_at`` for overdue), not when it was sent, so a
    warning re-sent after a crash is byte-identical and ``warning_id`` deduplicates it.
    """

    model_config = ConfigDict(frozen=True)

    case_id: str
    deadline: Deadline
    kind: WarningKind
    due_at: UtcDatetime
    at: UtcDatetime
    department_code: str

    @property
    def key(self) -> str:
        return warning_key(self.case_id, self.deadline)

    @property
    def warning_id(self) -> str:
        return f"{self.case_id}:{self.deadline}:{self.kind}"

    def kafka_key(self) -> bytes:
        return self.key.encode()

    def to_json_bytes(self) -> bytes:
        return self.model_dump_json().encode()

    @classmethod
    def from_json_bytes(cls, data: bytes | str) -> Self:
        return cls.model_validate_json(data)


# ---------------------------------------------------------------------------------------------
# Parsing with reason codes (the agent sends rejected events to a rejection topic/table).

_REQUIRED: Final = frozenset(
    name for name, field in CaseEvent.model_fields.items() if field.is_required()
)
_TIMESTAMPS: Final = frozenset({"at", "evaluated_at"})


def parse_case_event(raw: bytes) -> CaseEvent | tuple[RejectReason, str]:
    """A valid event, or why not (reason code, message). Never raises, whatever the bytes."""
    try:
        return _parse(raw)
    except Exception as exc:
        # A bug here must cost one message, not stop the agent.
        return RejectReason.INVALID_FIELD, f"internal error while checking: {type(exc).__name__}"


def _parse(raw: bytes) -> CaseEvent | tuple[RejectReason, str]:
    if not raw:
        # Kafka tombstones arrive as None values.
        return RejectReason.NOT_JSON, "empty message"
    if not isinstance(raw, bytes):
        raw = bytes(raw)
    try:
        return CaseEvent.model_validate_json(raw)
    except ValidationError as exc:
        return _rejection(raw, exc.errors(include_url=False)[0])


def _rejection(raw: bytes, err: ErrorDetails) -> tuple[RejectReason, str]:
    return translate(raw, err, _RULES)


def _special(err: ErrorDetails, where: str) -> tuple[RejectReason, str] | None:
    # the `opened` rules' own messages name fields and levels, never free text
    if err["type"] == "opened_missing":
        return RejectReason.MISSING_FIELD, err["msg"]
    if err["type"] == "opened_not_bad":
        return RejectReason.INVALID_LEVEL, err["msg"]
    return None


_RULES: Final = FieldRules(
    required=_REQUIRED,
    timestamps=_TIMESTAMPS,
    timestamp_example="2026-10-08T10:15:00+08:00",
    reasons={"level": RejectReason.INVALID_LEVEL},
    rules={
        "level": "must be an integer 1..5",
        "event": f"must be one of {', '.join(CASE_EVENT_KINDS)}",
        **{name: "must lie in 2000..2099, with a UTC offset" for name in _TIMESTAMPS},
    },
    special=_special,
)
