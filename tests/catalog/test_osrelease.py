"""OS identification: real os-release files, the older fallbacks and their precedence."""

from __future__ import annotations

from pathlib import Path

import pytest

from keelwatch.catalog.osrelease import OsReleaseCataloger, parse_os_release
from keelwatch.model import OSInfo

from ._support import FIXTURES, make_root, scan_dir

CAT = OsReleaseCataloger()


def _os(path: str, data: bytes) -> OSInfo | None:
    facts = CAT.parse(path, data).facts
    return OSInfo.from_dict(facts["os"]) if "os" in facts else None


def test_this_machines_os_release() -> None:
    """Every key of the real file lands where os-release(5) says (parsed independently here)."""
    data = Path("/etc/os-release").read_bytes()
    info = _os("/etc/os-release", data)
    assert info is not None
    expected = {}
    for line in data.decode().splitlines():
        if "=" in line and not line.startswith("#"):
            k, v = line.split("=", 1)
            expected[k] = v.strip().strip('"')
    assert info.id == expected["ID"]
    assert info.version_id == expected.get("VERSION_ID", "")
    assert info.pretty_name == expected.get("PRETTY_NAME", "")
    assert info.id_like == expected.get("ID_LIKE", "").split()


def test_alpine_os_release_and_alpine_release() -> None:
    info = _os("/etc/os-release", (FIXTURES / "apk/os-release").read_bytes())
    assert info == OSInfo(
        id="alpine", version_id="3.19.1", name="Alpine Linux", pretty_name="Alpine Linux v3.19"
    )
    fallback = _os("/etc/alpine-release", (FIXTURES / "apk/alpine-release").read_bytes())
    assert fallback is not None and (fallback.id, fallback.version_id) == ("alpine", "3.19.1")


def test_debian_version_fallback() -> None:
    data = Path("/etc/debian_version").read_bytes()
    info = _os("/etc/debian_version", data)
    assert info is not None and info.id == "debian"
    assert info.version_id == data.decode().strip().split(".")[0]
    sid = _os("/etc/debian_version", b"trixie/sid\n")
    assert sid is not None and (sid.version_id, sid.version_codename) == ("", "trixie")


@pytest.mark.parametrize(
    ("line", "os_id", "version"),
    [
        # Lines as the distributions ship them (also Syft's redhat-release fixtures).
        ("CentOS release 6.10 (Final)", "centos", "6.10"),
        ("Red Hat Enterprise Linux Server release 7.9 (Maipo)", "rhel", "7.9"),
        ("Rocky Linux release 8.9 (Green Obsidian)", "rocky", "8.9"),
    ],
)
def test_redhat_release_fallback(line: str, os_id: str, version: str) -> None:
    info = _os("/etc/redhat-release", (line + "\n").encode())
    assert info is not None and (info.id, info.version_id) == (os_id, version)


@pytest.mark.parametrize("data", [b"", b"\n\n", b"garbage without equals\n\xff\xfe", b"ID=\n"])
def test_files_that_identify_nothing_give_no_fact(data: bytes) -> None:
    for path in CAT.patterns:
        assert CAT.parse(path, data).facts == {}


def test_quoting_and_comments() -> None:
    values = parse_os_release('# c\nNAME="A \\"b\\""\nID=\'x\'\n  VERSION_ID=1 \nbad line\n=nokey\n')
    assert values == {"NAME": 'A "b"', "ID": "x", "VERSION_ID": "1"}


def test_precedence_in_an_image(tmp_path: Path) -> None:
    """Through the scan engine: os-release beats the fallbacks, fallbacks work alone, none -> empty."""
    both = make_root(
        tmp_path / "both",
        {"/etc/os-release": FIXTURES / "dpkg/os-release", "/etc/debian_version": b"11.9\n"},
    )
    assert scan_dir(both).image.os.version_id == "12"
    only = make_root(tmp_path / "only", {"/etc/debian_version": b"11.9\n"})
    assert (scan_dir(only).image.os.id, scan_dir(only).image.os.version_id) == ("debian", "11")
    empty_os = make_root(tmp_path / "emptyos", {"/etc/os-release": b"\n", "/etc/alpine-release": b"3.19.1\n"})
    assert scan_dir(empty_os).image.os.id == "alpine"
    scratch = make_root(tmp_path / "scratch", {"/app/hello.txt": b"hi\n"})
    result = scan_dir(scratch)
    assert result.image.os.empty and result.packages == []
