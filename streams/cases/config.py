"""The follow-up rules and the working calendar, from the settings."""

from __future__ import annotations

from runtime.settings import Settings
from streams.cases.book import CasePolicy
from streams.cases.deadlines import WorkingCalendar


def calendar_from(settings: Settings) -> WorkingCalendar:
    return WorkingCalendar(
        extra_holidays=settings.case_extra_holiday_dates,
        extra_workdays=settings.case_extra_workday_dates,
    )


def policy_from(settings: Settings) -> CasePolicy:
    s = settings
    return CasePolicy(
        callback_working_days=s.case_callback_working_days,
        rectification_working_days=s.case_rectification_working_days,
        escalate_working_days=s.case_escalate_working_days,
        retention_days=s.case_retention_days,
        pending_days=s.case_pending_days,
    )
