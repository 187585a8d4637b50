"""The screening rules, from the settings (their defaults are the settings' defaults)."""

from __future__ import annotations

from runtime.settings import Settings
from streams.screening.screener import LIMITED, ScreenRules, channel_set


def rules_from(settings: Settings) -> ScreenRules:
    s = settings
    return ScreenRules(
        limits={
            (sender, span): getattr(s, f"screen_{sender}_per_{span}") for sender, span in LIMITED
        },
        departments_per_day=s.screen_departments_per_day,
        burst_run=s.screen_burst_run,
        burst_gap_s=s.screen_burst_gap_s,
        share_alpha=s.screen_share_alpha,
        share_min_total=s.screen_share_min_total,
        transaction_channels=channel_set(s.screen_transaction_channels),
        horizon_s=s.screen_horizon_hours * 3600,
    )
