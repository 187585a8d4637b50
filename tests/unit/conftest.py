from __future__ import annotations

import pytest

from runtime.settings import Settings


@pytest.fixture(autouse=True)
def no_settings_files(monkeypatch: pytest.MonkeyPatch) -> None:
    """Unit tests see only the environment they set: not the checkout's generated
    .deploy/secrets.env (which `make test` writes before they run) nor a developer's .env."""
    monkeypatch.setitem(Settings.model_config, "env_file", None)
