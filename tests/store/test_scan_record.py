"""Saving a scan is atomic: a process killed between its parts leaves all of it or nothing.

A scan is saved in three parts (the scan with its package index, the image's lineage
facts, the tag it was seen under). A child process saves one through the real use case
(`app.scanning.keep_scan`) and SIGKILLs itself when a part is about to start: no
exception handler, no rollback code of ours runs, the database alone must undo it.
Packages come from this machine's real dpkg status database, parsed by the real cataloger.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import text

from keelwatch.catalog.dpkg import parse_status
from keelwatch.model import ImageInfo, LayerInfo, OSInfo, ScanResult

DPKG_STATUS = Path("/var/lib/dpkg/status")
REF = "registry.example/base/debian:12"
TABLES = ("scans", "scan_packages", "scan_package_sets", "package_versions", "known_images", "tag_history")

# Saves the scan in argv[2] to the store at argv[1]; dies by SIGKILL when the part of
# keelwatch.store.images named in argv[3] starts (nothing when argv[3] is empty).
CHILD = """
import json, os, signal, sys
from keelwatch.app.scanning import keep_scan
from keelwatch.model import ScanResult
from keelwatch.store import images
from keelwatch.store.db import open_store

url, document, kill_at = sys.argv[1:4]
if kill_at:
    setattr(images, kill_at, lambda *args, **kwargs: os.kill(os.getpid(), signal.SIGKILL))
with open(document) as fh:
    result = ScanResult.from_dict(json.load(fh))
with open_store(url) as store:
    print(keep_scan(store, result))
"""


def real_scan(limit: int) -> ScanResult:
    if not DPKG_STATUS.is_file():
        pytest.skip("no dpkg status on this machine")
    packages, _ = parse_status(str(DPKG_STATUS), DPKG_STATUS.read_text(errors="replace"))
    assert len(packages) >= limit
    layers = [LayerInfo(f"sha256:{c * 64}", f"sha256:{d * 64}", 100) for c, d in (("1", "a"), ("2", "b"))]
    return ScanResult(
        image=ImageInfo(
            ref=REF,
            digest="sha256:" + "d" * 64,
            config_digest="sha256:" + "c" * 64,
            platform="linux/amd64",
            os=OSInfo(id="debian", version_id="12"),
            layers=layers,
            annotations={"org.opencontainers.image.base.name": "registry.example/base/scratch:1"},
            history_length=2,
        ),
        packages=packages[:limit],
    )


def save_in_child(url: str, result: ScanResult, kill_at: str, tmp_path: Path) -> subprocess.CompletedProcess:
    document = tmp_path / "scan.json"
    document.write_text(json.dumps(result.to_dict()))
    argv = [sys.executable, "-c", CHILD, url, str(document), kill_at]
    return subprocess.run(argv, capture_output=True, text=True, timeout=120)


def counts(store) -> dict[str, int]:  # type: ignore[no-untyped-def]
    with store.read() as conn:
        return {t: conn.execute(text(f"SELECT count(*) FROM {t}")).scalar_one() for t in TABLES}


@pytest.mark.parametrize("kill_at", ["remember_in", "record_tag_in"])
def test_killed_between_parts_stores_nothing(store, store_url: str, kill_at: str, tmp_path: Path) -> None:
    died = save_in_child(store_url, real_scan(40), kill_at, tmp_path)
    assert died.returncode == -signal.SIGKILL, died.stderr
    assert counts(store) == dict.fromkeys(TABLES, 0)


def test_not_killed_stores_every_part(store, store_url: str, tmp_path: Path) -> None:
    done = save_in_child(store_url, real_scan(40), "", tmp_path)
    assert done.returncode == 0, done.stderr
    stored = counts(store)
    assert stored["scans"] == stored["known_images"] == stored["tag_history"] == 1
    assert stored["scan_packages"] == 40 and stored["scan_package_sets"] == 1
    with store.read() as conn:
        facts = conn.execute(text("SELECT scan_id, refs FROM known_images")).one()
        tag = conn.execute(text("SELECT repository, tag, platform, digest FROM tag_history")).one()
    assert facts[0] == int(done.stdout) and REF in str(facts[1])
    assert tuple(tag) == ("registry.example/base/debian", "12", "linux/amd64", "sha256:" + "d" * 64)


def test_killed_resave_keeps_the_previous_scan_whole(store, store_url: str, tmp_path: Path) -> None:
    """The same image saved again and killed half-way: the first save is still all there."""
    first = real_scan(40)
    assert save_in_child(store_url, first, "", tmp_path).returncode == 0
    before = counts(store)
    with store.read() as conn:
        seen = conn.execute(text("SELECT seen_at FROM known_images")).scalar_one()
    grown = replace(first, packages=real_scan(60).packages, image=replace(first.image, history_length=3))
    assert save_in_child(store_url, grown, "record_tag_in", tmp_path).returncode == -signal.SIGKILL
    assert counts(store) == before
    with store.read() as conn:
        assert conn.execute(text("SELECT package_count FROM scans")).scalar_one() == 40
        facts = conn.execute(text("SELECT history_length, seen_at FROM known_images")).one()
    assert tuple(facts) == (2, seen)


def test_concurrent_saves_of_one_image_under_many_names(store) -> None:  # type: ignore[no-untyped-def]
    """Savers racing on one image's facts and tags: every save lands, the facts gather every name."""
    import threading

    from keelwatch.app.scanning import keep_scan

    base = real_scan(20)
    refs = [f"registry.example/mirror{i}/debian:12" for i in range(6)]
    errors: list[BaseException] = []

    def save(ref: str) -> None:
        try:
            keep_scan(store, replace(base, image=replace(base.image, ref=ref)))
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=save, args=(ref,)) for ref in refs]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    stored = counts(store)
    assert stored["scans"] == stored["tag_history"] == len(refs) and stored["known_images"] == 1
    with store.read() as conn:
        names = conn.execute(text("SELECT refs FROM known_images")).scalar_one()
    assert sorted(json.loads(names) if isinstance(names, str) else names) == sorted(refs)
