"""Debian (tracker JSON fixture, real DSA/DLA lists) and Alpine secdb (real) as OSV-shaped advisories."""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

from keelwatch.app.feeds import update_feeds as update
from keelwatch.store.kb import SqlKnowledgeBase
from keelwatch.vulndb.feeds import debian
from keelwatch.vulndb.feeds.base import Report

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "feeds"


def one(results, feed):  # type: ignore[no-untyped-def]
    [res] = [r for r in results if r.feed == feed]
    return res


def test_tracker_json_conversion(store, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Fixture in the tracker's documented JSON export format (no real copy offline)."""
    mirror = tmp_path / "m" / "tracker" / "data"
    mirror.mkdir(parents=True)
    shutil.copy(FIXTURES / "tracker.json", mirror / "json")
    res = one(update(store, ["debian-tracker"], str(tmp_path / "m")), "debian-tracker")
    assert res.status == "updated", res.message
    assert res.records == 4  # CVE-2023-0286, CVE-2024-2511, CVE-2023-38545, TEMP-…
    kb = SqlKnowledgeBase(store)
    [adv] = [a for a in kb.advisories_for("Debian:12", "openssl") if a.id == "DEBIAN-CVE-2023-0286"]
    assert adv.aliases == ["CVE-2023-0286"] and adv.source == "debian-tracker"
    ecos = {(e["package"]["ecosystem"], e["package"]["name"]): e for e in adv.affected}
    # sid has no version number -> no entry; openssl1.0 with fixed_version "0" -> not affected
    assert set(ecos) == {("Debian:12", "openssl"), ("Debian:11", "openssl")}
    assert ecos[("Debian:11", "openssl")]["ranges"][0]["events"] == [
        {"introduced": "0"},
        {"fixed": "1.1.1n-0+deb11u4"},
    ]
    assert kb.advisories_for("Debian:12", "openssl1.0") == []
    [open_adv] = [a for a in kb.advisories_for("Debian:11", "openssl") if a.id == "DEBIAN-CVE-2024-2511"]
    entry = next(e for e in open_adv.affected if e["package"]["ecosystem"] == "Debian:11")
    assert entry["ranges"][0]["events"] == [{"introduced": "0"}]  # open: no fix yet
    assert entry["database_specific"]["nodsa_reason"] == "postponed"
    [undetermined] = [a for a in kb.advisories_for("Debian:12", "curl") if a.id.startswith("DEBIAN-TEMP")]
    assert undetermined.aliases == []
    assert undetermined.affected[0]["database_specific"]["status"] == "undetermined"
    curl = next(a for a in kb.advisories_for("Debian:13", "curl") if a.id == "DEBIAN-CVE-2023-38545")
    assert {e["package"]["ecosystem"] for e in curl.affected} == {"Debian:12", "Debian:13"}


def test_tracker_bad_inputs() -> None:
    report = Report("debian-tracker")
    doc = {"pkg": {"CVE-1": {"releases": {"bookworm": {"status": "weird"}, "hamm": {"status": "open"}}}}}
    advs = list(debian.read_tracker(io.StringIO(json.dumps(doc)), report))
    assert [a.id for a in advs] == ["DEBIAN-CVE-1"] and advs[0].affected == []
    text = "\n".join(report.warnings)
    assert "unknown status 'weird'" in text and "unknown release 'hamm'" in text


def test_dsa_dla_lists_real(store, shared_data: Path) -> None:  # type: ignore[no-untyped-def]
    results = update(store, ["debian-dsa", "debian-dla"], str(shared_data))
    dsa, dla = one(results, "debian-dsa"), one(results, "debian-dla")
    assert dsa.status == dla.status == "updated"
    assert dsa.records > 5000 and dla.records > 3000
    kb = SqlKnowledgeBase(store)
    [adv] = [a for a in kb.advisories_for("Debian:11", "xorg-server") if a.id == "DSA-5380-1"]
    assert adv.aliases == ["CVE-2023-1393"]
    assert adv.raw["published"] == "2023-03-29T00:00:00Z"
    assert adv.affected == [
        {
            "package": {"ecosystem": "Debian:11", "name": "xorg-server"},
            "ranges": [
                {"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "2:1.20.11-1+deb11u6"}]}
            ],
        }
    ]
    dla_adv = next(a for a in kb.advisories_for("Debian:10", "systemd") if a.id == "DLA-3377-1")
    assert dla_adv.source == "debian-dla" and dla_adv.aliases == ["CVE-2023-26604"]
    # old releases map to OSV's numbering; <not-affected> lines are no affected entry
    assert any(a.id.startswith("DSA-") for a in kb.advisories_for("Debian:3.0", "mailman"))


def test_dsa_list_notes_and_not_affected() -> None:
    text = (
        "[01 Jan 2008] DSA-1-1 foo bar - several vulnerabilities\n"
        "\t{CVE-2008-0001 CVE-2008-0002}\n"
        "\t[etch] - foo 1.0-1etch1\n"
        "\t[sarge] - bar <not-affected> (Vulnerable code not present)\n"
        "\t[lenny] - foo <unfixed>\n"
        "\tNOTE: fixed in testing at time of DSA\n"
        "\tgarbage line\n"
    )
    report = Report("debian-dsa")
    [adv] = list(debian.read_list(io.StringIO(text), report, "debian-dsa"))
    assert adv.id == "DSA-1-1" and adv.aliases == ["CVE-2008-0001", "CVE-2008-0002"]
    assert [e["package"]["ecosystem"] for e in adv.affected] == ["Debian:4.0", "Debian:5.0"]
    assert adv.affected[1]["ranges"][0]["events"] == [{"introduced": "0"}]
    assert adv.raw["database_specific"]["notes"] == ["fixed in testing at time of DSA"]
    assert adv.raw["database_specific"]["not_affected"][0]["package"] == "bar"
    assert any("garbage line" in w for w in report.warnings)


def test_not_a_dsa_list_is_rejected(store, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "data" / "DSA").mkdir(parents=True)
    (tmp_path / "data" / "DSA" / "list").write_text("<html>not found</html>\n")
    res = one(update(store, ["debian-dsa"], str(tmp_path)), "debian-dsa")
    assert res.status == "failed" and "not a DSA/DLA list header" in res.message


def test_alpine_secdb_real(store, shared_data: Path) -> None:  # type: ignore[no-untyped-def]
    res = one(update(store, ["alpine-secdb"], str(shared_data)), "alpine-secdb")
    assert res.status == "updated", res.message
    assert res.records > 2000
    text = "\n".join(res.warnings)
    assert "heimdal 7.4.0-r0" in text  # a real secfix with no id list, reported not dropped silently
    kb = SqlKnowledgeBase(store)
    [adv] = [a for a in kb.advisories_for("Alpine:v3.11", "ansible") if a.id == "ALPINE-CVE-2019-14904"]
    assert adv.aliases == ["CVE-2019-14904"]
    entry = next(e for e in adv.affected if e["package"]["ecosystem"] == "Alpine:v3.11")
    assert entry["ranges"][0]["events"] == [{"introduced": "0"}, {"fixed": "2.9.3-r0"}]
    # "0": db in v3.8 was never affected by these CVEs
    assert not [a for a in kb.advisories_for("Alpine:v3.8", "db") if a.id == "ALPINE-CVE-2016-0682"]
    # extra ids on an id line become aliases
    xen = [a for a in kb.advisories_for("Alpine:v3.11", "xen") if "XSA-309" in a.aliases]
    assert xen and xen[0].aliases[0] == "CVE-2019-19578"


def test_list_snapshot_is_newest_advisory(store, shared_data: Path) -> None:  # type: ignore[no-untyped-def]
    from sqlalchemy import select

    from keelwatch.store.models import FeedState

    update(store, ["debian-dsa"], str(shared_data))
    with store.read() as conn:
        snap = conn.execute(select(FeedState.snapshot_at).where(FeedState.feed == "debian-dsa")).scalar()
    assert snap == "2023-03-29T00:00:00Z"  # DSA-5380-1, the newest entry of the real list
