"""The surge step's rules, from the settings (their defaults are the settings' defaults)."""

from __future__ import annotations

from runtime.settings import Settings
from streams.surges.detector import SurgeConfig
from streams.surges.step import SurgeRules


def rules_from(settings: Settings) -> SurgeRules:
    s = settings
    return SurgeRules(
        SurgeConfig(
            alpha=s.surge_alpha,
            early_alpha=s.surge_early_alpha,
            min_bad=s.surge_min_bad,
            min_rate_ratio=s.surge_min_rate_ratio,
        ),
        s.surge_grace_s,
        s.alert_update_every_s,
        s.alert_quiet_minutes,
        s.surge_idle_s,
        s.surge_recheck_s,
        s.surge_second_looks,
        s.surge_early_every_s,
        # a quarter of the record limit: a record of pending partials is never near it
        record_bytes=s.topic_max_message_bytes // 4,
    )
