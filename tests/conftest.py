"""Shared test fixtures: paths to real data, an isolated keelwatch home per test, the store.

`store_url` / `store` are THE store fixtures of every test directory: each test using
them runs twice, on SQLite and on the real PostgreSQL at 127.0.0.1:5432 (trust auth;
a fresh database created from `test` per test and dropped afterwards). Outside CI an
unreachable server skips the PostgreSQL half; with CI=true it fails instead.
"""

from __future__ import annotations

import importlib.util
import os
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = REPO_ROOT.parent / "shared" / "data"
IN_CI = os.environ.get("CI") == "true"


def _load_hostile() -> None:
    """tests/hostile.py, the real-CLI runner and clean-failure checks of every test directory,
    as `keelwatch_test_hostile` (loaded by path, as tests/registry.py is)."""
    name = "keelwatch_test_hostile"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, Path(__file__).resolve().parent / "hostile.py")
        assert spec and spec.loader
        sys.modules[name] = module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)


_load_hostile()
PG_HOST = os.environ.get("KEELWATCH_TEST_PG", "127.0.0.1:5432")
PG_USER = os.environ.get("KEELWATCH_TEST_PG_USER", "postgres")


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


def _pg_admin() -> Any:
    import psycopg

    host, port = PG_HOST.split(":")
    return psycopg.connect(
        host=host, port=int(port), user=PG_USER, dbname="test", autocommit=True, connect_timeout=5
    )


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The URL of an empty store: a SQLite file, then a fresh PostgreSQL database."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'store.db'}"
        return
    try:
        admin = _pg_admin()
    except Exception as exc:  # noqa: BLE001 - any connection failure means "no server"
        if IN_CI:
            pytest.fail(f"PostgreSQL unreachable at {PG_HOST} in CI: {exc}")
        pytest.skip(f"PostgreSQL unreachable at {PG_HOST}: {exc}")
    name = f"kw_test_{uuid.uuid4().hex[:12]}"
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
        try:
            yield f"postgresql+psycopg://{PG_USER}@{PG_HOST}/{name}"
        finally:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def store(store_url: str) -> Iterator[Any]:
    """The store at `store_url`, opened (and so migrated to head)."""
    from keelwatch.store.db import open_store

    s = open_store(store_url)
    try:
        yield s
    finally:
        s.dispose()
