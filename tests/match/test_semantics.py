"""OSV range semantics and record merging, on records written here in OSV shape."""

from __future__ import annotations

import pytest

from keelwatch.model import OSInfo, Package
from keelwatch.vulndb.match import match_packages, primary_id


def rec(rid: str, events: list[dict], *, name: str = "demo", eco: str = "PyPI", **extra) -> dict:  # type: ignore[no-untyped-def]
    rtype = extra.pop("rtype", "ECOSYSTEM")
    entry = {"package": {"ecosystem": eco, "name": name}, "ranges": [{"type": rtype, "events": events}]}
    entry.update(extra.pop("entry", {}))
    return {"id": rid, "aliases": extra.pop("aliases", []), "affected": [entry], **extra}


def ids(kb, version: str, name: str = "demo", ptype: str = "python", os_info: OSInfo | None = None):  # type: ignore[no-untyped-def]
    result = match_packages([Package(name, version, ptype)], os_info or OSInfo(), kb)
    return {f.id for f in result.findings}, result


@pytest.mark.parametrize(
    ("version", "affected"),
    [
        ("0.9", False),
        ("1.0", True),
        ("1.5", True),
        ("2.0", True),
        ("2.0.1", False),
        ("3.0", True),
        ("3.1", False),
    ],
)
def test_last_affected_is_inclusive(memory_kb, version: str, affected: bool) -> None:  # type: ignore[no-untyped-def]
    # unsorted on purpose: evaluation sorts events by version first
    events = [{"last_affected": "2.0"}, {"introduced": "3.0"}, {"introduced": "1.0"}, {"fixed": "3.1"}]
    kb = memory_kb([rec("OSV-1", events)])
    assert ("OSV-1" in ids(kb, version)[0]) is affected, version


@pytest.mark.parametrize(
    ("version", "affected"), [("1.0", True), ("1.9", True), ("2.0", False), ("5.0", False)]
)
def test_limit_caps_the_range(memory_kb, version: str, affected: bool) -> None:  # type: ignore[no-untyped-def]
    kb = memory_kb([rec("OSV-2", [{"introduced": "0"}, {"limit": "2.0"}])])
    assert ("OSV-2" in ids(kb, version)[0]) is affected


def test_fixed_reports_nearest_fix_above(memory_kb) -> None:  # type: ignore[no-untyped-def]
    events = [{"introduced": "1.0"}, {"fixed": "1.2"}, {"introduced": "2.0"}, {"fixed": "2.3"}]
    kb = memory_kb([rec("OSV-3", events)])
    found, result = ids(kb, "2.1")
    assert found == {"OSV-3"} and result.findings[0].fixed_versions == ["2.3"]
    assert ids(kb, "1.5")[0] == set() and ids(kb, "2.3")[0] == set()
    assert ids(kb, "1.1")[1].findings[0].remediation.command == "pip install 'demo>=1.2'"


def test_versions_list_withdrawn_git_and_bad_records(memory_kb) -> None:  # type: ignore[no-untyped-def]
    listed = {
        "id": "OSV-L",
        "affected": [{"package": {"ecosystem": "PyPI", "name": "demo"}, "versions": ["1.4"]}],
    }
    withdrawn = rec("OSV-W", [{"introduced": "0"}], withdrawn="2024-01-01T00:00:00Z")
    git = rec("OSV-G", [{"introduced": "0"}, {"fixed": "abc123"}], rtype="GIT")
    unknown = rec("OSV-U", [{"introduced": "0"}], rtype="CALVER")
    bad = rec("OSV-B", [{"introduced": "0"}, {"fixed": "not a version!"}])
    kb = memory_kb([listed, withdrawn, git, unknown, bad])
    found, result = ids(kb, "1.4")
    assert found == {"OSV-L"}
    text = "\n".join(result.warnings)
    assert "OSV-U" in text and "unknown range type" in text and "OSV-B" in text
    assert any("GIT" in n for n in result.notes)
    assert ids(kb, "1.5")[0] == set()


def test_semver_range_on_npm(memory_kb) -> None:  # type: ignore[no-untyped-def]
    kb = memory_kb(
        [
            rec(
                "GHSA-aaaa",
                [{"introduced": "4.0.0"}, {"fixed": "4.17.21"}],
                eco="npm",
                name="lodash",
                rtype="SEMVER",
            )
        ]
    )
    assert ids(kb, "4.17.15", "lodash", "npm")[0] == {"GHSA-aaaa"}
    assert ids(kb, "4.17.21", "lodash", "npm")[0] == set()
    assert ids(kb, "4.17.21-beta.1", "lodash", "npm")[0] == {"GHSA-aaaa"}


def test_alias_merging_transitive_and_umbrella(memory_kb) -> None:  # type: ignore[no-untyped-def]
    ev = [{"introduced": "0"}, {"fixed": "2.0"}]
    records = [
        rec("PYSEC-2020-1", ev, aliases=["GHSA-xxxx-1111"]),
        rec("GHSA-xxxx-1111", [{"introduced": "0"}, {"fixed": "2.1"}], aliases=["CVE-2020-0001"]),
        rec("OSV-OTHER", ev, aliases=["PYSEC-2020-1"]),  # linked only through PYSEC: transitive
        rec("DSA-9999-1", ev, aliases=["CVE-2020-0001", "CVE-2020-0002"]),  # umbrella: not merged
        rec("PYSEC-2021-9", ev),
    ]
    kb = memory_kb(records)
    _, result = ids(kb, "1.0")
    by_id = {f.id: f for f in result.findings}
    assert set(by_id) == {"CVE-2020-0001", "CVE-2020-0002", "PYSEC-2021-9"}
    one = by_id["CVE-2020-0001"]
    assert set(one.aliases) == {"PYSEC-2020-1", "GHSA-xxxx-1111", "OSV-OTHER", "DSA-9999-1"}
    assert one.fixed_versions == ["2.0", "2.1"] and one.remediation.target_version == "2.1"
    assert by_id["CVE-2020-0002"].aliases == ["DSA-9999-1"]
    assert primary_id(["PYSEC-1", "GHSA-b", "GHSA-a"]) == "GHSA-a"
    assert primary_id(["CVE-2020-10000", "CVE-2020-9999"]) == "CVE-2020-9999"


def test_undetermined_and_no_fix_status(memory_kb) -> None:  # type: ignore[no-untyped-def]
    und = rec(
        "DEBIAN-TEMP-1",
        [{"introduced": "0"}],
        eco="Debian:12",
        name="curl",
        entry={"database_specific": {"status": "undetermined"}},
    )
    open_ = rec(
        "DEBIAN-CVE-2024-1",
        [{"introduced": "0"}],
        eco="Debian:12",
        name="curl",
        aliases=["CVE-2024-1"],
        entry={"database_specific": {"urgency": "high"}},
    )
    kb = memory_kb([und, open_])
    debian = OSInfo(id="debian", version_id="12")
    _, result = ids(kb, "7.88.1-10", "libcurl4", "deb", debian)
    assert result.findings == []  # binary name is not the source name
    pkg = Package("libcurl4", "7.88.1-10", "deb", source_name="curl")
    found = {f.id: f for f in match_packages([pkg], debian, kb).findings}
    assert found["DEBIAN-TEMP-1"].status == "undetermined"
    cve = found["CVE-2024-1"]
    assert cve.status == "not-fixed" and cve.fixed_versions == [] and cve.severity.level == "high"
    assert cve.remediation.command == ""


def test_cvss_severity_and_epss(memory_kb) -> None:  # type: ignore[no-untyped-def]
    from keelwatch.vulndb.model import EpssScore

    r = rec(
        "GHSA-sev",
        [{"introduced": "0"}],
        aliases=["CVE-2021-5"],
        severity=[{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}],
    )
    kb = memory_kb([r], epss=[EpssScore("CVE-2021-5", 0.97, 0.999, "v2023.03.01", "2024-04-15")])
    [f] = match_packages([Package("demo", "1.0", "python")], OSInfo(), kb).findings
    assert (
        f.severity.level == "critical"
        and f.severity.score == 9.8
        and f.severity.vector.startswith("CVSS:3.1/")
    )
    assert f.epss is not None and f.epss.score == 0.97 and f.epss.percentile == 0.999


def test_base_image_remediation(memory_kb) -> None:  # type: ignore[no-untyped-def]
    kb = memory_kb([rec("OSV-9", [{"introduced": "0"}, {"fixed": "1.1"}])])
    pkgs = [Package("demo", "1.0", "python", layer_index=0), Package("demo", "1.0", "python", layer_index=3)]
    findings = match_packages(pkgs, OSInfo(), kb, first_own_layer=2).findings
    base = next(f for f in findings if f.layer_index == 0)
    own = next(f for f in findings if f.layer_index == 3)
    assert base.remediation.in_base_image is True and "base image" in base.remediation.advice
    assert own.remediation.in_base_image is False and own.remediation.command == "pip install 'demo>=1.1'"
    unknown = match_packages(pkgs[:1], OSInfo(), kb).findings[0]
    assert unknown.remediation.in_base_image is None
