"""Layers built to exhaust the engine, through the real CLI: a flood of catalogued files, a flood
of long symlinks. The scan must finish with bounded memory and say what it left out."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from imagebuilder import FileEntry, make_layer, write_oci_layout
from keelwatch.oci.layers import DEFAULT_LIMITS

hostile = sys.modules["keelwatch_test_hostile"]
STATUS = "var/lib/dpkg/status"


def _scan(layout: Path, home: Path) -> dict:
    before = hostile.snapshot(layout.parent, skip=home)
    proc = hostile.keelwatch(
        "scan", f"oci:{layout}:t", "--no-vulns", "--no-store", "-q", "-f", "json", home=home
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert hostile.snapshot(layout.parent, skip=home) == before
    return json.loads(proc.stdout)


def test_package_json_flood_is_bounded_and_said(tmp_path, keelwatch_home, real_status) -> None:
    limit = DEFAULT_LIMITS.max_catalogued_files
    flood = [
        FileEntry(f"app/node_modules/p{i}/package.json", b'{"name": "p%d", "version": "1.0.0"}' % i)
        for i in range(limit + 5_000)
    ]
    layout = tmp_path / "flood"
    # The OS database comes first: it is read whatever follows.
    write_oci_layout(layout, [make_layer([FileEntry(STATUS, real_status)]), make_layer(flood)], tag="t")
    out = _scan(layout, keelwatch_home)
    npm = [p for p in out["packages"] if p["type"] == "npm"]
    assert len(npm) < limit
    assert len([p for p in out["packages"] if p["type"] == "deb"]) > 10
    assert any("over the limit of files offered to catalogers" in w for w in out["warnings"])
    assert not list((keelwatch_home / "cache" / "layers").glob("*.json"))[1:]  # only the complete layer


def test_long_symlink_flood_is_bounded_and_said(tmp_path, keelwatch_home, real_status) -> None:
    target = "/" + "d/" * 1_900  # under PATH_MAX: each link costs ~3.8 KB
    links = [FileEntry(f"l/{i}", type="symlink", linkname=f"{target}{i}") for i in range(6_000)]
    links.append(FileEntry("l/huge", type="symlink", linkname="/" + "x" * 20_000))
    layout = tmp_path / "links"
    write_oci_layout(layout, [make_layer([FileEntry(STATUS, real_status), *links])], tag="t")
    out = _scan(layout, keelwatch_home)
    assert len([p for p in out["packages"] if p["type"] == "deb"]) > 10
    assert any("later symlinks not resolved" in w for w in out["warnings"]), out["warnings"][:5]
    assert any("longer than PATH_MAX" in w for w in out["warnings"])


def test_a_scan_that_hit_a_limit_fails_the_gate_closed(tmp_path, keelwatch_home, real_status) -> None:
    """Packages past the per-image bound were never looked at: the gate cannot vouch for the image
    (exit 3, `incomplete` in the result) unless the user accepts it with --allow-incomplete."""
    limit = DEFAULT_LIMITS.max_catalogued_files
    flood = [
        FileEntry(f"app/p{i}/package.json", b'{"name": "p", "version": "1.0.0"}') for i in range(limit + 1)
    ]
    layout = tmp_path / "flood"
    write_oci_layout(layout, [make_layer([FileEntry(STATUS, real_status)]), make_layer(flood)], tag="t")
    bundle = Path(__file__).resolve().parents[2] / "examples" / "data"
    assert hostile.keelwatch("db", "update", "--from", str(bundle), "-q", home=keelwatch_home).returncode == 0
    gate = ["scan", f"oci:{layout}:t", "--no-store", "-q", "--fail-on", "critical", "--allow-stale"]
    gate += ["--allow-uncovered", "-f", "json"]
    refused = hostile.keelwatch(*gate, home=keelwatch_home)
    assert refused.returncode == 3, refused.stderr[-2000:]
    assert "incomplete scan" in refused.stderr
    assert json.loads(refused.stdout)["incomplete"]
    allowed = hostile.keelwatch(*gate, "--allow-incomplete", home=keelwatch_home)
    assert allowed.returncode == 0, allowed.stderr[-2000:]
    assert "not judged (--allow-incomplete)" in allowed.stderr
