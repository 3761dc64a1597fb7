"""The apk cataloger on a real Alpine installed database (see tests/fixtures/catalog/README.md)."""

from __future__ import annotations

from pathlib import Path

import pytest

from keelwatch.catalog.apk import ApkCataloger
from keelwatch.catalog.licenses import split_licenses
from keelwatch.model import OSInfo

from ._support import FIXTURES, make_root, parse_ok, primary_location, scan_dir, syft_artifacts

DB = FIXTURES / "apk/installed"
CAT = ApkCataloger()


def _stanza_fields(key: str) -> list[str]:
    """One value per stanza, read independently of the cataloger (missing -> '')."""
    out = []
    for stanza in DB.read_text().split("\n\n"):
        if stanza.strip():
            vals = [line[2:] for line in stanza.splitlines() if line.startswith(key + ":")]
            out.append(vals[0] if vals else "")
    return out


def test_every_stanza_is_a_package() -> None:
    result = parse_ok(CAT, "/lib/apk/db/installed", DB.read_bytes())
    assert result.warnings == []
    assert [(p.name, p.version) for p in result.packages] == list(
        zip(_stanza_fields("P"), _stanza_fields("V"), strict=True)
    )
    origins = _stanza_fields("o")
    for pkg, origin in zip(result.packages, origins, strict=True):
        assert pkg.type == "apk" and pkg.source_name == origin and pkg.source_version == pkg.version
        assert pkg.metadata["arch"] == "armv7"
    musl = result.packages[0]
    assert "lib/ld-musl-armhf.so.1" in musl.metadata["files"]


def test_agrees_with_syft(tmp_path: Path) -> None:
    root = make_root(
        tmp_path / "root",
        {"/lib/apk/db/installed": DB, "/etc/os-release": FIXTURES / "apk/os-release"},
    )
    theirs = sorted(
        (a["name"], a["version"], a["purl"], sorted(lic["value"] for lic in a["licenses"]))
        for a in syft_artifacts(root, tmp_path)
        if a["type"] == "apk" and primary_location(a) == "/lib/apk/db/installed"
    )
    result = scan_dir(root)
    ours = sorted((p.name, p.version, p.purl, sorted(p.licenses)) for p in result.packages if p.type == "apk")
    assert ours == theirs
    assert result.image.os.id == "alpine"


def test_purl_without_os_release() -> None:
    pkg = CAT.parse("/lib/apk/db/installed", DB.read_bytes()).packages[1]
    [done] = CAT.finalize([pkg], [], OSInfo())
    assert done.purl == "pkg:apk/alpine/libcrypto1.1@1.1.1k-r0?arch=armv7&upstream=openssl"


def test_malformed_database_gives_warnings() -> None:
    data = DB.read_bytes()
    stanzas = data.split(b"\n\n")
    broken = b"\n\n".join([stanzas[0], b"garbage line\nP:half", stanzas[1], b"\xff\xfeP:x\nV:1"])
    result = parse_ok(CAT, "/lib/apk/db/installed", broken)
    assert [p.name for p in result.packages] == ["musl", "libcrypto1.1"]
    assert any("stanza 2" in w for w in result.warnings)
    assert any("stanza 4" in w for w in result.warnings)
    assert any("invalid UTF-8" in w for w in result.warnings)
    parse_ok(CAT, "/lib/apk/db/installed", data[: len(data) // 3])
    for junk in (b"", b"\n\n", b"\x00" * 50, b"P:\nV:\n", b"::::\n"):
        parse_ok(CAT, "/lib/apk/db/installed", junk)


@pytest.mark.parametrize(
    ("field", "expected"),
    [
        ("MIT", ["MIT"]),
        ("MPL-2.0 AND MIT", ["MPL-2.0 AND MIT"]),
        ("ISC AND (BSD-3-Clause OR MIT)", ["ISC AND (BSD-3-Clause OR MIT)"]),
        ("GPL-2.0-or-later WITH Classpath-exception-2.0", ["GPL-2.0-or-later WITH Classpath-exception-2.0"]),
        ("MIT BSD GPL2+", ["MIT", "BSD", "GPL2+"]),
        ("GPL-2.0-or-later LGPL-2.1-or-later", ["GPL-2.0-or-later", "LGPL-2.1-or-later"]),
        ("(MIT", ["(MIT"]),
        ("AND MIT", ["AND", "MIT"]),
        ("", []),
    ],
)
def test_licence_field_split(field: str, expected: list[str]) -> None:
    assert split_licenses(field) == expected
