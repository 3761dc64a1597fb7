"""The dpkg cataloger on this machine's real dpkg database, with dpkg-query and Syft as oracles."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from keelwatch.catalog.dpkg import DpkgCataloger, deb_purl, parse_copyright
from keelwatch.model import OSInfo

from ._support import FIXTURES, IN_CI, make_root, need, parse_ok, primary_location, scan_dir, syft_artifacts

STATUS = Path("/var/lib/dpkg/status")
CAT = DpkgCataloger()
DEBIAN12 = OSInfo(id="debian", version_id="12", name="Debian GNU/Linux")
# dpkg states in which the package's files are on disk (dpkg-query(1) db:Status-Status).
ON_DISK = {
    "installed",
    "half-installed",
    "unpacked",
    "half-configured",
    "triggers-awaited",
    "triggers-pending",
}


@pytest.fixture(scope="module")
def status_bytes() -> bytes:
    if not STATUS.is_file():
        if IN_CI:
            pytest.fail("CI runs on Debian: /var/lib/dpkg/status must exist")
        pytest.skip("not a dpkg system")
    return STATUS.read_bytes()


def _stanzas(data: bytes) -> dict[str, str]:
    text = data.decode()
    return {re.search(r"^Package: (\S+)", s, re.M).group(1): s for s in text.split("\n\n") if s.strip()}


def test_status_matches_dpkg_query(status_bytes: bytes) -> None:
    """Names, versions, architectures and source packages exactly as dpkg itself reports them."""
    dpkg_query = need("dpkg-query")
    fmt = (
        "${db:Status-Status}\t${Package}\t${Version}\t${Architecture}\t${source:Package}\t${source:Version}\n"
    )
    out = subprocess.run([dpkg_query, "-W", "-f", fmt], capture_output=True, text=True, check=True).stdout
    expected = {tuple(line.split("\t")[1:]) for line in out.splitlines() if line.split("\t")[0] in ON_DISK}
    result = parse_ok(CAT, str(STATUS), status_bytes)
    assert result.warnings == []
    ours = {(p.name, p.version, p.metadata["arch"], p.source_name, p.source_version) for p in result.packages}
    assert ours == expected
    assert all(p.type == "deb" and p.locations == [str(STATUS)] for p in result.packages)


def test_agrees_with_syft(status_bytes: bytes, tmp_path: Path) -> None:
    """Same packages, purls (distro, upstream, ':' and '+' encoding) as Syft; licences from the
    machine-readable copyright files are a superset of Syft's (tabs after `License:`)."""
    files: dict[str, Path | bytes | str] = {
        "/etc/os-release": FIXTURES / "dpkg/os-release",
        "/var/lib/dpkg/status": status_bytes,
    }
    for f in (FIXTURES / "dpkg/copyright").iterdir():
        files[f"/usr/share/doc/{f.name}/copyright"] = f
    root = make_root(tmp_path / "root", files)
    theirs = {
        (a["name"], a["version"]): a
        for a in syft_artifacts(root, tmp_path)
        if a["type"] == "deb" and primary_location(a) == "/var/lib/dpkg/status"
    }
    result = scan_dir(root)
    ours = {(p.name, p.version): p for p in result.packages if p.type == "deb"}
    assert set(ours) == set(theirs)
    assert {k: p.purl for k, p in ours.items()} == {k: a["purl"] for k, a in theirs.items()}
    with_copyright = [k for k in ours if (FIXTURES / "dpkg/copyright" / k[0]).exists()]
    assert with_copyright, "the fixture copyright files belong to installed packages"
    for key in with_copyright:
        syft_lic = {lic["value"] for lic in theirs[key]["licenses"]}
        assert syft_lic <= set(ours[key].licenses)
        assert ours[key].locations == ["/var/lib/dpkg/status", f"/usr/share/doc/{key[0]}/copyright"]


def test_copyright_parsing() -> None:
    def lic(name: str) -> list[str]:
        return parse_copyright((FIXTURES / "dpkg/copyright" / name).read_text())

    assert "public-domain" in lic("libgles-dev")  # `License:<TAB>public-domain`, missed by Syft 1.18
    # Free-form file: only single-word `License:` lines count, never prose.
    assert lic("python3-setuptools") == ["Apache-2.0", "BSD-3-clause"]
    assert all(" " not in x and not x.endswith(".") for n in ("libc6", "zlib1g") for x in lic(n))
    assert parse_copyright("") == [] and parse_copyright("License: none\n") == []


def test_distroless_status_d(tmp_path: Path) -> None:
    """Distroless images: one control stanza per file, *.md5sums beside them ignored."""
    status_d = FIXTURES / "dpkg/status.d"
    files: dict[str, Path | bytes | str] = {f"/var/lib/dpkg/status.d/{f.name}": f for f in status_d.iterdir()}
    files["/etc/os-release"] = FIXTURES / "dpkg/os-release"
    files["/usr/share/doc/libc6/copyright"] = FIXTURES / "dpkg/copyright/libc6"
    result = scan_dir(make_root(tmp_path / "root", files))
    assert result.warnings == []
    names = {p.name: p for p in result.packages if p.type == "deb"}
    stanzas = {f.name for f in status_d.iterdir() if "." not in f.name}
    assert set(names) == stanzas
    libc6 = names["libc6"]
    assert libc6.locations == ["/var/lib/dpkg/status.d/libc6", "/usr/share/doc/libc6/copyright"]
    assert libc6.licenses and libc6.source_name == "glibc"
    assert libc6.purl.startswith("pkg:deb/debian/libc6@") and "distro=debian-12" in libc6.purl


def test_status_filter_follows_syft(status_bytes: bytes) -> None:
    """Syft drops `deinstall` wants; keelwatch also drops not-installed/config-files states."""
    stanza = _stanzas(status_bytes)["base-files"]
    cases = {
        "install ok installed": True,
        "install ok half-installed": True,
        "install ok unpacked": True,
        "hold ok installed": True,
        "deinstall ok config-files": False,
        "deinstall ok installed": False,
        "purge ok not-installed": False,
        "install ok config-files": False,
    }
    for status, kept in cases.items():
        data = re.sub(r"^Status: .*$", f"Status: {status}", stanza, flags=re.M).encode()
        assert bool(CAT.parse("/var/lib/dpkg/status", data).packages) is kept, status
    no_status = re.sub(r"^Status: .*\n", "", stanza, flags=re.M).encode()
    assert len(CAT.parse("/var/lib/dpkg/status.d/base-files", no_status).packages) == 1


def test_malformed_status_gives_warnings(status_bytes: bytes) -> None:
    stanzas = list(_stanzas(status_bytes).values())[:6]
    garbage = "this is not a field\n\x00\x01 binary junk"
    broken = "\n\n".join([*stanzas[:2], garbage, stanzas[2], "Version: 1.0\nArchitecture: all", *stanzas[3:]])
    data = broken.encode() + b"\n\nPackage: bad\xff\xfe\nVersion: 1\n"
    result = parse_ok(CAT, "/var/lib/dpkg/status", data)
    assert len(result.packages) == 7  # the six real stanzas and the one with invalid UTF-8
    assert any("invalid UTF-8" in w for w in result.warnings)
    assert sum("skipped" in w for w in result.warnings) == 2
    assert all("/var/lib/dpkg/status" in w for w in result.warnings)
    truncated = status_bytes[: len(status_bytes) // 2]
    cut = parse_ok(CAT, "/var/lib/dpkg/status", truncated)
    assert len(cut.packages) >= 1
    for junk in (b"", b"\n\n\n", b"\xff" * 100, b":\n:\n", bytes(range(256))):
        parse_ok(CAT, "/var/lib/dpkg/status", junk)


def test_purl_namespaces(status_bytes: bytes) -> None:
    pkg = next(p for p in CAT.parse("/var/lib/dpkg/status", status_bytes).packages if p.name == "libc6")
    ubuntu = OSInfo(id="ubuntu", version_id="22.04", id_like=["debian"])
    assert deb_purl(pkg, ubuntu).startswith("pkg:deb/ubuntu/libc6@")
    assert "distro=ubuntu-22.04" in deb_purl(pkg, ubuntu)
    unknown = deb_purl(pkg, OSInfo())
    assert unknown.startswith("pkg:deb/debian/libc6@") and "distro=" not in unknown
    assert deb_purl(pkg, OSInfo(id="alpine", version_id="3.19.1")) == ""


def test_symlinked_doc_directories(status_bytes: bytes, tmp_path: Path) -> None:
    """This machine's real symlinked /usr/share/doc/<pkg> directories (policy 12.5: same source):
    the licences equal Syft's, which follows the links."""
    doc = Path("/usr/share/doc")
    names = {p.name for p in CAT.parse(str(STATUS), status_bytes).packages}
    links = sorted(d for d in doc.iterdir() if d.is_symlink() and d.name in names)[:5]
    if not links:
        pytest.skip("no symlinked doc directory on this system")
    files: dict[str, Path | bytes | str] = {
        "/etc/os-release": FIXTURES / "dpkg/os-release",
        "/var/lib/dpkg/status": status_bytes,
    }
    for link in links:
        target = link.resolve()
        if (target / "copyright").is_file():
            files[f"/usr/share/doc/{target.name}/copyright"] = target / "copyright"
    root = make_root(tmp_path / "root", files)
    for link in links:
        (root / "usr/share/doc" / link.name).symlink_to(link.resolve().name)
    theirs = {a["name"]: a for a in syft_artifacts(root, tmp_path) if a["type"] == "deb"}
    ours = {p.name: p for p in scan_dir(root).packages if p.type == "deb"}
    for link in links:
        syft_lic = sorted({lic["value"] for lic in theirs[link.name]["licenses"]})
        assert syft_lic, link.name
        assert set(syft_lic) <= set(ours[link.name].licenses), link.name
