"""The store: migrations on open, one-line errors, scans saved idempotently and indexed for rescans.

Scans are built from this machine's real dpkg status database.
"""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from debian.deb822 import Packages
from sqlalchemy import inspect, select, text

from keelwatch.errors import StoreError
from keelwatch.model import ImageInfo, OSInfo, Package, ScanResult
from keelwatch.store.db import open_store
from keelwatch.store.models import PackageVersion, ScanPackage
from keelwatch.store.scans import distinct_packages, iter_scans, load_scan, save_scan, scans_with_packages

DPKG_STATUS = Path("/var/lib/dpkg/status")


def real_debs(limit: int | None = None) -> list[Package]:
    if not DPKG_STATUS.is_file():
        pytest.skip("no dpkg status on this machine")
    out = []
    with DPKG_STATUS.open() as fh:
        for para in Packages.iter_paragraphs(fh, use_apt_pkg=False):
            if "installed" not in para.get("Status", ""):
                continue
            src = para.get("Source", "")
            src_name, _, src_ver = src.partition(" ")
            out.append(
                Package(
                    name=para["Package"],
                    version=para["Version"],
                    type="deb",
                    source_name=src_name or None,
                    source_version=src_ver.strip("()") or None,
                    locations=["/var/lib/dpkg/status"],
                    layer_index=len(out) % 3,
                )
            )
    return out[:limit] if limit else out


def scan_of(ref: str, digest: str, packages: list[Package]) -> ScanResult:
    return ScanResult(
        image=ImageInfo(
            ref=ref,
            digest=digest,
            config_digest="sha256:" + "c" * 64,
            platform="linux/amd64",
            os=OSInfo(id="debian", version_id="12", name="Debian GNU/Linux"),
        ),
        packages=packages,
        warnings=["a warning"],
    )


def head_revision() -> str:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    from keelwatch.store.db import MIGRATIONS

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    heads = ScriptDirectory.from_config(cfg).get_heads()
    assert len(heads) == 1, f"migrations must stay linear, found heads {heads}"
    return heads[0]


def test_open_migrates_to_head_and_reopens(store_url: str) -> None:
    store = open_store(store_url)
    tables = set(inspect(store.engine).get_table_names())
    assert {
        "scans",
        "package_versions",
        "scan_packages",
        "advisories",
        "advisory_packages",
        "kev",
        "epss",
    } <= tables
    assert "feed_state" in tables
    with store.read() as conn:
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == head_revision()
    store.dispose()
    again = open_store(store_url)  # already at head: no-op
    again.dispose()


def test_sqlite_pragmas(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'p.db'}")
    with store.read() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30000
    store.dispose()


def test_default_url_is_sqlite_in_data_home(keelwatch_home: Path) -> None:
    store = open_store()
    assert store.is_sqlite
    assert (keelwatch_home / "keelwatch.db").is_file()
    store.dispose()


@pytest.mark.parametrize(
    "url",
    [
        "not a url",
        "nosuchdriver://x/y",
        "postgresql+psycopg://postgres@127.0.0.1:1/nothing",
        "sqlite:////nonexistent-dir/for/keelwatch.db",
    ],
)
def test_bad_url_is_one_line_store_error(url: str) -> None:
    with pytest.raises(StoreError) as info:
        open_store(url)
    assert "\n" not in str(info.value)
    assert "cannot open store" in str(info.value) or "invalid store URL" in str(info.value)


def test_save_load_roundtrip_and_idempotent(store) -> None:  # type: ignore[no-untyped-def]
    pkgs = real_debs()
    result = scan_of("registry.local/app:1", "sha256:" + "a" * 64, pkgs)
    first = save_scan(store, result)
    again = save_scan(store, result)
    assert first == again
    loaded = load_scan(store, first)
    assert loaded is not None
    assert loaded.to_dict() == result.to_dict()
    assert [s.id for s in iter_scans(store)] == [first]
    with store.read() as conn:
        links = conn.execute(select(ScanPackage.package_version_id).where(ScanPackage.scan_id == first)).all()
    assert len(links) == len(pkgs)  # re-save replaced the links, did not double them
    assert load_scan(store, 999_999) is None


def test_distinct_packages_shared_across_fleet(store) -> None:  # type: ignore[no-untyped-def]
    pkgs = real_debs()
    a = save_scan(store, scan_of("app:1", "sha256:" + "1" * 64, pkgs))
    b = save_scan(store, scan_of("app:2", "sha256:" + "2" * 64, pkgs[: len(pkgs) // 2]))
    assert a != b
    distinct = distinct_packages(store)
    assert len(distinct) == len({(p.name, p.version) for p in pkgs})
    assert all(p.distro == "debian:12" for p in distinct)
    with store.read() as conn:
        assert conn.execute(select(PackageVersion.id)).all().__len__() == len(distinct)
    first = next(p for p in distinct if p.name == pkgs[0].name)
    fan = scans_with_packages(store, [first.id])
    assert sorted(s for s, _layer in fan[first.id]) == sorted([a, b])


def test_concurrent_saves_of_same_fleet(store) -> None:  # type: ignore[no-untyped-def]
    pkgs = real_debs(200)
    errors: list[BaseException] = []

    def worker(n: int) -> None:
        try:
            for i in range(3):
                save_scan(store, scan_of(f"img-{n}-{i}", f"sha256:{n}{i}" + "0" * 62, pkgs))
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert len(list(iter_scans(store))) == 12
    assert len(distinct_packages(store)) == len({(p.name, p.version) for p in pkgs})


def test_write_session_commits_or_rolls_back(store) -> None:  # type: ignore[no-untyped-def]
    from keelwatch.store.models import FeedState

    with store.write_session() as session:
        session.add(FeedState(feed="x", source="x", record_count=1, files={}))
    with pytest.raises(RuntimeError), store.write_session() as session:
        session.add(FeedState(feed="y", source="y", record_count=1, files={}))
        session.flush()
        raise RuntimeError("boom")
    with store.session() as session:
        assert [f.feed for f in session.scalars(select(FeedState))] == ["x"]


def test_migrations_match_models(store) -> None:  # type: ignore[no-untyped-def]
    """Every table a module declares on the shared Base has a migration that creates it as declared."""
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    from keelwatch.store.models import load_all

    metadata = load_all().metadata
    with store.read() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), metadata)
    assert diff == []


@pytest.mark.slow
def test_concurrent_first_open_migrates_once(store_url: str) -> None:
    """Several processes opening a fresh store at once: one migrates, the others wait and reuse it."""
    import subprocess
    import sys

    code = "import sys; from keelwatch.store.db import open_store; open_store(sys.argv[1]).dispose()"
    procs = [
        subprocess.Popen([sys.executable, "-c", code, store_url], stderr=subprocess.PIPE, text=True)
        for _ in range(3)
    ]
    errors = [p.communicate(timeout=120)[1] for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0], errors
    store = open_store(store_url)
    with store.read() as conn:
        assert conn.execute(text("SELECT count(*) FROM alembic_version")).scalar() == 1
    store.dispose()
