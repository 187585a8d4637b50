"""The Kafka login of the clients (runtime/kafka_security.py) and the ACLs of the SCRAM users
(haochaping/kafka_auth.py), without a broker."""

from __future__ import annotations

import base64
import hashlib
import re
import stat
from pathlib import Path

import pytest
from kafka.admin import ACLOperation, ACLPermissionType, ResourceType

from haochaping.cli.common import kafka_unreachable
from haochaping.kafka_auth import (
    ADMIN,
    CHANNEL,
    CONTROLLER_PASSWORD_VAR,
    DEPARTMENT,
    NOTIFY,
    PASSWORD_VARS,
    SINK,
    WORKER,
    acls,
    format_scram,
    grants,
    passwords,
    read_env_file,
    settled,
    write_env_file,
)
from runtime.kafka_security import kafka_security
from runtime.settings import Settings
from streams.worker.kafka import faust_credentials


def sasl(**values: str) -> Settings:
    return Settings(
        kafka_security_protocol="SASL_PLAINTEXT",
        kafka_sasl_username="worker",
        kafka_sasl_password="s3cret",
        **values,
    )


def test_plaintext_is_the_default_and_logs_in_as_nobody() -> None:
    settings = Settings()
    assert kafka_security(settings) == {"security_protocol": "PLAINTEXT"}
    assert faust_credentials(settings) is None


def test_a_sasl_login_reaches_kafka_python_and_faust() -> None:
    settings = sasl()
    assert kafka_security(settings) == {
        "security_protocol": "SASL_PLAINTEXT",
        "sasl_mechanism": "SCRAM-SHA-512",
        "sasl_plain_username": "worker",
        "sasl_plain_password": "s3cret",
    }
    credentials = faust_credentials(settings)
    assert credentials is not None
    assert (credentials.username, credentials.password) == ("worker", "s3cret")
    assert credentials.mechanism.value == "SCRAM-SHA-512"
    assert credentials.protocol.value == "SASL_PLAINTEXT"


def test_sasl_without_a_password_is_refused() -> None:
    with pytest.raises(ValueError, match="kafka_sasl_password"):
        Settings(kafka_security_protocol="SASL_PLAINTEXT", kafka_sasl_username="worker")


def allowed(user: str, op: ACLOperation, kind: ResourceType, name: str) -> bool:
    """What the StandardAuthorizer decides from our (all PREFIXED) ACLs: a DENY wins."""
    matching = [
        acl
        for acl in acls(Settings())
        if acl.principal == f"User:{user}"
        and acl.resource_pattern.resource_type == kind
        and name.startswith(acl.resource_pattern.resource_name)
        and acl.operation in (op, ACLOperation.ALL)
    ]
    if any(acl.permission_type == ACLPermissionType.DENY for acl in matching):
        return False
    return bool(matching)


TOPIC, GROUP = ResourceType.TOPIC, ResourceType.GROUP
READ, WRITE = ACLOperation.READ, ACLOperation.WRITE


@pytest.mark.parametrize(
    ("user", "op", "kind", "name", "expected"),
    [
        (CHANNEL, WRITE, TOPIC, "ratings.raw", True),
        (CHANNEL, WRITE, TOPIC, "ratings.raw-test1", True),
        (CHANNEL, READ, TOPIC, "ratings.raw", False),  # raw personal data
        (CHANNEL, WRITE, TOPIC, "cases.events", False),
        (CHANNEL, WRITE, TOPIC, "ratings.valid", False),
        (DEPARTMENT, WRITE, TOPIC, "cases.events", True),
        (DEPARTMENT, WRITE, TOPIC, "ratings.raw", False),
        (DEPARTMENT, READ, TOPIC, "cases.events", False),
        (WORKER, READ, TOPIC, "ratings.raw", True),
        (WORKER, WRITE, TOPIC, "ratings.raw", False),
        (WORKER, READ, TOPIC, "cases.events", True),
        (WORKER, WRITE, TOPIC, "ratings.valid", True),
        (WORKER, WRITE, TOPIC, "haochaping-dedupe-changelog", True),
        (WORKER, ACLOperation.CREATE, TOPIC, "haochaping-surge-minutes", True),
        (WORKER, READ, GROUP, "haochaping", True),
        (WORKER, READ, GROUP, "haochaping-sink", False),  # the DENY
        (SINK, READ, TOPIC, "ratings.valid", True),
        (SINK, READ, TOPIC, "cases.events", True),
        (SINK, READ, TOPIC, "ratings.raw", False),
        (SINK, WRITE, TOPIC, "ratings.valid", False),
        (SINK, READ, GROUP, "haochaping-sink", True),
        (SINK, READ, GROUP, "haochaping", False),
        (SINK, READ, GROUP, "haochaping-notify", False),
        (NOTIFY, READ, TOPIC, "alerts.spikes", True),
        (NOTIFY, READ, TOPIC, "ratings.rejected", False),
        (NOTIFY, READ, TOPIC, "ratings.raw", False),
        (NOTIFY, READ, GROUP, "haochaping-notify", True),
        (NOTIFY, READ, GROUP, "haochaping-sink", False),
        (WORKER, READ, GROUP, "haochaping-notify", False),
    ],
)
def test_what_each_user_may_do(
    user: str, op: ACLOperation, kind: ResourceType, name: str, expected: bool
) -> None:
    assert allowed(user, op, kind, name) is expected


def test_acls_follow_the_configured_names() -> None:
    settings = Settings(topic_raw="prod.ratings.raw", app_id="hcp", sink_group="sinks")
    prefixes = {(g.user, g.prefix) for g in grants(settings)}
    assert (CHANNEL, "prod.ratings.raw") in prefixes
    assert (WORKER, "hcp-") in prefixes
    # the sink's group no longer starts with the app id: no DENY needed
    assert all(g.allow for g in grants(settings))


def test_passwords_are_kept_given_or_made(tmp_path: Path) -> None:
    path = tmp_path / "sasl.env"
    first = passwords(read_env_file(path), {})
    assert set(first) == set(PASSWORD_VARS) and len(set(first.values())) == len(first)
    write_env_file(path, {PASSWORD_VARS[user]: pw for user, pw in first.items()})
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    again = passwords(read_env_file(path), {PASSWORD_VARS[SINK]: "given"})
    assert again == {**first, SINK: "given"}
    assert read_env_file(path)[PASSWORD_VARS[CHANNEL]] == first[CHANNEL]


def test_settling_adds_missing_passwords_and_changes_none(tmp_path: Path) -> None:
    """Before the broker starts: a password the file has is the one the broker has, and the
    admin logs in with it, so a new one given in the environment waits for ``apply``; only
    the controller's (read at the broker's start) is taken at once."""
    path = tmp_path / "sasl.env"
    write_env_file(path, {PASSWORD_VARS[ADMIN]: "kept-admin-password", "OTHER": "x"})
    values = settled(
        path,
        {
            PASSWORD_VARS[ADMIN]: "new-admin-password",
            PASSWORD_VARS[SINK]: "given-sink-password",
            CONTROLLER_PASSWORD_VAR: "given-controller-password",
        },
    )
    assert values[PASSWORD_VARS[ADMIN]] == "kept-admin-password"
    assert values[PASSWORD_VARS[SINK]] == "given-sink-password"
    assert values[CONTROLLER_PASSWORD_VAR] == "given-controller-password"
    assert values["OTHER"] == "x"
    made = {values[PASSWORD_VARS[user]] for user in (CHANNEL, DEPARTMENT, WORKER, NOTIFY)}
    assert len(made) == 4 and all(len(pw) >= 24 for pw in made)


def test_the_admin_login_for_the_storage_format_holds_no_password() -> None:
    salt = b"0123456789abcdefghijklmn"
    argument = format_scram(ADMIN, "the-admin-password", salt=salt)
    found = re.fullmatch(
        r'SCRAM-SHA-512=\[name=haochaping-admin,iterations=8192,salt="([^"]+)",'
        r'saltedpassword="([^"]+)"\]',
        argument,
    )
    assert found, argument
    assert "the-admin-password" not in argument
    assert base64.b64decode(found.group(1)) == salt
    # RFC 5802's Hi(): what a SCRAM client computes from the salt the broker sends it
    expected = hashlib.pbkdf2_hmac("sha512", b"the-admin-password", salt, 8192)
    assert base64.b64decode(found.group(2)) == expected
    assert format_scram(ADMIN, "the-admin-password") != format_scram(ADMIN, "the-admin-password")


def test_a_client_without_a_login_is_told_where_the_broker_is() -> None:
    """The broker of `make up` takes logins only (issue 29): a command run outside the checkout
    (no .deploy/secrets.env) tries the PLAINTEXT default and must say what to do."""
    anonymous = kafka_unreachable(Settings())
    assert "127.0.0.1:9092 is unreachable" in anonymous
    assert "127.0.0.1:9094" in anonymous and "_SECURITY_PROTOCOL=SASL_PLAINTEXT" in anonymous
    logged_in = kafka_unreachable(sasl(kafka_bootstrap="127.0.0.1:9094"))
    assert logged_in == "Kafka at 127.0.0.1:9094 is unreachable; start it with `make up`"
