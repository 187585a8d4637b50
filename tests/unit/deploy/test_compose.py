"""deploy/compose.yaml, the Docker development stack: its Kafka is anonymous, so it must be
asked for as explicitly as deploy/services.sh's anonymous listener is (issue 29, part 3)."""

from __future__ import annotations

import re
from pathlib import Path

COMPOSE = Path(__file__).resolve().parents[3] / "deploy" / "compose.yaml"


def kafka_environment() -> dict[str, str]:
    """The kafka service's environment, read as flat ``NAME: value`` lines (no YAML parser
    in the project's dependencies; the block is flat)."""
    text = COMPOSE.read_text()
    block = text.split("\n  kafka:\n", 1)[1].split("\n    environment:\n", 1)[1]
    values = {}
    for line in block.splitlines():
        if not line.startswith("      "):
            break
        if match := re.match(r"\s+([A-Z_]+): (.*?)\s*(#.*)?$", line):
            values[match[1]] = match[2].strip('"')
    return values


def test_the_anonymous_stack_starts_only_with_kafka_anonymous_set() -> None:
    # compose refuses every command on a file whose ${VAR:?message} has VAR unset
    environment = kafka_environment()
    assert "SASL" not in environment["KAFKA_LISTENER_SECURITY_PROTOCOL_MAP"]  # anonymous, so:
    required = [v for v in environment.values() if v.startswith("${KAFKA_ANONYMOUS:?")]
    assert required and "development only" in required[0]


def test_no_topic_is_created_by_a_client_naming_it() -> None:
    assert kafka_environment()["KAFKA_AUTO_CREATE_TOPICS_ENABLE"] == "false"
