"""What a person asks to do with a case: actions on ``cases.actions`` (Kafka key: ``case_id``).

The office and the departments act in the browser (issue 27); each action is a request, not a
fact. The worker's case step (streams/cases/rules.py) judges it against the case as the events
so far made it: an accepted action becomes its event on ``cases.events`` (what the sink lands
and every indicator reads), a refused one lands on ``ratings.rejected`` with reason
``action_refused`` and a message in Chinese and English. So the event log stays the one source
of truth and a replay of both topics rebuilds every case and every verdict.

Contract decisions:

* ``action_id`` is chosen by the client, unique per action (a UUID): a replayed action gets the
  verdict recorded the first time, never a second one.
* ``actor`` is a user id, never a name; ``actor_role`` and ``actor_departments`` are what the
  signed-in user was when acting, stamped by the web server from the session, not typed by the
  user. Only processes with write access to ``cases.actions`` (SASL, docs/security.md) may send.
* ``at`` carries a UTC offset and lies in 2000..2099, as on ``cases.events``.
* ``note`` is free text and may hold personal data: it is never echoed in a refusal.
"""

from __future__ import annotations

from typing import Annotated, Any, Final, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from pydantic_core import ErrorDetails, PydanticCustomError

from schemas.cases import NOTE_MAX, CaseId, Code, UtcDatetime
from schemas.codes import RejectReason
from schemas.errors import FieldRules, translate

ActionKind = Literal[
    "route",  # 转办: the office sends the case to a department (also how it grants a 退单)
    "request_reroute",  # 退单: the department says the case is not its own
    "refuse_reroute",  # the office keeps the case where it is
    "verify",  # 核实: 属实? 合理? which category?
    "call_back",  # 回访, with its outcome
    "rectify",  # 整改, with what was done (note)
    "rate_rectification",  # the citizen's rating of the rectification
    "appeal",  # 申诉: the department holds the review malicious or mistaken
    "uphold_appeal",  # 复核: the office agrees; the review leaves the official rates
    "reject_appeal",
    "close",
    "confirm_suspect",  # screening verdicts on a suspect evaluation (ratings.suspect)
    "clear_suspect",
]
ACTION_KINDS: Final[tuple[str, ...]] = ActionKind.__args__  # type: ignore[attr-defined]
ActorRole = Literal["office", "department", "analyst"]
ACTOR_ROLES: Final[tuple[str, ...]] = ActorRole.__args__  # type: ignore[attr-defined]
# 差评类别 of a verified bad review: the usual headings of provincial 差评 handling (attitude,
# efficiency, policy, system, premises, other); docs/analyst-guide.md section 8 maps them.
Category = Literal["attitude", "efficiency", "policy", "system", "premises", "other"]
CATEGORIES: Final[tuple[str, ...]] = Category.__args__  # type: ignore[attr-defined]
CallbackOutcome = Literal["reached", "unreachable", "declined"]
Satisfaction = Literal[
    "satisfied", "basically_satisfied", "unsatisfied"
]  # 满意 / 基本满意 / 不满意
ACTION_ID_MAX: Final = 64

# the fields each action must carry, besides the common ones
_NEEDS: Final[dict[str, tuple[str, ...]]] = {
    "route": ("department_code",),
    "verify": ("truthful", "reasonable", "category"),
    "call_back": ("outcome",),
    "rate_rectification": ("satisfaction",),
    # the suspect's department, as its page shows it: the verdict's row in case_events
    "confirm_suspect": ("department_code",),
    "clear_suspect": ("department_code",),
}


class CaseAction(BaseModel):
    """One thing a signed-in person asks to do with a case."""

    model_config = ConfigDict(strict=True, extra="ignore", frozen=True, title="CaseAction")

    action_id: Annotated[str, Field(min_length=1, max_length=ACTION_ID_MAX)]
    case_id: Annotated[
        CaseId, Field(description="= evaluation_id of the bad review (or of the suspect)")
    ]
    action: ActionKind
    at: Annotated[UtcDatetime, Field(description="when the person acted, with a UTC offset")]
    actor: Annotated[str, Field(min_length=1, max_length=64, description="user id, not a name")]
    actor_role: ActorRole
    actor_departments: Annotated[
        tuple[Code, ...], Field(max_length=64, description="a department user's departments")
    ] = ()
    department_code: Annotated[
        Code | None, Field(description="route: the department the case goes to")
    ] = None
    truthful: bool | None = None  # verify: 属实
    reasonable: bool | None = None  # verify: 合理
    category: Category | None = None  # verify
    outcome: CallbackOutcome | None = None  # call_back
    satisfaction: Satisfaction | None = None  # rate_rectification
    note: Annotated[str | None, Field(max_length=NOTE_MAX, description="free text")] = None

    @model_validator(mode="after")
    def _carries_what_it_needs(self) -> Self:
        missing = [name for name in _NEEDS.get(self.action, ()) if getattr(self, name) is None]
        if missing:
            raise PydanticCustomError(
                "action_missing",
                "{fields}: required when action is {action!r}",
                {"fields": ", ".join(missing), "action": self.action},
            )
        return self

    def kafka_key(self) -> bytes:
        return self.case_id.encode()

    def to_json_bytes(self) -> bytes:
        return self.model_dump_json(exclude_none=True).encode()


def case_action_json_schema() -> dict[str, Any]:
    return CaseAction.model_json_schema()


_REQUIRED: Final = frozenset(
    name for name, field in CaseAction.model_fields.items() if field.is_required()
)


def parse_case_action(raw: bytes | None) -> CaseAction | tuple[RejectReason, str]:
    """A well-formed action, or why not (reason code, message). Never raises."""
    if not raw:
        return RejectReason.NOT_JSON, "empty message"
    try:
        return CaseAction.model_validate_json(bytes(raw))
    except ValidationError as exc:
        return translate(bytes(raw), exc.errors(include_url=False)[0], _RULES)
    except Exception as exc:  # a bug here costs one message, not the agent
        return RejectReason.INVALID_FIELD, f"internal error while checking: {type(exc).__name__}"


def _special(err: ErrorDetails, where: str) -> tuple[RejectReason, str] | None:
    if err["type"] == "action_missing":
        return RejectReason.MISSING_FIELD, err["msg"]
    return None


_RULES: Final = FieldRules(
    required=_REQUIRED,
    timestamps=frozenset({"at"}),
    timestamp_example="2026-10-08T10:15:00+08:00",
    reasons={},
    rules={
        "action": f"must be one of {', '.join(ACTION_KINDS)}",
        "actor_role": f"must be one of {', '.join(ACTOR_ROLES)}",
        "category": f"must be one of {', '.join(CATEGORIES)}",
        "at": "must lie in 2000..2099, with a UTC offset",
    },
    special=_special,
)
