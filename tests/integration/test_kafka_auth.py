"""The SASL/SCRAM listener and the ACLs of deploy/services.sh (docs/security.md): a
channel may write evaluations but not case events, a department the other way round, and a
wrong password gets no connection at all.

`deploy/services.sh up` always opens the SASL listener and writes its address and the
passwords into .deploy/kafka/sasl.env; without them this test fails, it never skips.
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from kafka import KafkaAdminClient
from kafka.admin import NewTopic
from kafka.errors import KafkaTimeoutError, TopicAuthorizationFailedError

from channels.producer import ChannelProducer, DeliveryFailed
from channels.simulation import Simulator
from haochaping.kafka_auth import (
    ADMIN,
    CHANNEL,
    DEPARTMENT,
    NOTIFY,
    PASSWORD_VARS,
    PLAINTEXT_BOOTSTRAP_VAR,
    SASL_BOOTSTRAP_VAR,
    SINK,
    WORKER,
    read_env_file,
)
from haochaping.topics import ensure_topics
from runtime.kafka_security import kafka_security
from runtime.settings import Settings
from tests.integration.harness import (
    Service,
    cleanup,
    prepare,
    read_topic,
    scalar,
    send,
    unique_settings,
    wait_until,
)
from tests.integration.test_case_notify import publish, receiver, warning

pytestmark = pytest.mark.integration

SASL_ENV = Path(__file__).resolve().parents[2] / ".deploy" / "kafka" / "sasl.env"
# every wait of a client is bounded: a refusal must come quickly, or the test fails
BOUND_MS = 10_000


@pytest.fixture(scope="module")
def sasl_env() -> dict[str, str]:
    values = read_env_file(SASL_ENV)
    assert SASL_BOOTSTRAP_VAR in values, (
        f"{SASL_ENV} names no SASL listener: start the services with `deploy/services.sh up` "
        "(it opens one on KAFKA_SASL_PORT, 9094 unless set; KAFKA_SASL_PORT=0 turns it off)"
    )
    ours = Settings()
    broker = values.get(
        SASL_BOOTSTRAP_VAR
        if ours.kafka_security_protocol == "SASL_PLAINTEXT"
        else PLAINTEXT_BOOTSTRAP_VAR
    )
    assert broker == ours.kafka_bootstrap, (
        f"{SASL_ENV} belongs to the broker at {broker}, the tests use {ours.kafka_bootstrap}"
    )
    return values


def login(env: dict[str, str], user: str, password: str | None = None, **names: str) -> Settings:
    return Settings(
        kafka_bootstrap=env[SASL_BOOTSTRAP_VAR],
        kafka_security_protocol="SASL_PLAINTEXT",
        kafka_sasl_username=user,
        kafka_sasl_password=password if password is not None else env[PASSWORD_VARS[user]],
        **names,
    )


@pytest.fixture
def topics(sasl_env: dict[str, str]) -> Iterator[tuple[str, str]]:
    """A raw and a cases topic of this test, named under the ACLs' prefixes, made and
    deleted by haochaping-admin (a super user) over the SASL listener."""
    tag = uuid.uuid4().hex[:10]
    raw, cases = f"ratings.raw-{tag}", f"cases.events-{tag}"
    admin = KafkaAdminClient(
        bootstrap_servers=login(sasl_env, ADMIN).kafka_servers,
        request_timeout_ms=BOUND_MS,
        bootstrap_timeout_ms=BOUND_MS,
        **kafka_security(login(sasl_env, ADMIN)),
    )
    try:
        admin.create_topics([NewTopic(raw, 1, 1), NewTopic(cases, 1, 1)])
        yield raw, cases
    finally:
        admin.delete_topics([raw, cases], raise_errors=False)
        admin.close()


def producer(settings: Settings, topic: str) -> ChannelProducer:
    return ChannelProducer(
        settings.kafka_servers,
        topic,
        max_block_ms=BOUND_MS,
        bootstrap_timeout_ms=BOUND_MS,
        request_timeout_ms=BOUND_MS,
        **kafka_security(settings),
    )


def assert_writes(settings: Settings, allowed: str, refused: str) -> None:
    out = producer(settings, allowed)
    try:
        metadata = out.send_raw(b"k", b'{"probe": 1}').get(timeout=BOUND_MS / 1000)
        assert metadata.topic == allowed and metadata.offset >= 0
    finally:
        out.close()

    out = producer(settings, refused)
    try:
        with pytest.raises(TopicAuthorizationFailedError):
            out.send_raw(b"k", b'{"forged": 1}').get(timeout=BOUND_MS / 1000)
    finally:
        # the refused record is reported again by close(): that is the refusal, not news
        with contextlib.suppress(DeliveryFailed):
            out.close()


def anonymous_admin(address: str) -> KafkaAdminClient:
    return KafkaAdminClient(
        bootstrap_servers=[address],
        security_protocol="PLAINTEXT",
        request_timeout_ms=BOUND_MS,
        bootstrap_timeout_ms=BOUND_MS,
    )


def test_no_listener_takes_an_anonymous_client() -> None:
    """What `make up` and `make test` start has no anonymous listener (issue 29): a client
    without a login gets nothing from any listener of the broker, the controller's included.
    The broker of before had a PLAINTEXT listener where such a client could do anything
    (User:ANONYMOUS was a super user), and its controller listener took it too."""
    config = (SASL_ENV.parent / "server.properties").read_text()
    assert "mode: logins" in config, (
        "the broker was started with KAFKA_ANONYMOUS=1 (development): restart it without, "
        "`deploy/services.sh down && deploy/services.sh up`"
    )
    listeners = re.search(r"^listeners=(.*)$", config, re.M)
    assert listeners, config
    addresses = re.findall(r"//(127\.0\.0\.1:\d+)", listeners.group(1))
    for address in addresses:
        with pytest.raises(KafkaTimeoutError, match="Unable to bootstrap"):
            anonymous_admin(address).close()
    assert len(addresses) == 2, listeners.group(0)  # the SASL one and the controller's
    assert "User:ANONYMOUS" not in config


def test_channel_writes_evaluations_but_not_case_events(
    sasl_env: dict[str, str], topics: tuple[str, str]
) -> None:
    raw, cases = topics
    assert_writes(login(sasl_env, CHANNEL), allowed=raw, refused=cases)


def test_department_writes_case_events_but_not_evaluations(
    sasl_env: dict[str, str], topics: tuple[str, str]
) -> None:
    raw, cases = topics
    assert_writes(login(sasl_env, DEPARTMENT), allowed=cases, refused=raw)


def test_wrong_password_is_refused(
    sasl_env: dict[str, str], topics: tuple[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    raw, _ = topics
    wrong = login(sasl_env, CHANNEL, password=sasl_env[PASSWORD_VARS[CHANNEL]] + "x")
    with caplog.at_level(logging.WARNING, logger="kafka"), pytest.raises(KafkaTimeoutError):
        # kafka-python 3 retries a failed login until its bootstrap times out; why it
        # failed is in its log, checked below
        producer(wrong, raw).send_raw(b"k", b'{"forged": 1}').get(timeout=BOUND_MS / 1000)
    # refused: nothing of it reached the topic
    assert read_topic(login(sasl_env, ADMIN), raw, quiet_s=2.0) == []
    # and refused at the login: the broker answers SaslAuthenticationFailed ("invalid
    # credentials") and closes the connection; a client that reads the close first (seen in
    # CI, every retry of one run) only reports the disconnect in the middle of the exchange
    reasons = " ".join(record.getMessage() for record in caplog.records)
    answered = "SaslAuthenticationFailed" in reasons and "invalid credentials" in reasons
    cut_off = "during Sasl Authentication" in reasons and "socket disconnected" in reasons
    assert answered or cut_off, reasons


def test_worker_and_sink_run_as_their_users(sasl_env: dict[str, str], tmp_path: Path) -> None:
    """The whole pipeline over the SASL listener: the channel, the worker and the sink each
    log in as their own user, with the ACLs services.sh set for the default names (the
    topics, groups and app id of this test start with them)."""
    tag = uuid.uuid4().hex[:10]
    # every topic under its default name and the tag: the ACLs are prefixed by the defaults
    names: dict[str, str] = {
        name: f"{field.default}-{tag}"
        for name, field in Settings.model_fields.items()
        if name.startswith("topic_") and isinstance(field.default, str)
    }
    names |= {"app_id": f"haochaping-t{tag}", "sink_group": f"haochaping-sink-{tag}"}

    base = unique_settings(tmp_path, **names)

    def as_user(user: str) -> Settings:
        return base.model_copy(update=login(sasl_env, user).model_dump(include=LOGIN_FIELDS))

    admin = as_user(ADMIN)
    clickhouse = prepare(admin)
    messages = list(Simulator(seed=11).stream(200, scenario="malformed"))
    valid = sum(1 for m in messages if m.kind == "valid")
    worker = Service(as_user(WORKER), "worker", tmp_path / "worker.log")
    sink = Service(as_user(SINK), "sink", tmp_path / "sink.log")
    try:
        send(as_user(CHANNEL), ((m.key, m.value) for m in messages))
        wait_until(
            "every valid evaluation to land",
            lambda: scalar(clickhouse, "SELECT count() FROM ratings FINAL") >= valid,
            timeout=180,
            services=(worker, sink),
        )
        wait_until(
            "the rejected messages to land",
            lambda: (
                scalar(clickhouse, "SELECT count() FROM rejected FINAL") >= len(messages) - valid
            ),
            timeout=60,
            services=(worker, sink),
        )
    finally:
        worker.stop()
        sink.stop()
        cleanup(admin)
    for service in (worker, sink):
        assert "AuthorizationFailed" not in service.output(), service.output()[-3000:]


def test_the_case_notifier_reads_case_warnings_as_the_notify_user(
    sasl_env: dict[str, str], tmp_path: Path
) -> None:
    """`make up` runs both notifiers as `notify` (deploy/supervise.sh): the case notifier
    must read alerts.cases, in its group, with that user's ACLs and nothing more."""
    tag = uuid.uuid4().hex[:10]
    names = {
        "topic_case_warnings": f"alerts.cases-{tag}",
        "notify_group": f"haochaping-notify-{tag}",
    }
    with receiver() as (posts, base):
        settings = unique_settings(
            tmp_path, case_webhooks={"*": f"{base}/all"}, case_group_wait_s=1.0, **names
        )

        def as_user(user: str) -> Settings:
            return settings.model_copy(
                update=login(sasl_env, user).model_dump(include=LOGIN_FIELDS)
            )

        ensure_topics(as_user(ADMIN))
        publish(as_user(ADMIN), [warning("c-notify-user", "D-A")])
        notifier = Service(
            as_user(NOTIFY), "notify", tmp_path / "notify.log", "--stream", "cases"
        )
        try:
            wait_until("the warning at the webhook", lambda: len(posts) >= 1, services=[notifier])
        finally:
            notifier.stop()
    assert "AuthorizationFailed" not in notifier.output(), notifier.output()[-3000:]
    assert "c-notify-user" in json.dumps(posts, ensure_ascii=False)


LOGIN_FIELDS = {
    "kafka_bootstrap",
    "kafka_security_protocol",
    "kafka_sasl_username",
    "kafka_sasl_password",
}
