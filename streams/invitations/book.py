"""What the invitations step knows of one transaction, and the decisions on it. Pure: an entry
is a plain dict (the table's JSON value), times are epoch seconds.

An entry: ``due`` once the 办件 is known (when invitations are on), ``default_due`` (when
default ratings are on), with ``offer`` (the 办件's fields) while it may still be invited or
rated by default; ``rated`` once a first-round evaluation is, ``invited`` and ``defaulted``
(when) once done, and ``expires``: the horizon after the later of 办结 and evaluation, when the
entry is dropped.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from schemas.invitation import DefaultRating, Invitation
from schemas.transaction import Transaction

Entry = dict[str, Any]


@dataclass(frozen=True, slots=True)
class InvitationRules:
    after_s: float  # an unrated 办件 is invited this long after its 办结 (0: never)
    horizon_s: float  # how long an entry is kept, from its 办结 or its evaluation
    default_after_s: float = 0.0  # an unrated 办件 is rated 基本满意 this long after (0: never)

    @property
    def on(self) -> bool:
        return self.after_s > 0 or self.default_after_s > 0


def with_transaction(
    entry: Entry | None, transaction: Transaction, rules: InvitationRules
) -> Entry:
    """The entry once ``transaction`` is read (again: a resent 办件 changes no decision)."""
    completed = transaction.completed_at.timestamp()
    new = dict(entry or {})
    if rules.after_s > 0:
        new["due"] = completed + rules.after_s
    if rules.default_after_s > 0:
        new["default_due"] = completed + rules.default_after_s
    new["expires"] = max(new.get("expires", 0.0), completed + rules.horizon_s)
    if new.get("rated") or not (_may_invite(new) or _may_default(new)):
        return new  # never sent again: what it would say is not kept
    new["offer"] = {
        "transaction_id": transaction.transaction_id,
        "service_code": transaction.service_code,
        "department_code": transaction.department_code,
        "region_code": transaction.region_code,
        "channel": str(transaction.channel),
        "hall_code": transaction.hall_code,
        "window_code": transaction.window_code,
        "completed_at": completed,
    }
    return new


def with_evaluation(entry: Entry | None, evaluated_at: float, rules: InvitationRules) -> Entry:
    new = dict(entry or {})
    new.pop("offer", None)  # a rated 办件 is never invited: a third of the entry is enough
    new["rated"] = True
    new["expires"] = max(new.get("expires", 0.0), evaluated_at + rules.horizon_s)
    return new


def _may_invite(entry: Entry) -> bool:
    return entry.get("due") is not None and entry.get("invited") is None


def _may_default(entry: Entry) -> bool:
    return entry.get("default_due") is not None and entry.get("defaulted") is None


def pending(entry: Entry) -> bool:
    """Known, unrated and not invited: an invitation may still come due."""
    return "offer" in entry and not entry.get("rated") and _may_invite(entry)


def pending_default(entry: Entry) -> bool:
    """Known, unrated and not rated by default: a default rating may still come due."""
    return "offer" in entry and not entry.get("rated") and _may_default(entry)


def is_due(entry: Entry, now: float, rules: InvitationRules) -> bool:
    """Pending, due, and not so stale that the applicant would not remember it (a 办件 read
    past its horizon, after an outage or a replay)."""
    return pending(entry) and _within(entry, "due", now, rules)


def is_default_due(entry: Entry, now: float, rules: InvitationRules) -> bool:
    """Pending a default rating, due, and within the horizon (a 办件 read past it gets none:
    its evaluation could still be on its way, unseen)."""
    return pending_default(entry) and _within(entry, "default_due", now, rules)


def _within(entry: Entry, due: str, now: float, rules: InvitationRules) -> bool:
    """``entry[due]`` has come by ``now``, and its 办件's horizon has not passed."""
    return float(entry[due]) <= now < float(entry["offer"]["completed_at"]) + rules.horizon_s


def invitation(entry: Entry, now: float) -> Invitation:
    return Invitation(**_fields(entry), due_at=_utc(entry["due"]), invited_at=_utc(now))


def default_rating(entry: Entry, now: float) -> DefaultRating:
    return DefaultRating(**_fields(entry), defaulted_at=_utc(now))


def _fields(entry: Entry) -> dict[str, Any]:
    """What an invitation and a default rating both say of the 办件 (its kept ``offer``)."""
    offer = entry["offer"]
    return {**offer, "completed_at": _utc(offer["completed_at"])}


def invited(entry: Entry, now: float) -> Entry:
    """The entry once invited: when, and no longer what the 办件 was unless a default rating
    may still need it."""
    return _without_offer({**entry, "invited": now})


def defaulted(entry: Entry, now: float) -> Entry:
    return _without_offer({**entry, "defaulted": now})


def _without_offer(entry: Entry) -> Entry:
    if _may_invite(entry) or _may_default(entry):
        return entry
    return {k: v for k, v in entry.items() if k != "offer"}


def expired(entry: Entry, now: float) -> bool:
    return bool(entry.get("expires", 0.0) <= now)


def _utc(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)
