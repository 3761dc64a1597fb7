"""Opening the store: the schema head without Alembic, and one migrator at a time.

Every command opens the store, so a migrated store must be recognised by one cheap query
(no Alembic import); a fresh store opened by many processes at once must be migrated once
(two racing migrators failed with "table ... already exists" before the lock).
"""

from __future__ import annotations

import ast
import multiprocessing
import subprocess
import sys
from pathlib import Path
from typing import Any

from sqlalchemy import text

from keelwatch.store.db import MIGRATIONS, open_store, schema_head

VERSIONS = sorted((MIGRATIONS / "versions").glob("*.py"))


def _assigned(path: Path, name: str) -> str | None:
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", "") == name for t in node.targets):
            return ast.literal_eval(node.value)
    return None


def test_revisions_follow_the_file_names_in_one_line() -> None:
    """`schema_head` reads the head from file names: each file must be `NNNN_x.py` with revision NNNN."""
    previous = None
    for path in VERSIONS:
        assert path.name[:4].isdigit() and path.name[4] == "_", path.name
        assert _assigned(path, "revision") == path.name[:4], path.name
        assert _assigned(path, "down_revision") == previous, path.name
        previous = path.name[:4]
    assert schema_head() == previous


def test_schema_head_is_alembics_head() -> None:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    assert ScriptDirectory.from_config(cfg).get_current_head() == schema_head()


def test_a_migrated_store_opens_without_importing_alembic(store_url: str) -> None:
    open_store(store_url).dispose()  # migrate once
    probe = (
        "import sys; from keelwatch.store.db import open_store; "
        f"open_store({store_url!r}).dispose(); print('alembic' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def _open_after(barrier: Any, url: str, results: Any) -> None:
    barrier.wait()
    try:
        open_store(url).dispose()
        results.put("ok")
    except Exception as err:  # noqa: BLE001 - the test reports what any racer saw
        results.put(repr(err))


def test_many_processes_open_a_fresh_store_at_once(store_url: str) -> None:
    """Twenty processes released together on a new store: every one opens it, one migrates."""
    import alembic.command  # noqa: F401 - imported before forking so the racers start level

    ctx = multiprocessing.get_context("fork")
    for _round in range(4):
        if store_url.startswith("sqlite"):
            db = Path(store_url.removeprefix("sqlite:///"))
            for suffix in ("", "-wal", "-shm"):
                Path(f"{db}{suffix}").unlink(missing_ok=True)
        else:
            with open_store(store_url, migrate=False).engine.begin() as conn:
                conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
        barrier, results = ctx.Barrier(20), ctx.Queue()
        procs = [ctx.Process(target=_open_after, args=(barrier, store_url, results)) for _ in range(20)]
        for p in procs:
            p.start()
        seen = [results.get(timeout=120) for _ in procs]
        for p in procs:
            p.join(timeout=60)
        assert seen == ["ok"] * 20
        with open_store(store_url).read() as conn:
            assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == schema_head()
