"""Shared test fixtures: paths to real data and an isolated keelwatch home per test."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = REPO_ROOT.parent / "shared" / "data"
IN_CI = os.environ.get("CI") == "true"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The read-only real vulnerability data beside the repository."""
    if not SHARED_DATA.is_dir():
        if IN_CI:
            pytest.fail(f"shared data missing at {SHARED_DATA}")
        pytest.skip("shared data not present")
    return SHARED_DATA


@pytest.fixture(autouse=True)
def keelwatch_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own data directory, so nothing leaks between tests."""
    home = tmp_path / "kw-home"
    monkeypatch.setenv("KEELWATCH_HOME", str(home))
    monkeypatch.delenv("KEELWATCH_DB_URL", raising=False)
    return home
