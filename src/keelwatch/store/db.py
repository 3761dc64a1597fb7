"""Open the store: one engine, migrations to head on open, sessions and write transactions.

SQLite (the default, embedded, file under `config.data_home()`) runs in WAL mode
with foreign keys and a busy timeout; its write transactions start with
BEGIN IMMEDIATE so concurrent writers wait for each other instead of failing
with "database is locked" half-way. PostgreSQL is used when the URL says so
(`postgresql+psycopg://...`). Migrations ship inside the package and run
programmatically: no alembic.ini is needed.
"""

from __future__ import annotations

import os
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, exc, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from keelwatch import config
from keelwatch.errors import StoreError

MIGRATIONS = Path(__file__).with_name("alembic")
_PG_MIGRATION_LOCK = 0x6B77_0001  # pg_advisory_lock key: one migrator at a time


def _describe(url: str) -> str:
    try:
        return make_url(url).render_as_string(hide_password=True)
    except exc.ArgumentError:
        return url


def _first_line(err: BaseException) -> str:
    orig = getattr(err, "orig", None) or err
    return (str(orig).strip().splitlines() or [type(orig).__name__])[0]


class Store:
    """A migrated database: `session()` for ORM work, `write()` for bulk Core writes."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.url = engine.url
        self.is_sqlite = engine.dialect.name == "sqlite"
        self._sessions = sessionmaker(engine, expire_on_commit=False)

    def session(self) -> Session:
        return self._sessions()

    @contextmanager
    def write_session(self) -> Iterator[Session]:
        """An ORM session in one write transaction (BEGIN IMMEDIATE on SQLite), committed on success."""
        with self.write() as conn, Session(bind=conn, expire_on_commit=False) as session:
            yield session
            session.flush()

    @contextmanager
    def read(self) -> Iterator[Connection]:
        with self.engine.connect() as conn:
            yield conn

    @contextmanager
    def write(self, lock: str | None = None) -> Iterator[Connection]:
        """One atomic transaction: committed on success, rolled back on any exception.

        `lock` names a PostgreSQL transaction-scoped advisory lock so two updates of
        the same feed serialise (SQLite's BEGIN IMMEDIATE already serialises writers).
        """
        conn = self.engine.connect()
        if self.is_sqlite:
            conn = conn.execution_options(kw_begin="IMMEDIATE")
        try:
            with conn.begin():
                if lock and not self.is_sqlite:
                    conn.execute(text("SELECT pg_advisory_xact_lock(hashtext(:k))"), {"k": lock})
                yield conn
        finally:
            conn.close()

    def dispose(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.dispose()


def _use_wal(cur: Any) -> None:
    """Put the database in WAL mode (persistent: done once per database file).

    Switching a new database to WAL while other processes open it fails at once with
    "database is locked": SQLite does not wait on its busy timeout for a journal-mode
    change. So: nothing to do when it is already WAL, else retry for up to ~30 s.
    """
    import sqlite3
    import time

    deadline = time.monotonic() + 30
    while True:
        try:
            if str(cur.execute("PRAGMA journal_mode").fetchone()[0]).lower() != "wal":
                cur.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as err:
            if "locked" not in str(err) or time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def _sqlite_setup(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Take transaction control away from pysqlite so BEGIN is ours (see `_on_begin`).
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA busy_timeout=30000")
        _use_wal(cur)
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        mode = conn.get_execution_options().get("kw_begin", "DEFERRED")
        conn.exec_driver_sql(f"BEGIN {mode}")


def schema_head() -> str:
    """The newest migration's revision, read from the file names (`NNNN_name.py`, revision "NNNN").

    Reading the directory costs microseconds; asking Alembic costs ~0.6 s of imports, which
    every command would pay (tests/store/test_migrations.py holds the naming rule).
    """
    return max(p.name[:4] for p in (MIGRATIONS / "versions").glob("[0-9][0-9][0-9][0-9]_*.py"))


def _current_revision(engine: Engine) -> str | None:
    """The store's schema revision by one cheap query; None for a store never migrated."""
    with engine.connect() as conn:
        try:
            return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
        except exc.DBAPIError:
            conn.rollback()
            return None


@contextmanager
def _migration_lock(engine: Engine) -> Iterator[None]:
    """One migrator at a time, whatever the number of processes opening a new store.

    SQLite: an flock on `<database>.migrate-lock` beside the database file (Alembic runs
    SQLite DDL outside a transaction, so BEGIN IMMEDIATE alone does not serialise it; two
    racing processes failed with "table already exists"). PostgreSQL: a session advisory lock.
    """
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": _PG_MIGRATION_LOCK})
            conn.commit()
            try:
                yield
            finally:
                conn.rollback()
                conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": _PG_MIGRATION_LOCK})
                conn.commit()
        return
    database = engine.url.database
    if not database or database == ":memory:" or database.startswith("file:"):
        yield  # private to this process: nobody to race with
        return
    import fcntl

    fd = os.open(f"{database}.migrate-lock", os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def _migrate(engine: Engine) -> None:
    """Bring the schema to head; Alembic is imported only when a migration is due."""
    if _current_revision(engine) == schema_head():
        return
    with _migration_lock(engine):
        if _current_revision(engine) == schema_head():  # another process migrated meanwhile
            return
        from alembic import command
        from alembic.config import Config

        cfg = Config()
        cfg.set_main_option("script_location", str(MIGRATIONS))
        with engine.connect() as conn:
            if engine.dialect.name == "sqlite":
                # Take the write lock when the migration's transaction begins: a DEFERRED one reads
                # first and then upgrades to writing, which SQLite refuses at once ("database is
                # locked", no busy wait) when another connection wrote in between.
                conn = conn.execution_options(kw_begin="IMMEDIATE")
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")
            conn.commit()


def open_store(url: str | None = None, *, migrate: bool = True) -> Store:
    """Connect to the store at `url` (default: `config.db_url()`) and migrate it to head."""
    url = url or config.db_url()
    shown = _describe(url)
    try:
        parsed = make_url(url)
    except exc.ArgumentError:
        raise StoreError(f"invalid store URL {shown!r}") from None
    kwargs: dict[str, Any] = {}
    if parsed.get_backend_name() == "sqlite":
        db = parsed.database
        if db and db != ":memory:" and not db.startswith("file:"):
            parent = Path(db).expanduser().resolve().parent
            if not parent.is_dir():
                raise StoreError(f"cannot open store {shown}: directory {parent} does not exist")
        kwargs["connect_args"] = {"timeout": 30}
    elif parsed.get_backend_name() == "postgresql":
        kwargs["connect_args"] = {"connect_timeout": 10}
        kwargs["pool_pre_ping"] = True
    try:
        engine = create_engine(url, **kwargs)
    except (exc.ArgumentError, exc.NoSuchModuleError, ImportError) as err:
        raise StoreError(f"cannot open store {shown}: {_first_line(err)}") from None
    if engine.dialect.name == "sqlite":
        _sqlite_setup(engine)
    elif engine.dialect.name != "postgresql":
        engine.dispose()
        raise StoreError(f"cannot open store {shown}: only SQLite and PostgreSQL are supported")
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        if migrate:
            _migrate(engine)
    except exc.SQLAlchemyError as err:
        engine.dispose()
        raise StoreError(f"cannot open store {shown}: {_first_line(err)}") from None
    return Store(engine)


def pack(obj: Any) -> bytes:
    """Compact JSON, zlib-compressed: how the store keeps documents (scans, advisories)."""
    import json

    return zlib.compress(json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode(), 1)


def unpack(data: bytes) -> Any:
    import json

    return json.loads(zlib.decompress(data))
