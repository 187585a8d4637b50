"""The decisions on one transaction's entry (issue 28, 主动邀评)."""

from __future__ import annotations

from datetime import UTC, datetime

from schemas.codes import Channel
from schemas.transaction import Transaction
from streams.invitations.book import (
    InvitationRules,
    default_rating,
    defaulted,
    expired,
    invitation,
    invited,
    is_default_due,
    is_due,
    with_evaluation,
    with_transaction,
)

RULES = InvitationRules(after_s=72 * 3600, horizon_s=15 * 86_400)
DONE = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)
T = DONE.timestamp()


def transaction(**changes: object) -> Transaction:
    values: dict[str, object] = {
        "transaction_id": "T1",
        "service_code": "S1",
        "department_code": "D1",
        "region_code": "310101",
        "channel": Channel.COUNTER,
        "channel_code": 4,
        "hall_code": "H1",
        "completed_at": DONE,
        "ingested_at": DONE,
    }
    values.update(changes)
    return Transaction(**values)  # type: ignore[arg-type]


def test_an_unrated_transaction_is_due_after_the_setting_and_until_its_horizon() -> None:
    entry = with_transaction(None, transaction(), RULES)
    assert not is_due(entry, T + RULES.after_s - 1, RULES)
    assert is_due(entry, T + RULES.after_s, RULES)
    assert is_due(entry, T + RULES.horizon_s - 1, RULES)
    assert not is_due(entry, T + RULES.horizon_s, RULES)  # too stale to ask about


def test_a_rated_transaction_is_never_due_whichever_came_first() -> None:
    before = with_transaction(with_evaluation(None, T + 60, RULES), transaction(), RULES)
    after = with_evaluation(with_transaction(None, transaction(), RULES), T + 60, RULES)
    for entry in (before, after):
        assert not is_due(entry, T + RULES.after_s + 1, RULES)


def test_an_invited_transaction_stays_invited_when_it_is_sent_again() -> None:
    entry = {**with_transaction(None, transaction(), RULES), "invited": T + RULES.after_s}
    again = with_transaction(entry, transaction(), RULES)
    assert again["invited"] == entry["invited"]
    assert not is_due(again, T + RULES.after_s + 10, RULES)


def test_an_evaluation_alone_is_never_due_and_expires_after_the_horizon() -> None:
    entry = with_evaluation(None, T, RULES)
    assert not is_due(entry, T + RULES.after_s, RULES)
    assert not expired(entry, T + RULES.horizon_s - 1)
    assert expired(entry, T + RULES.horizon_s)


def test_the_invitation_carries_the_transaction_and_no_applicant() -> None:
    entry = with_transaction(None, transaction(), RULES)
    sent = invitation(entry, T + RULES.after_s + 5)
    assert sent.transaction_id == "T1" and sent.hall_code == "H1"
    assert sent.completed_at == DONE
    assert (sent.invited_at - sent.due_at).total_seconds() == 5
    assert set(sent.model_dump()) == {
        "transaction_id", "service_code", "department_code", "region_code", "channel",
        "hall_code", "window_code", "completed_at", "due_at", "invited_at",
    }  # fmt: skip


DEFAULTS = InvitationRules(after_s=72 * 3600, horizon_s=15 * 86_400, default_after_s=7 * 86_400)


def test_an_invited_transaction_keeps_its_fields_until_its_default_rating() -> None:
    entry = with_transaction(None, transaction(), DEFAULTS)
    entry = invited(entry, T + DEFAULTS.after_s)
    assert "offer" in entry and is_default_due(entry, T + DEFAULTS.default_after_s, DEFAULTS)
    rating = default_rating(entry, T + DEFAULTS.default_after_s)
    assert rating.level == 3 and rating.transaction_id == "T1"
    done = defaulted(entry, T + DEFAULTS.default_after_s)
    assert "offer" not in done  # nothing more can come due: the fields are not kept
    assert not is_default_due(done, T + DEFAULTS.default_after_s + 1, DEFAULTS)


def test_without_default_ratings_an_invited_entry_drops_its_fields() -> None:
    entry = invited(with_transaction(None, transaction(), RULES), T + RULES.after_s)
    assert "offer" not in entry and "default_due" not in entry


def test_a_rated_transaction_gets_no_default_rating() -> None:
    entry = with_evaluation(with_transaction(None, transaction(), DEFAULTS), T + 60, DEFAULTS)
    assert not is_default_due(entry, T + DEFAULTS.default_after_s, DEFAULTS)


def test_a_default_rating_past_the_horizon_is_not_given() -> None:
    entry = with_transaction(None, transaction(), DEFAULTS)
    assert not is_default_due(entry, T + DEFAULTS.horizon_s, DEFAULTS)
