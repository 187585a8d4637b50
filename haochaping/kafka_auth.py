"""The Kafka users of the pipeline and what each may do: SCRAM-SHA-512 logins on the SASL
listener of ``deploy/services.sh`` and the ACLs of the broker's StandardAuthorizer.

``deploy/services.sh up`` runs it three times (docs/security.md, Kafka authentication):

- ``--settle --env-file .deploy/kafka/sasl.env`` before the broker starts: every password
  the file lacks is added (from the environment, else random), none in it is changed yet;
- ``--format-scram --env-file ...`` when it formats a new storage: prints the
  ``kafka-storage format --add-scram`` argument that gives ``haochaping-admin`` its login from
  the start (salted, so the password itself is on no command line);
- ``--bootstrap 127.0.0.1:9094 --env-file ...`` once the broker answers: logs in as
  ``haochaping-admin`` (``--anonymous``: over the development PLAINTEXT listener), sets every
  user's SCRAM credential (a password given in the environment replaces the file's),
  creates the ACLs below and deletes any other ACL of these users, then writes the file.
  Running it again changes nothing.

Every topic and group ACL is PREFIXED on the configured name, so ``ratings.raw`` also covers
``ratings.raw-<suffix>`` (tests, a second environment): a name that merely starts like one
of ours is covered too, so do not create unrelated topics under these prefixes.
"""

from __future__ import annotations

import argparse
import base64
import os
import secrets
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from kafka import KafkaAdminClient
from kafka.admin import (
    ACL,
    ACLFilter,
    ACLOperation,
    ACLPermissionType,
    ACLResourcePatternType,
    ResourcePattern,
    ResourcePatternFilter,
    ResourceType,
    ScramMechanism,
    UserScramCredentialUpsertion,
)
from pydantic import SecretStr

from runtime.kafka_security import kafka_security
from runtime.settings import Settings

ADMIN = "haochaping-admin"
CHANNEL = "channel"
DEPARTMENT = "department"
WORKER = "worker"
SINK = "sink"
NOTIFY = "notify"

# user -> the variable of the env file (and of services.sh's environment) with its password
PASSWORD_VARS: dict[str, str] = {
    ADMIN: "KAFKA_SASL_ADMIN_PASSWORD",
    CHANNEL: "KAFKA_SASL_CHANNEL_PASSWORD",
    DEPARTMENT: "KAFKA_SASL_DEPARTMENT_PASSWORD",
    WORKER: "KAFKA_SASL_WORKER_PASSWORD",
    SINK: "KAFKA_SASL_SINK_PASSWORD",
    NOTIFY: "KAFKA_SASL_NOTIFY_PASSWORD",
}
# the node's own login on its CONTROLLER listener (SASL PLAIN: a controller cannot check SCRAM
# logins, they live in the metadata it serves); only server.properties uses it
CONTROLLER_PASSWORD_VAR = "KAFKA_SASL_CONTROLLER_PASSWORD"
SASL_BOOTSTRAP_VAR = "KAFKA_SASL_BOOTSTRAP"
PLAINTEXT_BOOTSTRAP_VAR = "KAFKA_PLAINTEXT_BOOTSTRAP"
SCRAM_ITERATIONS = 8192

Op = ACLOperation
READ, WRITE, CREATE, DESCRIBE = Op.READ, Op.WRITE, Op.CREATE, Op.DESCRIBE


@dataclass(frozen=True)
class Grant:
    """``user`` may (or, if not ``allow``, may not) do ``ops`` on resources of ``kind`` whose
    name starts with ``prefix``."""

    user: str
    kind: ResourceType
    prefix: str
    ops: tuple[ACLOperation, ...]
    allow: bool = True


def grants(settings: Settings) -> list[Grant]:
    """What each user may do. haochaping-admin is a super user (server.properties), no ACL."""
    s = settings
    topic, group = ResourceType.TOPIC, ResourceType.GROUP
    outputs = [
        s.topic_valid,
        s.topic_rejected,
        s.topic_alerts,
        s.topic_case_warnings,
        s.topic_suspect,
        s.topic_transactions_valid,
        s.topic_invitations,
        s.topic_default_ratings,
    ]
    landed = [*outputs, s.topic_windows, s.topic_cases]  # what the sink reads
    worker_ops = (READ, WRITE, CREATE, DESCRIBE, Op.DESCRIBE_CONFIGS)
    out = [
        # a channel writes evaluations, a department writes case events: nothing else
        Grant(CHANNEL, topic, s.topic_raw, (WRITE, DESCRIBE)),
        # the business systems' 办件 come in as the channel user too (issue 28)
        Grant(CHANNEL, topic, s.topic_transactions, (WRITE, DESCRIBE)),
        Grant(DEPARTMENT, topic, s.topic_cases, (WRITE, DESCRIBE)),
        Grant(DEPARTMENT, topic, s.topic_case_actions, (WRITE, DESCRIBE)),
        # the Faust worker reads its inputs, writes its outputs, and owns everything named
        # after its app id: its consumer group, changelogs, repartition and surge topics.
        # CREATE because Faust declares the topics it uses (they exist after `haochaping
        # topics`, but CreateTopics is authorized before "already exists" is answered).
        Grant(WORKER, topic, s.topic_raw, (READ, DESCRIBE, CREATE)),
        Grant(WORKER, topic, s.topic_cases, (READ, WRITE, DESCRIBE, CREATE)),
        Grant(WORKER, topic, s.topic_case_actions, (READ, DESCRIBE, CREATE)),
        Grant(WORKER, topic, s.topic_transactions, (READ, DESCRIBE, CREATE)),
        # the invitations step reads back the 办件 the transactions step wrote
        Grant(WORKER, topic, s.topic_transactions_valid, (READ, DESCRIBE)),
        # satisfaction.windows is the changelog of the window table: read on recovery
        Grant(WORKER, topic, s.topic_windows, (READ, WRITE, DESCRIBE, CREATE)),
        *(Grant(WORKER, topic, name, (WRITE, DESCRIBE, CREATE)) for name in outputs),
        Grant(WORKER, topic, f"{s.app_id}-", worker_ops),
        Grant(WORKER, group, s.app_id, (READ, DESCRIBE)),
        # the sink reads what it lands, in its own group
        *(Grant(SINK, topic, name, (READ, DESCRIBE)) for name in landed),
        Grant(SINK, group, s.sink_group, (READ, DESCRIBE)),
        # the notifiers face the internet's webhooks: alerts.spikes (surges) and alerts.cases
        # (the departments' case warnings) only, in their own groups
        Grant(NOTIFY, topic, s.topic_alerts, (READ, DESCRIBE)),
        Grant(NOTIFY, topic, s.topic_case_warnings, (READ, DESCRIBE)),
        Grant(NOTIFY, group, s.notify_group, (READ, DESCRIBE)),
    ]
    for other in (s.sink_group, s.notify_group):
        if other.startswith(s.app_id):
            # "haochaping-sink" starts with the app id "haochaping": the worker's group
            # prefix would cover that group; a DENY (stronger than any ALLOW) keeps it out
            out.append(Grant(WORKER, group, other, (Op.ALL,), allow=False))
    return out


def acls(settings: Settings) -> list[ACL]:
    return [
        ACL(
            principal=f"User:{g.user}",
            host="*",
            operation=op,
            permission_type=ACLPermissionType.ALLOW if g.allow else ACLPermissionType.DENY,
            resource_pattern=ResourcePattern(g.kind, g.prefix, ACLResourcePatternType.PREFIXED),
        )
        for g in grants(settings)
        for op in g.ops
    ]


def _key(acl: ACL) -> tuple[object, ...]:
    p = acl.resource_pattern
    return (
        acl.principal,
        acl.host,
        int(acl.operation),
        int(acl.permission_type),
        int(p.resource_type),
        p.resource_name,
        int(p.pattern_type),
    )


def read_env_file(path: Path) -> dict[str, str]:
    values: dict[str, str] = {}
    if path.exists():
        for line in path.read_text().splitlines():
            name, sep, value = line.partition("=")
            if sep and not line.lstrip().startswith("#"):
                values[name.strip()] = value.strip()
    return values


def passwords(kept: Mapping[str, str], environ: Mapping[str, str]) -> dict[str, str]:
    """Each user's password: given in ``environ``, else ``kept`` (the file's), else new."""
    return {
        user: environ.get(var) or kept.get(var) or secrets.token_urlsafe(24)
        for user, var in PASSWORD_VARS.items()
    }


def settled(path: Path, environ: Mapping[str, str]) -> dict[str, str]:
    """The file's values with every missing password added (from ``environ``, else random).
    A password already in the file stays until the broker has taken the new one (``apply``):
    the admin logs in with it. The controller's is read at the broker's start only, so a new
    one in ``environ`` replaces it here."""
    values = read_env_file(path)
    for var in (*PASSWORD_VARS.values(), CONTROLLER_PASSWORD_VAR):
        if var == CONTROLLER_PASSWORD_VAR and environ.get(var):
            values[var] = environ[var]
        values.setdefault(var, environ.get(var) or secrets.token_urlsafe(24))
    return values


def format_scram(user: str, password: str, salt: bytes | None = None) -> str:
    """The ``--add-scram`` argument of ``kafka-storage format`` for ``user``: its SCRAM-SHA-512
    salt and salted password (as kafka-python derives them for the admin API), never the
    password itself."""
    credential = UserScramCredentialUpsertion(
        user, ScramMechanism.SCRAM_SHA_512, password, iterations=SCRAM_ITERATIONS, salt=salt
    )
    encode = base64.b64encode
    return (
        f"SCRAM-SHA-512=[name={user},iterations={SCRAM_ITERATIONS},"
        f'salt="{encode(credential.salt).decode()}",'
        f'saltedpassword="{encode(credential.salted_password).decode()}"]'
    )


def write_env_file(path: Path, values: Mapping[str, str]) -> None:
    """Written whole, mode 0600 from the start (never readable by others, even briefly)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.unlink(missing_ok=True)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write("# Kafka logins of haochaping (docs/security.md, Kafka authentication)\n")
        out.writelines(f"{name}={value}\n" for name, value in values.items())
    os.replace(tmp, path)


def apply(admin: KafkaAdminClient, settings: Settings, logins: Mapping[str, str]) -> list[str]:
    """Set the users and their ACLs; returns what changed, one line each."""
    report = []
    errors = admin.alter_user_scram_credentials(
        [
            UserScramCredentialUpsertion(
                user, ScramMechanism.SCRAM_SHA_512, password, iterations=SCRAM_ITERATIONS
            )
            for user, password in logins.items()
        ]
    )
    failed = {user: message for user, message in errors.items() if message}
    if failed:
        raise RuntimeError(f"SCRAM credentials refused: {failed}")
    report.append(f"SCRAM-SHA-512 credentials set: {', '.join(logins)}")

    wanted = {_key(acl): acl for acl in acls(settings)}
    existing: dict[tuple[object, ...], ACL] = {}
    for user in PASSWORD_VARS:
        found, _ = admin.describe_acls(_user_filter(user))  # raises on an error
        existing.update((_key(acl), acl) for acl in found)
    stale = [acl for key, acl in existing.items() if key not in wanted]
    if stale:
        admin.delete_acls([_exact_filter(acl) for acl in stale])
        report.extend(f"ACL deleted: {_describe(acl)}" for acl in stale)
    missing = [acl for key, acl in wanted.items() if key not in existing]
    if missing:
        result = admin.create_acls(missing)
        if result.get("failed"):
            raise RuntimeError(f"ACLs refused: {result['failed']}")
    report.append(f"ACLs: {len(wanted)} in force ({len(missing)} created, {len(stale)} deleted)")
    return report


def _user_filter(user: str) -> ACLFilter:
    return ACLFilter(
        principal=f"User:{user}",
        host=None,
        operation=ACLOperation.ANY,
        permission_type=ACLPermissionType.ANY,
        resource_pattern=ResourcePatternFilter(ResourceType.ANY, None, ACLResourcePatternType.ANY),
    )


def _exact_filter(acl: ACL) -> ACLFilter:
    p = acl.resource_pattern
    return ACLFilter(
        principal=acl.principal,
        host=acl.host,
        operation=acl.operation,
        permission_type=acl.permission_type,
        resource_pattern=ResourcePatternFilter(p.resource_type, p.resource_name, p.pattern_type),
    )


def _describe(acl: ACL) -> str:
    p = acl.resource_pattern
    return (
        f"{acl.principal} {acl.permission_type.name} {acl.operation.name} on "
        f"{p.resource_type.name} {p.pattern_type.name} {p.resource_name!r}"
    )


def describe_grants(settings: Settings) -> Iterable[str]:
    for g in grants(settings):
        verb = "may" if g.allow else "may NOT"
        ops = ", ".join(op.name for op in g.ops)
        yield f"{g.user} {verb} {ops} on {g.kind.name.lower()}s prefixed {g.prefix!r}"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m haochaping.kafka_auth", description=__doc__)
    parser.add_argument("--bootstrap", help="the listener to apply through")
    parser.add_argument(
        "--anonymous",
        action="store_true",
        help="--bootstrap is the development PLAINTEXT listener (ANONYMOUS is a super user)",
    )
    parser.add_argument("--sasl-bootstrap", default="", help="SASL listener, noted in the file")
    parser.add_argument("--env-file", type=Path, help="passwords file (0600)")
    parser.add_argument("--print", action="store_true", help="only print the grants")
    parser.add_argument("--settle", action="store_true", help="only add missing passwords")
    parser.add_argument(
        "--format-scram", action="store_true", help="print the admin's --add-scram argument"
    )
    return parser


def _admin(
    args: argparse.Namespace, settings: Settings, kept: Mapping[str, str]
) -> KafkaAdminClient:
    """A client of the broker as a super user: ANONYMOUS on the development listener, else
    haochaping-admin with the password the broker has (the file's, before any change)."""
    login = settings  # PLAINTEXT
    if not args.anonymous:
        password = kept.get(PASSWORD_VARS[ADMIN])
        if not password:
            raise SystemExit(f"kafka auth: no {PASSWORD_VARS[ADMIN]} in {args.env_file}")
        login = settings.model_copy(
            update={
                "kafka_security_protocol": "SASL_PLAINTEXT",
                "kafka_sasl_mechanism": "SCRAM-SHA-512",
                "kafka_sasl_username": ADMIN,
                "kafka_sasl_password": SecretStr(password),
            }
        )
    return KafkaAdminClient(
        bootstrap_servers=args.bootstrap.split(","),
        client_id="haochaping-kafka-auth",
        request_timeout_ms=15_000,
        bootstrap_timeout_ms=10_000,
        **kafka_security(login),
    )


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    # topic names, app id and sink group as the clients see them (HAOCHAPING_* and .env);
    # the Kafka login of the clients plays no part here
    settings = Settings(kafka_security_protocol="PLAINTEXT")
    if args.print:
        print("\n".join(describe_grants(settings)))
        return 0
    if not args.env_file:
        parser.error("--env-file is required (or --print)")
    if args.settle:
        write_env_file(args.env_file, settled(args.env_file, os.environ))
        return 0
    kept = read_env_file(args.env_file)
    if args.format_scram:
        print(format_scram(ADMIN, kept[PASSWORD_VARS[ADMIN]]))
        return 0
    if not args.bootstrap:
        parser.error("--bootstrap is required (or --settle, --format-scram, --print)")

    logins = passwords(kept, os.environ)
    admin = _admin(args, settings, kept)
    try:
        for line in apply(admin, settings, logins):
            print(f"kafka auth: {line}")
    finally:
        admin.close()
    values = dict(kept) | {PASSWORD_VARS[user]: password for user, password in logins.items()}
    values.pop(PLAINTEXT_BOOTSTRAP_VAR, None)
    if args.anonymous:
        values[PLAINTEXT_BOOTSTRAP_VAR] = args.bootstrap
    if args.sasl_bootstrap:
        values[SASL_BOOTSTRAP_VAR] = args.sasl_bootstrap
    write_env_file(args.env_file, values)
    print(f"kafka auth: passwords in {args.env_file} (mode 0600)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
