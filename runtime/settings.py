"""The one place where hosts, ports, topic names and thresholds are read from the environment.

Every setting is an environment variable with the prefix ``HAOCHAPING_`` (for example
``HAOCHAPING_KAFKA_BOOTSTRAP=127.0.0.1:9092``); a ``.env`` file in the working directory is
read too, and before it ``.deploy/secrets.env``, where ``deploy/services.sh up`` generates the
evaluator secret and the ClickHouse passwords (the environment wins over both files, ``.env``
over the generated one). A program supervisord runs reads ``HAOCHAPING_ENV_FILE`` instead of
``.deploy/secrets.env``: a file with only the secrets it needs (deploy/supervise.sh).
``haochaping settings`` prints the values in force.

Secrets are ``SecretStr``: a repr, a log line or ``haochaping settings`` shows ``**********``
or "(set, N chars)", never the value; the one place that needs a secret reads it with
``.get_secret_value()``. A test holds every setting named *secret*, *password*, *token* or
*key* to that.
"""

from __future__ import annotations

import os
from datetime import date
from functools import lru_cache
from typing import Any, Literal, get_args

from pydantic import AliasChoices, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# what a worker process runs: everything, or one of the two halves `make up` runs apart
WorkerRole = Literal["all", "ingest", "follow-up"]
WORKER_ROLES: tuple[str, ...] = get_args(WorkerRole)


def _surge_env(name: str) -> AliasChoices:
    """A surge setting's environment variable, or the one it had before issue 30's rename
    (``HAOCHAPING_SPIKE_*``), which deployments may still set."""
    return AliasChoices(
        f"HAOCHAPING_SURGE_{name.upper()}", f"HAOCHAPING_SPIKE_{name.upper()}", f"surge_{name}"
    )


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="HAOCHAPING_",
        # a supervised program reads its own secrets file instead (deploy/supervise.sh)
        env_file=(os.environ.get("HAOCHAPING_ENV_FILE") or ".deploy/secrets.env", ".env"),
        extra="ignore",
        # a field with an alias (clickhouse_public_password) is still set by its name in code
        populate_by_name=True,
    )

    # --- Kafka
    kafka_bootstrap: str = Field(
        "127.0.0.1:9092", description="Kafka bootstrap servers, host:port[,host:port]"
    )
    kafka_security_protocol: Literal["PLAINTEXT", "SASL_PLAINTEXT"] = Field(
        "PLAINTEXT",
        description="PLAINTEXT (no login), or SASL_PLAINTEXT to log in with a SCRAM user "
        "(kafka_bootstrap then names the SASL listener; docs/security.md, Kafka authentication)",
    )
    kafka_sasl_mechanism: Literal["SCRAM-SHA-512", "SCRAM-SHA-256"] = Field(
        "SCRAM-SHA-512", description="SASL mechanism of the Kafka login"
    )
    kafka_sasl_username: str = Field(
        "", description="Kafka SCRAM user (channel, department, worker, sink, haochaping-admin)"
    )
    kafka_sasl_password: SecretStr = Field(
        SecretStr(""),
        description="password of kafka_sasl_username (deploy/services.sh keeps them in "
        ".deploy/kafka/sasl.env)",
    )
    topic_raw: str = Field("ratings.raw", description="raw evaluations from the channels")
    topic_valid: str = Field(
        "ratings.valid", description="accepted, normalized, scrubbed evaluations"
    )
    topic_rejected: str = Field("ratings.rejected", description="rejected messages with a reason")
    topic_windows: str = Field("satisfaction.windows", description="window counts per dimension")
    topic_alerts: str = Field(
        "alerts.spikes", description="bad-review surge alert lifecycle events"
    )
    topic_transactions: str = Field(
        "transactions.done",
        description="completed transactions (办件) from the business systems: what 评价率 "
        "counts against",
    )
    topic_transactions_valid: str = Field(
        "transactions.valid", description="checked 办件, keyed by transaction_id"
    )
    topic_invitations: str = Field(
        "invitations",
        description="主动邀评: one record per 办件 left unrated after invitation_after_hours, "
        "for the SMS channel to invite its applicant",
    )
    invitation_after_hours: float = Field(
        72.0,
        ge=0,
        description="hours after its 办结 time an unrated 办件 is invited to be rated (0: no "
        "invitations, and ingest writes no evaluated-transaction records for them)",
    )
    topic_default_ratings: str = Field(
        "ratings.default",
        description="默认评价: one record per 办件 still unrated default_rating_after_days after "
        "its 办结 (when that is on); never an evaluation, counted apart",
    )
    default_rating_after_days: float = Field(
        0.0,
        ge=0,
        description="days after its 办结 time an unrated 办件 is rated 基本满意 by default, as "
        "Guangdong's 7 natural days (0, the default: never); default ratings never enter the "
        "raw or official 好评率",
    )
    topic_partitions: int = Field(
        4,
        ge=1,
        # the rekeyed topic's partitions count as sources p + 10000 (streams/ingest/rekey.py)
        le=9_999,
        description="partitions of every topic `haochaping topics` creates",
    )
    topic_replication: int = Field(
        1,
        ge=1,
        description="replication factor of every topic, the worker's internal and changelog "
        "topics included (3 on a three-broker cluster: docs/scaling.md)",
    )
    topic_min_insync_replicas: int = Field(
        1,
        ge=1,
        description="min.insync.replicas of every topic: replicas that must have a record "
        "before an acks=all producer is answered (2 on a three-broker cluster); at most "
        "topic_replication",
    )
    topic_retention_hours: int = Field(7 * 24, ge=1, description="retention of the topics, hours")
    topic_max_message_bytes: int = Field(
        1_048_576,
        ge=65_536,
        description="largest record the topics accept (max.message.bytes); the worker's "
        "producer matches it, and a rejection keeps at most a 64 KB prefix, so it always fits",
    )

    # --- Faust worker
    app_id: str = Field(
        "haochaping", description="Faust application id (consumer group, changelog prefix)"
    )
    worker_role: WorkerRole = Field(
        "all",
        description="the agents this worker runs: 'all'; 'ingest' (ratings.raw: check, dedupe, "
        "windows, screening facts, case openings); or 'follow-up' (surges, screening, case "
        "follow-up), so that the two run as two processes on two cores",
    )
    worker_data_dir: str = Field(".data/faust", description="Faust's local state directory")
    worker_web_port: int = Field(
        6066, description="Faust web / Prometheus metrics port of the worker"
    )
    # as large as the Faust floor's take(5000): the window entries and dedupe records a batch
    # writes are per key and partition, so a larger batch writes fewer per evaluation
    batch_size: int = Field(5000, ge=1, description="evaluations per processing batch")
    # what an evaluation waits at most before its batch is processed: at live rates this is in
    # every evaluation's latency (issue 31: p99 < 1 s to ClickHouse); a backlog fills a batch
    # of batch_size at once, whatever the wait
    batch_within_s: float = Field(0.2, gt=0, description="longest wait to fill a batch, seconds")
    ingest_reader: Literal["direct", "faust"] = Field(
        "direct",
        description="how the ingest half reads ratings.raw: 'direct' (a consumer of its own, a "
        "fetched batch at a time, offsets in the group '<app_id>-raw'; Faust still assigns the "
        "partitions and restores the state: streams/worker/direct.py) or 'faust' (an agent's "
        "stream, event by event, as before issue 31)",
    )
    clock_skew_s: int = Field(
        300, ge=0, description="how far in the future evaluated_at may be, seconds"
    )
    allowed_lateness_s: int = Field(
        3600,
        ge=0,
        description="the short horizon: evaluations older than this on arrival are marked late "
        "and counted in no minute window (surge detection, rolling hour), seconds",
    )
    late_horizon_days: int = Field(
        30,
        ge=1,
        description="the long horizon: evaluations up to this old on arrival still count in "
        "their day window (and month); older ones are marked beyond_horizon and counted in no "
        "window; a day's state is dropped once it has passed; at most dedupe_ttl_days",
    )
    transaction_horizon_days: int = Field(
        15,
        ge=1,
        description="how long after its evaluation a 办件 may still arrive: a first-round "
        "evaluation whose transaction is still unknown after this is counted apart as "
        "without a transaction (`haochaping coverage`)",
    )
    dedupe_ttl_days: int = Field(
        30, ge=1, description="how long evaluation and transaction ids are remembered"
    )
    evaluator_secret: SecretStr = Field(
        SecretStr(""),
        description="key of the evaluator_id hash, at least 32 bytes; required unless "
        "demo_mode is on",
    )
    demo_mode: bool = Field(
        False,
        description="allow the built-in or a short evaluator secret (demo and tests only)",
    )

    # --- surge alerts
    surge_alpha: float = Field(
        1e-4,
        gt=0,
        lt=1,
        validation_alias=_surge_env("alpha"),
        description="family-wise significance per dimension and minute",
    )
    surge_min_bad: int = Field(
        5,
        ge=1,
        validation_alias=_surge_env("min_bad"),
        description="fewest bad reviews that can raise an alert",
    )
    surge_min_rate_ratio: float = Field(
        3.0,
        ge=1,
        validation_alias=_surge_env("min_rate_ratio"),
        description="observed / expected bad rate needed to raise an alert",
    )
    surge_grace_s: int = Field(
        15,
        ge=0,
        validation_alias=_surge_env("grace_s"),
        description="event time to wait past a minute before judging it, seconds",
    )
    surge_idle_s: int = Field(
        60,
        ge=0,
        validation_alias=_surge_env("idle_s"),
        description="a ratings.raw partition that sent no minute counts for this long stops "
        "holding the surge clock back, seconds",
    )
    surge_early_every_s: int = Field(
        20,
        ge=0,
        le=60,
        validation_alias=_surge_env("early_every_s"),
        description="a minute still in progress is judged on its counts so far each time "
        "event time passes this many more seconds into it, seconds (0: never)",
    )
    surge_early_alpha: float = Field(
        1e-5,
        gt=0,
        lt=1,
        validation_alias=_surge_env("early_alpha"),
        description="significance of each early look at a minute in progress",
    )
    surge_recheck_s: int = Field(
        600,
        ge=0,
        validation_alias=_surge_env("recheck_s"),
        description="a judged minute that late evaluations change is judged again until this "
        "long after its end, seconds (0: never)",
    )
    surge_second_looks: int = Field(
        2,
        ge=0,
        le=10,
        validation_alias=_surge_env("second_looks"),
        description="how many times at most a judged minute is judged again",
    )
    alert_update_every_s: int = Field(
        300, ge=60, description="least time between two `updated` events of an alert, seconds"
    )
    alert_quiet_minutes: int = Field(
        3, ge=1, description="quiet minutes after which an alert is resolved"
    )

    # --- notifier: alerts.spikes → webhook (`haochaping notify`)
    webhook_url: str = Field(
        "", description="POST every alert event here (empty: `haochaping notify` has nothing to do)"
    )
    webhook_format: Literal["generic", "dingtalk", "wecom"] = Field(
        "generic", description="body of the webhook: generic JSON, DingTalk or WeCom robot"
    )
    webhook_secret: SecretStr = Field(
        SecretStr(""),
        description="signing key: generic JSON gets an X-Haochaping-Signature HMAC header, "
        "DingTalk the robot's 加签 signature; optional",
    )
    webhook_timeout_s: float = Field(5.0, gt=0, le=60, description="timeout of one webhook POST")
    webhook_group_wait_s: float = Field(
        10.0,
        ge=0,
        le=600,
        description="chat formats: an incident's first alert event waits this long for the "
        "rest (a department's surge and its services' open within seconds)",
    )
    webhook_group_interval_s: float = Field(
        60.0, ge=0, le=3600, description="chat formats: at most one message per incident this often"
    )
    notify_group: str = Field(
        "haochaping-notify", description="consumer group of the notifier on alerts.spikes"
    )
    notify_stall_s: float = Field(
        60.0,
        ge=10,
        description="alert events waiting this long with no delivery attempt: the notifier "
        "exits with status 75 for its supervisor to restart it",
    )
    notify_lookback_minutes: int = Field(
        60,
        ge=0,
        le=7 * 24 * 60,
        description="a notifier group that never committed starts this far back in "
        "alerts.spikes, not at its start (a new webhook gets the last hour, not a week)",
    )
    notify_metrics_port: int = Field(
        9465, description="Prometheus metrics port of the notifier (0: off)"
    )
    # --- case warnings → each department's webhook (`haochaping notify --stream cases`)
    case_webhooks: dict[str, str] = Field(
        {},
        description='JSON {"<department code>": "<url>", "*": "<url for every other>"}; empty: '
        "the case notifier idles",
    )
    case_webhook_format: Literal["generic", "dingtalk", "wecom"] = Field(
        "generic", description="body of the case webhooks: generic JSON, DingTalk or WeCom robot"
    )
    case_group_wait_s: float = Field(
        30.0, ge=0, le=3600, description="a department's first warning waits this long for more"
    )
    case_group_interval_s: float = Field(
        300.0, ge=0, le=86_400, description="at most one message per department this often"
    )
    notify_cases_metrics_port: int = Field(
        9466, description="Prometheus metrics port of the case notifier (0: off)"
    )

    # --- follow-up of bad reviews (cases)
    topic_cases: str = Field("cases.events", description="case events (routed, called_back, …)")
    topic_case_warnings: str = Field("alerts.cases", description="overdue warnings (超期预警)")
    topic_case_actions: str = Field(
        "cases.actions",
        description="what the office and the departments ask to do with a case (转办, 核实, …); "
        "the worker judges each and writes the accepted ones to cases.events",
    )

    # --- screening of fake and malicious evaluations (issue 16; docs/analyst-guide.md)
    topic_suspect: str = Field(
        "ratings.suspect", description="one event per flagged evaluation: reasons and score"
    )
    screen_evaluator_per_minute: int = Field(
        3, ge=1, description="most evaluations one evaluator makes in a minute"
    )
    screen_evaluator_per_hour: int = Field(
        10, ge=1, description="most evaluations one evaluator makes in an hour"
    )
    screen_evaluator_per_day: int = Field(
        20, ge=1, description="most evaluations one evaluator makes in a day"
    )
    screen_device_per_minute: int = Field(
        6, ge=1, description="most evaluations one device (pad, kiosk, app install) sends a minute"
    )
    screen_device_per_hour: int = Field(120, ge=1, description="… an hour")
    screen_device_per_day: int = Field(600, ge=1, description="… a day")
    screen_network_per_minute: int = Field(
        40, ge=1, description="most evaluations one /24 (IPv4) or /48 (IPv6) sends a minute"
    )
    screen_network_per_hour: int = Field(600, ge=1, description="… an hour")
    screen_departments_per_day: int = Field(
        4, ge=1, description="most distinct departments one evaluator evaluates in a day"
    )
    screen_burst_run: int = Field(
        6, ge=2, description="top ratings in a row at one hall window or staff member that …"
    )
    screen_burst_gap_s: int = Field(
        15, ge=1, description="… each come within this many seconds of the one before: a burst"
    )
    screen_share_alpha: float = Field(
        1e-5,
        gt=0,
        lt=1,
        description="a hall window's top ratings in an hour are flagged when that many are less "
        "likely than this by chance, given its usual share and its hall's",
    )
    screen_share_min_total: int = Field(
        12, ge=1, description="evaluations a window needs in an hour before its share is judged"
    )
    screen_transaction_channels: str = Field(
        "counter,kiosk,sms",
        description="channels whose evaluations must carry a transaction_id (comma-separated)",
    )
    screen_horizon_hours: int = Field(
        48, ge=1, description="how long the screening keeps state past an evaluation's event time"
    )
    case_callback_working_days: int = Field(
        1, ge=1, description="working days to call the citizen back after a bad review"
    )
    case_rectification_working_days: int = Field(
        15, ge=1, description="working days to rectify and report back after a bad review"
    )
    case_escalate_working_days: int = Field(
        3,
        ge=1,
        description="督办: a deadline still missed this many working days after it escalates "
        "(escalated_1 on alerts.cases), and twice as many after it again (escalated_2)",
    )
    case_retention_days: int = Field(
        35,
        ge=31,
        description="days a finished case is kept after it finished (longer than the 30-day "
        "dedupe horizon, so a resent bad review cannot reopen it)",
    )
    case_pending_days: int = Field(
        31,
        ge=1,
        description="days events of a case that never opened wait for it, then go; more than "
        "late_horizon_days, since a bad review may arrive that late after a department reported "
        "on it",
    )
    case_extra_holidays: str = Field(
        "",
        description="comma-separated YYYY-MM-DD public holidays for years chinese-calendar "
        "does not know yet (it also overrides it)",
    )
    case_extra_workdays: str = Field(
        "", description="comma-separated YYYY-MM-DD make-up working days (调休) for such years"
    )

    # --- ClickHouse
    clickhouse_host: str = Field("127.0.0.1", description="ClickHouse host")
    clickhouse_port: int = Field(9000, description="ClickHouse native protocol port")
    clickhouse_alt_hosts: str = Field(
        "",
        description="other replicas, host:port[,host:port]: the sink, the migrations and the "
        "CLI connect to the first of clickhouse_host:clickhouse_port and these that answers, "
        "and to the next when it goes away (empty: one server)",
    )
    clickhouse_cluster: str = Field(
        "",
        description="ClickHouse cluster name (remote_servers): migrations then run ON CLUSTER "
        "into Replicated*MergeTree tables, with <table>_all Distributed tables for reads "
        "(empty: one server, plain MergeTree tables; docs/scaling.md)",
    )
    clickhouse_http_port: int = Field(
        8123, description="ClickHouse HTTP port (used only by make up)"
    )
    clickhouse_user: str = Field(
        "haochaping_writer", description="ClickHouse user of the sink and migrations"
    )
    clickhouse_password: SecretStr = Field(
        SecretStr(""),
        description="password of clickhouse_user (make up generates it: .deploy/secrets.env)",
    )
    clickhouse_analyst_user: str = Field(
        "haochaping_analyst",
        description="read-only ClickHouse user of `haochaping report` and `haochaping problems`",
    )
    clickhouse_analyst_password: SecretStr = Field(
        SecretStr(""),
        description="password of clickhouse_analyst_user (generated like the writer's)",
    )
    clickhouse_database: str = Field("haochaping", description="ClickHouse database")
    clickhouse_public_user: str = Field(
        "haochaping_evaluator",
        description="read-only ClickHouse user of the dashboard's public page: it may read "
        "only the aggregates in <clickhouse_database>_public",
    )
    clickhouse_public_password: SecretStr = Field(
        SecretStr(""),
        # deploy/services.sh keeps it as CLICKHOUSE_EVALUATOR_PASSWORD in .deploy/secrets.env
        validation_alias=AliasChoices(
            "HAOCHAPING_CLICKHOUSE_PUBLIC_PASSWORD", "CLICKHOUSE_EVALUATOR_PASSWORD"
        ),
        description="password of clickhouse_public_user (make up generates it: "
        "CLICKHOUSE_EVALUATOR_PASSWORD in .deploy/secrets.env)",
    )

    # --- dashboard (`haochaping dashboard`)
    dashboard_host: str = Field(
        "127.0.0.1", description="address the dashboard binds to (loopback: this machine only)"
    )
    dashboard_port: int = Field(8080, ge=1, le=65535, description="port of the dashboard")
    dashboard_cache_s: float = Field(
        10.0,
        ge=0,
        le=3600,
        description="seconds the dashboard keeps a query's answer (0: none); pages refresh "
        "every 30 s and share it, which spares the analyst's quota",
    )
    dashboard_public_per_minute: int = Field(
        60,
        ge=1,
        le=100_000,
        description="requests one client may make to the public page and its data a minute "
        "(the evaluator's ClickHouse quota is shared by every anonymous visitor)",
    )
    dashboard_min_total: int = Field(
        20, ge=1, description="evaluations a department, service item or hall needs to be ranked"
    )
    # --- the work-order pages of the dashboard (issue 27: /login, /inbox, /cases, /supervision)
    users_file: str = Field(
        ".deploy/users.json",
        description="who may sign in to the work-order pages (`haochaping users add`); mode 0600",
    )
    dashboard_session_secret: SecretStr = Field(
        SecretStr(""),
        description="key that signs the session cookies (empty: a random one per process, so "
        "a restart signs everyone out)",
    )
    dashboard_open_pages: bool = Field(
        False,
        description="the office's pages (all but /public) readable without signing in: only "
        "where every local user may read comments and evaluations",
    )
    dashboard_session_hours: float = Field(
        8.0, gt=0, le=24 * 7, description="a sign-in lasts this long"
    )
    dashboard_allowed_hosts: list[str] = Field(
        ["127.0.0.1", "localhost", "::1"],
        description="Host header values the work-order pages answer (the names users type)",
    )
    login_max_failures: int = Field(
        5, ge=1, description="wrong passwords for a user id or from an address before a pause"
    )
    login_window_s: float = Field(
        900.0, gt=0, description="the pause, and the window the failures are counted in"
    )

    # --- sink
    sink_group: str = Field("haochaping-sink", description="consumer group of the ClickHouse sink")
    sink_batch_rows: int = Field(5000, ge=1, description="rows per ClickHouse insert, at most")
    # at most 4 inserts a second per table, above ClickHouse's "about one a second" but far
    # from where parts pile up; 1.0 s put a second into an evaluation's way to ClickHouse
    sink_batch_s: float = Field(0.25, gt=0, description="longest wait before an insert, seconds")
    worker_stall_s: float = Field(
        60.0,
        ge=10,
        description="evaluations waiting this long with no batch processed: the worker exits "
        "with status 75 for its supervisor to restart it",
    )
    sink_stall_s: float = Field(
        60.0,
        ge=10,
        description="records waiting this long with nothing landed (ClickHouse up): the sink "
        "exits with status 75 for its supervisor to restart it",
    )
    sink_metrics_port: int = Field(9464, description="Prometheus metrics port of the sink (0: off)")
    retention_days: int = Field(3 * 365, ge=1, description="days of rows kept in ClickHouse")

    @field_validator("case_extra_holidays", "case_extra_workdays")
    @classmethod
    def _valid_dates(cls, value: str) -> str:
        _dates(value)  # raises ValueError, naming the setting, on a wrong date
        return value

    @model_validator(mode="after")
    def _horizons_fit(self) -> Settings:
        # A resend after its dedupe claim expired must not be counted in its day again: with
        # the horizon within the dedupe TTL, such a resend is always beyond the horizon.
        if self.late_horizon_days > self.dedupe_ttl_days:
            raise ValueError(
                f"late_horizon_days ({self.late_horizon_days}) must not exceed dedupe_ttl_days "
                f"({self.dedupe_ttl_days}): a resend older than the dedupe horizon would be "
                "counted twice"
            )
        if self.allowed_lateness_s > self.late_horizon_days * 86_400:
            raise ValueError("allowed_lateness_s must not exceed late_horizon_days")
        # Events that came before their case must outwait the latest arrival of its review.
        if self.case_pending_days <= self.late_horizon_days:
            raise ValueError(
                f"case_pending_days ({self.case_pending_days}) must exceed late_horizon_days "
                f"({self.late_horizon_days}): a department's event may wait that long for its "
                "bad review"
            )
        return self

    @model_validator(mode="after")
    def _default_rating_fits(self) -> Settings:
        days = self.default_rating_after_days
        if days <= 0:
            return self
        # the entry that remembers the 办件 is dropped at the horizon
        if days >= self.transaction_horizon_days:
            raise ValueError(
                f"default_rating_after_days ({days}) must be less than transaction_horizon_days "
                f"({self.transaction_horizon_days}): the 办件 is forgotten by then"
            )
        if self.invitation_after_hours > 0 and days * 24 <= self.invitation_after_hours:
            raise ValueError(
                f"default_rating_after_days ({days}) must come after invitation_after_hours "
                f"({self.invitation_after_hours} h): a 办件 is invited before it is rated "
                "by default"
            )
        return self

    @model_validator(mode="after")
    def _replicas_fit(self) -> Settings:
        if self.topic_min_insync_replicas > self.topic_replication:
            raise ValueError(
                f"topic_min_insync_replicas ({self.topic_min_insync_replicas}) must not exceed "
                f"topic_replication ({self.topic_replication}): no write could be acknowledged"
            )
        return self

    @model_validator(mode="after")
    def _sasl_login_complete(self) -> Settings:
        if self.kafka_security_protocol.startswith("SASL_") and not (
            self.kafka_sasl_username and self.kafka_sasl_password.get_secret_value()
        ):
            raise ValueError(
                "kafka_security_protocol is SASL_PLAINTEXT: set kafka_sasl_username and "
                "kafka_sasl_password too"
            )
        return self

    @property
    def reads_raw_directly(self) -> bool:
        """Whether the ingest half reads ratings.raw with its own consumer, committing in
        the group ``<app_id>-raw`` (streams/worker/direct.py), rather than through Faust."""
        return self.ingest_reader == "direct"

    @property
    def follows_unrated(self) -> bool:
        """Whether the worker follows 办件 nobody rated: invitations or default ratings on."""
        return self.invitation_after_hours > 0 or self.default_rating_after_days > 0

    @property
    def case_extra_holiday_dates(self) -> list[date]:
        return _dates(self.case_extra_holidays)

    @property
    def case_extra_workday_dates(self) -> list[date]:
        return _dates(self.case_extra_workdays)

    @property
    def clickhouse_servers(self) -> list[str]:
        """host:port of every ClickHouse replica, the first one tried first."""
        alt = [s.strip() for s in self.clickhouse_alt_hosts.split(",") if s.strip()]
        return [f"{self.clickhouse_host}:{self.clickhouse_port}", *alt]

    @property
    def kafka_servers(self) -> list[str]:
        return [s.strip() for s in self.kafka_bootstrap.split(",") if s.strip()]


def _dates(text: str) -> list[date]:
    return [date.fromisoformat(part.strip()) for part in text.split(",") if part.strip()]


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()


def default(name: str) -> Any:
    """The default of setting ``name``: the one place a threshold's default is written. The
    rules' dataclasses take theirs from here (streams/*/config.py maps settings to rules)."""
    return Settings.model_fields[name].default
