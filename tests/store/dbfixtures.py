"""Store fixtures shared by tests/store and tests/feeds: every test runs on SQLite and PostgreSQL.

PostgreSQL is the real server at 127.0.0.1:5432 (trust auth); each test gets a fresh
database created from the `test` database and dropped afterwards. Outside CI an
unreachable server skips the PostgreSQL half; with CI=true it fails instead.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from keelwatch.store.db import Store, open_store

PG_HOST = os.environ.get("KEELWATCH_TEST_PG", "127.0.0.1:5432")
PG_USER = os.environ.get("KEELWATCH_TEST_PG_USER", "postgres")
IN_CI = os.environ.get("CI") == "true"


def _admin():  # type: ignore[no-untyped-def]
    import psycopg

    host, port = PG_HOST.split(":")
    return psycopg.connect(
        host=host, port=int(port), user=PG_USER, dbname="test", autocommit=True, connect_timeout=5
    )


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'store.db'}"
        return
    try:
        admin = _admin()
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
def store(store_url: str) -> Iterator[Store]:
    s = open_store(store_url)
    try:
        yield s
    finally:
        s.dispose()
