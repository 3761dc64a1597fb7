"""The layer cache under attack, through the real CLI: a warm cache must never vouch for a blob
it did not verify, never stand in for a missing blob, and never trust an edited entry."""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path
from typing import Any

from imagebuilder import FileEntry, make_layer, write_oci_layout

hostile = sys.modules["keelwatch_test_hostile"]
STATUS = "var/lib/dpkg/status"


def _scan(ref: str, home: Path) -> dict[str, Any]:
    proc = hostile.keelwatch("scan", ref, "--no-vulns", "--no-store", "-q", "-f", "json", home=home)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def _debs(result: dict[str, Any]) -> dict[str, str]:
    return {p["name"]: p["version"] for p in result["packages"] if p["type"] == "deb"}


def _innocent(tmp_path: Path, real_status: bytes) -> tuple[Path, Any]:
    layer = make_layer([FileEntry(STATUS, real_status)])
    layout = tmp_path / "innocent"
    write_oci_layout(layout, [layer], tag="1")
    return layout, layer


def test_other_content_under_an_innocent_diff_id_is_not_served_from_the_cache(
    tmp_path, keelwatch_home, real_status
) -> None:
    layout, innocent = _innocent(tmp_path, real_status)
    warm = _debs(_scan(f"oci:{layout}:1", keelwatch_home))
    assert len(warm) > 10
    # The attacker's layer: other packages, a correct blob digest, but the innocent diff_id.
    evil = make_layer([FileEntry(STATUS, real_status + b"\nPackage: backdoor\nStatus: install ok installed\n"
                                 b"Version: 6.6.6\nArchitecture: amd64\n")])  # fmt: skip
    evil_layout = tmp_path / "evil"
    write_oci_layout(evil_layout, [evil], tag="1", extra_config={"rootfs": {"type": "layers",
                     "diff_ids": [innocent.diff_id]}})  # fmt: skip
    hostile.scan_fails_cleanly(
        f"oci:{evil_layout}:1", "does not match diff_id", home=keelwatch_home, watch=tmp_path
    )


def test_a_missing_blob_fails_even_with_a_warm_cache(tmp_path, keelwatch_home, real_status) -> None:
    layout, layer = _innocent(tmp_path, real_status)
    _scan(f"oci:{layout}:1", keelwatch_home)
    (layout / "blobs" / "sha256" / layer.digest.split(":")[1]).unlink()
    hostile.scan_fails_cleanly(f"oci:{layout}:1", "is missing", home=keelwatch_home, watch=tmp_path)


def test_an_edited_cache_entry_is_discarded_with_a_warning(tmp_path, keelwatch_home, real_status) -> None:
    layout, _ = _innocent(tmp_path, real_status)
    first = _scan(f"oci:{layout}:1", keelwatch_home)
    (entry,) = (keelwatch_home / "cache" / "layers").glob("*.json")
    raw = entry.read_bytes()
    name, version = next(iter(_debs(first).items()))
    hidden = raw.replace(f'"name":"{name}","version":"{version}"'.encode(), b'"name":"x","version":"0"', 1)
    assert hidden != raw
    for edited in (hidden, raw[:-40] + b"}", raw.replace(b'"mac":"', b'"mac":"0', 1)):
        entry.write_bytes(edited)
        again = _scan(f"oci:{layout}:1", keelwatch_home)
        assert _debs(again) == _debs(first)  # rescanned: the real package set
        assert any("layer cache" in w and "discarded" in w for w in again["warnings"]), again["warnings"]
        assert entry.read_bytes() == raw  # and the entry rebuilt
    # A forged entry with a recomputed plain checksum is still refused: the MAC needs the key.
    body = hidden[hidden.index(b'"entry":') + 8 : -1]
    forged = b'{"mac":"' + hashlib.sha256(body).hexdigest().encode() + b'","entry":' + body + b"}"
    entry.write_bytes(forged)
    assert _debs(_scan(f"oci:{layout}:1", keelwatch_home)) == _debs(first)
