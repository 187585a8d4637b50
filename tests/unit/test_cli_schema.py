"""`haochaping schema`: the JSON Schema of each message a team writes, and one line for a wrong
choice. No service is needed."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from haochaping.cli import cli


@pytest.mark.parametrize(
    ("of", "title", "field"),
    [
        (None, "raw evaluation", "evaluated_at"),
        ("transaction", "completed transaction", "completed_at"),
        ("case-event", "CaseEvent", "truthful"),
        ("case-action", "CaseAction", "actor_role"),
    ],
)
def test_each_message_has_its_schema(of: str | None, title: str, field: str) -> None:
    args = ["schema", *(["--of", of] if of else [])]
    result = CliRunner().invoke(cli, args, env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    schema = json.loads(result.stdout)
    assert title in schema.get("title", "") and field in schema["properties"]


def test_a_wrong_choice_is_one_line() -> None:
    result = CliRunner().invoke(cli, ["schema", "--of", "cases"])
    assert result.exit_code == 1
    assert "--of must be one of evaluation, transaction, case-event, case-action" in result.output
    assert "Traceback" not in result.output
