from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from clickhouse_driver import Client

from runtime.settings import Settings
from tests.integration.harness import cleanup, prepare, unique_settings


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    """Settings a test module needs changed; a module overrides this fixture."""
    return {}


@pytest.fixture
def settings(tmp_path: Path, settings_overrides: dict[str, Any]) -> Iterator[Settings]:
    """Unique topics, consumer groups, Faust app id and ClickHouse database for one test.

    The services themselves are started by `make test` (`make up`); when they are not
    running, these tests fail with the connection error: a missing broker is a failure here,
    never a skip.
    """
    value = unique_settings(tmp_path, **settings_overrides)
    yield value
    cleanup(value)


@pytest.fixture
def clickhouse(settings: Settings) -> Client:
    return prepare(settings)
