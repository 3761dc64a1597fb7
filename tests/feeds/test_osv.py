"""OSV import from the real PyPI all.zip (bucket layout), incremental re-import, bad records."""

from __future__ import annotations

import json
import shutil
import zipfile
from pathlib import Path

import pytest
from sqlalchemy import func, select

from keelwatch.app.feeds import update_feeds as update
from keelwatch.store.kb import SqlKnowledgeBase
from keelwatch.store.models import AdvisoryPackage, AdvisoryRow, FeedState

PYPI_RECORDS = 2661
PYPI_BAD = {"PYSEC-2021-371", "PYSEC-2019-125"}  # real records with versions PEP 440 cannot parse


def osv_mirror(shared_data: Path, tmp_path: Path) -> Path:
    mirror = tmp_path / "mirror"
    (mirror / "PyPI").mkdir(parents=True)
    shutil.copy(shared_data / "osv" / "PyPI" / "all.zip", mirror / "PyPI" / "all.zip")
    return mirror


def rewrite_zip(path: Path, change) -> None:  # type: ignore[no-untyped-def]
    """Rewrite an all.zip, passing each (name, doc) through `change` (None drops it)."""
    with zipfile.ZipFile(path) as src:
        items = [(i.filename, json.loads(src.read(i))) for i in src.infolist()]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as dst:
        for name, doc in items:
            doc = change(name, doc)
            if doc is not None:
                dst.writestr(name, json.dumps(doc))


def by_feed(results):  # type: ignore[no-untyped-def]
    return {r.feed: r for r in results}


def test_pypi_import_real_zip(store, shared_data: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    mirror = osv_mirror(shared_data, tmp_path)
    res = by_feed(update(store, ["osv"], str(mirror)))["osv:PyPI"]
    assert res.status == "updated", res.message
    assert res.records == PYPI_RECORDS - len(PYPI_BAD)
    assert res.added == res.records
    for bad in PYPI_BAD:
        assert any(bad in w and "not a valid pep440 version" in w for w in res.warnings)
    with store.read() as conn:
        assert conn.execute(select(func.count()).select_from(AdvisoryRow)).scalar() == res.records
        state = conn.execute(select(FeedState.__table__).where(FeedState.feed == "osv:PyPI")).mappings().one()
    assert state["status"] == "ok" and state["record_count"] == res.records
    assert state["snapshot_at"].startswith("20")  # newest `modified` of the data
    kb = SqlKnowledgeBase(store)
    django = kb.advisories_for("PyPI", "Django")  # PEP 503: the index holds "django"
    ids = {a.id for a in django}
    assert "PYSEC-2014-1" in ids
    adv = next(a for a in django if a.id == "PYSEC-2014-1")
    assert adv.source == "osv" and adv.modified
    assert {"fixed": "1.4.11"} in adv.affected[0]["ranges"][0]["events"]
    assert kb.advisories_for("PyPI", "no-such-package-xyz") == []
    many = kb.advisories_for_many([("PyPI", "django"), ("PyPI", "Jinja2"), ("npm", "django")])
    assert {a.id for a in many[("PyPI", "django")]} == ids
    assert many[("PyPI", "Jinja2")] and many[("npm", "django")] == []


def test_incremental_reimport(store, shared_data: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    mirror = osv_mirror(shared_data, tmp_path)
    first = by_feed(update(store, ["osv"], str(mirror)))["osv:PyPI"]
    same = by_feed(update(store, ["osv"], str(mirror)))["osv:PyPI"]
    assert same.status == "unchanged" and same.records == first.records

    def change(name: str, doc: dict):  # type: ignore[no-untyped-def]
        if doc["id"] == "PYSEC-2014-1":
            doc["modified"] = "2030-01-01T00:00:00Z"
            doc["affected"][0]["ranges"][0]["events"].append({"introduced": "9.0"})
        if doc["id"] == "PYSEC-2014-2":
            return None
        return doc

    rewrite_zip(mirror / "PyPI" / "all.zip", change)
    res = by_feed(update(store, ["osv"], str(mirror)))["osv:PyPI"]
    assert (res.status, res.added, res.changed, res.removed) == ("updated", 0, 1, 1)
    kb = SqlKnowledgeBase(store)
    adv = next(a for a in kb.advisories_for("PyPI", "django") if a.id == "PYSEC-2014-1")
    assert adv.modified == "2030-01-01T00:00:00Z"
    assert {"introduced": "9.0"} in adv.affected[0]["ranges"][0]["events"]
    with store.read() as conn:
        assert conn.execute(select(AdvisoryRow.id).where(AdvisoryRow.id == "PYSEC-2014-2")).first() is None
        left = conn.execute(
            select(AdvisoryPackage.pk).where(AdvisoryPackage.advisory_id == "PYSEC-2014-2")
        ).first()
        assert left is None


def write_docs(root: Path) -> Path:
    """A directory of OSV documents: good ones and one of each kind of bad record."""
    root.mkdir()
    good = {
        "id": "GHSA-good-0001",
        "modified": "2024-01-01T00:00:00Z",
        "aliases": ["CVE-2024-0001"],
        "affected": [
            {
                "package": {"ecosystem": "npm", "name": "left-pad"},
                "ranges": [{"type": "SEMVER", "events": [{"introduced": "0"}, {"fixed": "1.3.0"}]}],
            },
            {
                "package": {"ecosystem": "Packagist", "name": "left-pad"},
                "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "1.3"}]}],
            },
        ],
    }
    (root / "good.json").write_text(json.dumps(good))
    (root / "sub").mkdir()
    (root / "sub" / "good.yaml").write_text(
        "id: PYSEC-yaml-1\nmodified: 2024-02-02T00:00:00Z\naffected:\n"
        "  - package: {ecosystem: PyPI, name: Requests}\n"
        "    ranges:\n      - type: ECOSYSTEM\n        events:\n"
        "          - introduced: '0'\n          - fixed: '2.31.0'\n"
    )
    bad_range = dict(
        good,
        id="BAD-range",
        affected=[dict(good["affected"][0], ranges=[{"type": "WEIRD", "events": [{"introduced": "0"}]}])],
    )
    (root / "bad-range.json").write_text(json.dumps(bad_range))
    bad_version = {
        "id": "BAD-version",
        "modified": "2024-01-01T00:00:00Z",
        "affected": [
            {
                "package": {"ecosystem": "Debian:12", "name": "openssl"},
                "ranges": [
                    {"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "not a version!"}]}
                ],
            }
        ],
    }
    (root / "bad-version.json").write_text(json.dumps(bad_version))
    (root / "broken.json").write_text('{"id": "BROKEN", "affected": [')
    (root / "no-id.json").write_text(json.dumps({"modified": "x"}))
    return root


def test_directory_of_documents_with_bad_records(store, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    docs = write_docs(tmp_path / "docs")
    [res] = update(store, ["osv"], str(docs))
    assert res.status == "updated", res.message
    assert res.records == 2
    text = "\n".join(res.warnings)
    assert "BAD-range" in text and "unknown range type 'WEIRD'" in text
    assert "BAD-version" in text and "'not a version!'" in text
    assert "broken.json" in text and "invalid JSON" in text
    assert "no-id.json" in text
    assert "'Packagist'" in text and "not indexed" in text
    kb = SqlKnowledgeBase(store)
    [npm] = kb.advisories_for("npm", "left-pad")
    assert npm.id == "GHSA-good-0001" and npm.aliases == ["CVE-2024-0001"]
    assert len(npm.affected) == 2  # the Packagist entry is kept in the document, just not indexed
    assert kb.advisories_for("Packagist", "left-pad") == []
    [yaml_adv] = kb.advisories_for("PyPI", "requests")
    assert yaml_adv.modified == "2024-02-02T00:00:00Z"  # YAML timestamps stay strings


def test_single_document(store, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    doc = tmp_path / "one.json"
    doc.write_text(json.dumps({"id": "OSV-1", "modified": "2024-01-01T00:00:00Z", "affected": []}))
    [res] = update(store, ["osv"], str(doc))
    assert res.status == "updated" and res.records == 1
    broken = tmp_path / "broken.json"
    broken.write_text("{")
    [res] = update(store, ["osv"], str(broken))
    assert res.status == "failed" and "invalid JSON" in res.message


def test_mostly_broken_feed_is_rejected(store, shared_data: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    mirror = osv_mirror(shared_data, tmp_path)
    update(store, ["osv"], str(mirror))
    n = [0]

    def spoil(name: str, doc: dict):  # type: ignore[no-untyped-def]
        n[0] += 1
        if n[0] % 5 == 0:  # 20% of the records get an unknown range type
            doc["affected"] = [{"package": {"ecosystem": "PyPI", "name": "x"}, "ranges": [{"type": "BOGUS"}]}]
        return doc

    rewrite_zip(mirror / "PyPI" / "all.zip", spoil)
    res = by_feed(update(store, ["osv"], str(mirror)))["osv:PyPI"]
    assert res.status == "failed" and "update rejected" in res.message
    with store.read() as conn:
        assert conn.execute(select(func.count()).select_from(AdvisoryRow)).scalar() == PYPI_RECORDS - len(
            PYPI_BAD
        )


@pytest.mark.parametrize("how", ["truncated", "crc"])
def test_corrupt_zip_leaves_previous_data(store, shared_data: Path, tmp_path: Path, how: str) -> None:  # type: ignore[no-untyped-def]
    """A zip that breaks part-way (after >1000 rows were already written) rolls everything back."""
    mirror = osv_mirror(shared_data, tmp_path)
    before = by_feed(update(store, ["osv"], str(mirror)))["osv:PyPI"]
    zpath = mirror / "PyPI" / "all.zip"

    def bump(name: str, doc: dict):  # type: ignore[no-untyped-def]
        doc["modified"] = "2031-01-01T00:00:00Z"  # every record "changed": the import rewrites all
        return doc

    rewrite_zip(zpath, bump)
    data = bytearray(zpath.read_bytes())
    if how == "truncated":
        zpath.write_bytes(bytes(data[: len(data) * 2 // 3]))
    else:
        with zipfile.ZipFile(zpath) as z:
            info = z.infolist()[2000]
        start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
        data[start + 5] ^= 0xFF  # flip a byte inside record 2000's compressed data
        zpath.write_bytes(bytes(data))
    res = by_feed(update(store, ["osv"], str(mirror)))["osv:PyPI"]
    assert res.status == "failed"
    assert "all.zip" in res.message
    with store.read() as conn:
        count = conn.execute(select(func.count()).select_from(AdvisoryRow)).scalar()
        bumped = conn.execute(
            select(func.count()).where(AdvisoryRow.modified == "2031-01-01T00:00:00Z")
        ).scalar()
        state = conn.execute(select(FeedState.__table__).where(FeedState.feed == "osv:PyPI")).mappings().one()
    assert count == before.records and bumped == 0
    assert state["status"] == "failed" and state["record_count"] == before.records
    assert SqlKnowledgeBase(store).advisories_for("PyPI", "django")  # still usable


def test_concurrent_updates_of_one_feed(store, shared_data: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Two updaters at once serialise on the feed (BEGIN IMMEDIATE / advisory lock): no duplicates."""
    import threading

    mirror = osv_mirror(shared_data, tmp_path)
    results: list = []

    def run() -> None:
        results.extend(update(store, ["osv"], str(mirror), force=True))

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    pypi = [r for r in results if r.feed == "osv:PyPI"]
    assert [r.status for r in pypi] == ["updated", "updated"], [r.message for r in pypi]
    with store.read() as conn:
        assert conn.execute(select(func.count()).select_from(AdvisoryRow)).scalar() == PYPI_RECORDS - len(
            PYPI_BAD
        )


@pytest.mark.slow
def test_killed_update_leaves_previous_data(store_url: str, shared_data: Path, tmp_path: Path) -> None:
    """SIGKILL a real `keelwatch db update` part-way: the store holds the old data or the new, never a mix."""
    import os
    import shutil as sh
    import signal
    import subprocess
    import time

    from keelwatch.store.db import open_store

    mirror = osv_mirror(shared_data, tmp_path)
    store = open_store(store_url)
    before = by_feed(update(store, ["osv"], str(mirror)))["osv:PyPI"].records

    def bump(name: str, doc: dict):  # type: ignore[no-untyped-def]
        doc["modified"] = "2032-01-01T00:00:00Z"
        return doc

    rewrite_zip(mirror / "PyPI" / "all.zip", bump)
    env = {**os.environ, "KEELWATCH_DB_URL": store_url}
    exe = sh.which("keelwatch")
    assert exe
    outcomes: list[int] = []
    for delay in (0.05, 0.3, 0.6):
        proc = subprocess.Popen(
            [exe, "db", "update", "--source", "osv", "--from", str(mirror), "--force"],
            env=env,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert proc.stderr is not None
        for line in proc.stderr:  # the transaction is open once it says so
            if "osv:PyPI: importing" in line:
                break
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        proc.stderr.close()
        with store.read() as conn:
            total = conn.execute(select(func.count()).select_from(AdvisoryRow)).scalar()
            bumped = conn.execute(
                select(func.count()).where(AdvisoryRow.modified == "2032-01-01T00:00:00Z")
            ).scalar()
            orphans = conn.execute(
                select(func.count())
                .select_from(AdvisoryPackage)
                .where(~AdvisoryPackage.advisory_id.in_(select(AdvisoryRow.id)))
            ).scalar()
        outcomes.append(bumped)
        assert total == before and bumped in (0, before) and orphans == 0
    assert outcomes[0] == 0  # killed 50 ms into a ~1 s import: nothing of it is visible
    store.dispose()
