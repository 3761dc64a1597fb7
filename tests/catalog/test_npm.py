"""npm: package.json files from real `npm pack` tarballs and lock files written by npm itself."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from keelwatch.catalog.npm import NpmCataloger, NpmLockCataloger, licenses_of

from ._support import FIXTURES, make_root, need, parse_ok, primary_location, scan_dir, syft_artifacts

DIR = FIXTURES / "npm"
CAT = NpmCataloger()
LOCK = NpmLockCataloger()


def _installed() -> dict[str, Path | bytes | str]:
    files: dict[str, Path | bytes | str] = {"/app/package.json": DIR / "project.package.json"}
    for f in DIR.glob("*.package.json"):
        if f.name == "project.package.json":
            continue
        name = json.loads(f.read_text())["name"]
        files[f"/app/node_modules/{name}/package.json"] = f
    files["/app/package-lock.json"] = DIR / "package-lock-v3.json"
    return files


def test_image_scan_agrees_with_syft(tmp_path: Path) -> None:
    """Syft's image defaults read every package.json with name+version (the app's own too)
    and ignore lock files: same packages, purls (scoped: %40scope) and licences."""
    root = make_root(tmp_path / "root", _installed())
    theirs = sorted(
        (a["name"], a["version"], a["purl"], primary_location(a), [lic["value"] for lic in a["licenses"]])
        for a in syft_artifacts(root, tmp_path)
        if a["type"] == "npm"
    )
    result = scan_dir(root)
    ours = sorted((p.name, p.version, p.purl, p.locations[0], p.licenses) for p in result.packages)
    assert ours == theirs
    assert any(name == "@sindresorhus/is" for name, *_ in ours)


def test_legacy_licence_forms() -> None:
    doc = json.loads((DIR / "json-schema-0.2.3.package.json").read_text())
    assert licenses_of(doc) == ["AFLv2.1", "BSD"]  # `licenses: [{type, url}]`
    assert licenses_of({"license": {"type": "MIT", "url": "x"}}) == ["MIT"]
    assert licenses_of({"license": 3, "licenses": "ISC"}) == ["ISC"]


def _npm_ls(lock: Path, tmp_path: Path) -> set[tuple[str, str]]:
    npm = need("npm")
    work = tmp_path / lock.stem
    work.mkdir()
    shutil.copyfile(DIR / "project.package.json", work / "package.json")
    shutil.copyfile(lock, work / "package-lock.json")
    out = subprocess.run(
        [npm, "ls", "--all", "--package-lock-only", "--parseable", "--long", "--offline"],
        cwd=work,
        capture_output=True,
        text=True,
        timeout=120,
    ).stdout
    pairs = set()
    for line in out.splitlines():
        spec = line.split(":", 1)[1].split(":")[0]
        name, _, version = spec.rpartition("@")
        pairs.add((name, version))
    return pairs


@pytest.mark.parametrize("version", [1, 2, 3])
def test_lock_files_agree_with_npm(version: int, tmp_path: Path) -> None:
    """Every (name, version) npm itself resolves from the lock file, and nothing else."""
    lock = DIR / f"package-lock-v{version}.json"
    result = parse_ok(LOCK, "/app/package-lock.json", lock.read_bytes())
    assert result.warnings == []
    assert {(p.name, p.version) for p in result.packages} == _npm_ls(lock, tmp_path)
    assert all(p.type == "npm" and p.purl.startswith("pkg:npm/") for p in result.packages)


def test_lock_v3_agrees_with_syft_directory_scan(tmp_path: Path) -> None:
    root = make_root(
        tmp_path / "root",
        {
            "/app/package-lock.json": DIR / "package-lock-v3.json",
            "/app/package.json": DIR / "project.package.json",
        },
    )
    theirs = {
        (a["name"], a["version"], a["purl"], tuple(lic["value"] for lic in a["licenses"]))
        for a in syft_artifacts(root, tmp_path, image_catalogers=False)
        if a["type"] == "npm"
    }
    result = parse_ok(LOCK, "/app/package-lock.json", (DIR / "package-lock-v3.json").read_bytes())
    ours = {(p.name, p.version, p.purl, tuple(p.licenses)) for p in result.packages}
    assert ours == theirs


def test_malformed_inputs_give_warnings() -> None:
    real = (DIR / "left-pad-1.3.0.package.json").read_bytes()
    for cat, path in ((CAT, "/app/node_modules/left-pad/package.json"), (LOCK, "/app/package-lock.json")):
        for junk in (real[: len(real) // 2], b"\xff\xfe{}", b"{" * 100_000, b"", b"not json"):
            result = parse_ok(cat, path, junk)
            assert result.packages == [] and result.warnings, junk[:20]
    assert parse_ok(CAT, "/x/package.json", b'{"type": "module"}').packages == []
    assert parse_ok(CAT, "/x/package.json", b'["a"]').warnings
    assert parse_ok(LOCK, "/x/package-lock.json", b'{"lockfileVersion": 3}').warnings
