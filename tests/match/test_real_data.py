"""Matching against the real shared data: OSV PyPI, Alpine secdb, DSA list, KEV.

Expectations are computed in the test straight from the raw files with the simplest
possible rule (PyPI: the record lists the version in `versions`, or a plain
introduced/fixed ECOSYSTEM pair covers it; Alpine/Debian: the version is below the
published fix), never copied from the matcher's output.
"""

from __future__ import annotations

import json
import re
import zipfile
from pathlib import Path

from packaging.version import InvalidVersion, Version

from keelwatch.model import OSInfo, Package
from keelwatch.vulndb.match import match_packages
from keelwatch.vulndb.versions import scheme_for

PACKAGES = {"requests": "2.19.1", "urllib3": "1.24.1", "jinja2": "2.10", "pyyaml": "5.3"}


def norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _covered(version: str, entry: dict) -> bool:
    if version in (entry.get("versions") or []):
        return True
    v = Version(version)
    for rng in entry.get("ranges") or []:
        if rng["type"] != "ECOSYSTEM":
            continue
        lo, hi, last = None, None, None
        for ev in rng["events"]:
            lo = ev.get("introduced", lo)
            hi = ev.get("fixed", hi)
            last = ev.get("last_affected", last)
        try:
            above = lo in (None, "0") or v >= Version(lo)
            below = (hi is None or v < Version(hi)) and (last is None or v <= Version(last))
        except InvalidVersion:
            continue
        if above and below and len(rng["events"]) <= 2:
            return True
    return False


def expected_pypi(shared_data: Path, name: str, version: str) -> set[str]:
    out = set()
    with zipfile.ZipFile(shared_data / "osv" / "PyPI" / "all.zip") as zf:
        for member in zf.namelist():
            doc = json.loads(zf.read(member))
            if doc.get("withdrawn"):
                continue
            for entry in doc.get("affected") or []:
                pkg = entry.get("package") or {}
                if (
                    pkg.get("ecosystem") == "PyPI"
                    and norm(pkg.get("name", "")) == name
                    and _covered(version, entry)
                ):
                    out.add(doc["id"])
    return out


def test_pypi_real_advisories(shared_data: Path, kb) -> None:  # type: ignore[no-untyped-def]
    pkgs = [Package(n, v, "python", purl=f"pkg:pypi/{n}@{v}") for n, v in PACKAGES.items()]
    result = match_packages(pkgs, OSInfo(), kb)
    assert not result.warnings
    for name, version in PACKAGES.items():
        want = expected_pypi(shared_data, name, version)
        assert want, f"the data names no advisory for {name} {version}"
        got = {i for f in result.findings if f.package.name == name for i in f.ids if i.startswith("PYSEC-")}
        assert got == want, (name, got ^ want)
    requests_ids = {i for f in result.findings if f.package.name == "requests" for i in f.ids}
    assert "PYSEC-2018-28" in requests_ids and "CVE-2018-18074" in requests_ids
    # one finding per flaw: no PYSEC id appears in two findings of one package
    for name in PACKAGES:
        ids = [i for f in result.findings if f.package.name == name for i in f.ids]
        assert len(ids) == len(set(ids))


def test_pypi_at_or_above_fix_not_affected(kb) -> None:  # type: ignore[no-untyped-def]
    pkgs = [Package(n, v, "python") for n, v in PACKAGES.items()]
    before = match_packages(pkgs, OSInfo(), kb).findings
    for finding in before:
        target = finding.remediation.target_version
        assert target and finding.status == "fixed"
        after = match_packages([Package(finding.package.name, target, "python")], OSInfo(), kb).findings
        assert finding.id not in {f.id for f in after}, (finding.id, target)
    latest = match_packages([Package("requests", "2.32.3", "python")], OSInfo(), kb).findings
    assert latest == []


def _secfixes(shared_data: Path, branch: str, pkg: str) -> dict[str, list[str]]:
    for repo in ("main", "community"):
        doc = json.loads((shared_data / "alpine-secdb" / branch / f"{repo}.json").read_text())
        for item in doc["packages"]:
            if item["pkg"]["name"] == pkg:
                return item["pkg"]["secfixes"]
    raise AssertionError(f"{pkg} not in {branch}")


def test_alpine_openssl_v3_11(shared_data: Path, kb) -> None:  # type: ignore[no-untyped-def]
    fixes = _secfixes(shared_data, "v3.11", "openssl")
    apk = scheme_for("Alpine:v3.11")
    real = sorted((v for v in fixes if v != "0"), key=apk.key)
    oldest, newest = real[0], real[-1]
    alpine = OSInfo(id="alpine", version_id="3.11.6")
    # installed below the oldest fix: every CVE of every secfix applies
    installed = "1.0.0-r0"
    assert apk.compare(installed, oldest) < 0
    pkg = Package("libcrypto1.1", installed, "apk", source_name="openssl")
    got = {i for f in match_packages([pkg], alpine, kb).findings for i in f.ids}
    for version, ids in fixes.items():
        if version == "0":
            continue
        for text in ids:
            assert text.split()[0] in got, (version, text)
    at_newest = Package("openssl", newest, "apk")
    got_new = {i for f in match_packages([at_newest], alpine, kb).findings for i in f.ids}
    assert not any(text.split()[0] in got_new for v, ids in fixes.items() if v != "0" for text in ids)


def test_alpine_zero_secfix_never_affected(shared_data: Path, kb) -> None:  # type: ignore[no-untyped-def]
    checked = 0
    for branch_dir in sorted((shared_data / "alpine-secdb").iterdir()):
        for repo in ("main", "community"):
            path = branch_dir / f"{repo}.json"
            if not path.is_file():
                continue
            for item in json.loads(path.read_text()).get("packages") or []:
                zero = item["pkg"]["secfixes"].get("0")
                if not zero:
                    continue
                name = item["pkg"]["name"]
                fixed_ids = {
                    i.split()[0] for v, ids in item["pkg"]["secfixes"].items() if v != "0" for i in ids
                }
                os_info = OSInfo(id="alpine", version_id=branch_dir.name[1:] + ".0")
                found = match_packages([Package(name, "0.0.1-r0", "apk")], os_info, kb).findings
                ids = {i for f in found for i in f.ids}
                for text in zero:
                    cve = text.split()[0]
                    if cve not in fixed_ids:
                        assert cve not in ids, (branch_dir.name, name, cve)
                        checked += 1
    assert checked, "no '0' secfix in the data"


def _dsa(shared_data: Path, release: str, package: str) -> tuple[str, list[str], str]:
    """The first DSA in the list with a fixed version of `package` for `release`."""
    text = (shared_data / "debian" / "DSA-list").read_text(encoding="utf-8", errors="replace")
    for block in re.split(r"\n(?=\[)", text):
        header = block.split("\n", 1)[0]
        m = re.search(rf"^\s+\[{release}\] - {re.escape(package)} (\S+)\s*$", block, re.M)
        cves = re.search(r"\{([^}]*)\}", block)
        if m and cves and not m.group(1).startswith("<"):
            return header.split()[3], cves.group(1).split(), m.group(1)
    raise AssertionError(f"no DSA for {package} in {release}")


def test_debian_dsa_before_and_after_fix(shared_data: Path, kb) -> None:  # type: ignore[no-untyped-def]
    for release, os_version in (("buster", "10"), ("bullseye", "11")):
        dsa, cves, fixed = _dsa(shared_data, release, "openssl")
        debian = OSInfo(id="debian", version_id=os_version)
        dpkg = scheme_for("Debian:10")
        before = "1.0.0-1"
        assert dpkg.compare(before, fixed) < 0
        pkgs = [
            Package("libssl1.1", before, "deb", source_name="openssl", source_version=before),
            Package("openssl", before, "deb"),
        ]
        found = match_packages(pkgs, debian, kb).findings
        by_pkg = {(f.package.name, i) for f in found for i in f.ids}
        for cve in cves:
            assert ("libssl1.1", cve) in by_pkg and ("openssl", cve) in by_pkg, (release, cve)
            assert ("libssl1.1", dsa) in by_pkg
        cmd = next(f for f in found if f.package.name == "libssl1.1").remediation.command
        assert cmd.startswith("apt-get install --only-upgrade libssl1.1=") and " openssl=" in cmd
        after = match_packages([Package("openssl", fixed, "deb")], debian, kb).findings
        assert dsa not in {i for f in after for i in f.ids}


def test_kev_flag_from_real_catalogue(shared_data: Path, kb) -> None:  # type: ignore[no-untyped-def]
    kev = {
        v["cveID"]: v["dateAdded"]
        for v in json.loads((shared_data / "kev" / "known_exploited_vulnerabilities.json").read_text())[
            "vulnerabilities"
        ]
    }
    text = (shared_data / "debian" / "DSA-list").read_text(encoding="utf-8", errors="replace")
    for block in re.split(r"\n(?=\[)", text):
        cves = re.search(r"\{([^}]*)\}", block)
        m = re.search(r"^\s+\[buster\] - (\S+) (\S+)\s*$", block, re.M)
        hit = [c for c in (cves.group(1).split() if cves else []) if c in kev]
        if m and hit and not m.group(2).startswith("<"):
            package, cve = m.group(1), hit[0]
            break
    else:
        raise AssertionError("no KEV CVE in a buster DSA")
    found = match_packages([Package(package, "0.0.1-1", "deb")], OSInfo(id="debian", version_id="10"), kb)
    [finding] = [f for f in found.findings if cve in f.ids]
    assert finding.kev.flag and finding.kev.date_added == kev[cve]
    assert not any(f.kev.flag for f in found.findings if not set(f.ids) & set(kev))
