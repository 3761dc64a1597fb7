"""OpenVEX and ignore-file suppression (kept, flagged, expiring) and SARIF 2.1.0 output.

SARIF is validated against the SARIF 2.1.0 JSON schema in tests/schemas (see its README).
"""

from __future__ import annotations

import datetime as dt
import gzip
import json
from pathlib import Path

import jsonschema

from keelwatch.model import OSInfo, Package
from keelwatch.sbom.sarif import to_sarif
from keelwatch.vulndb.match import match_packages
from keelwatch.vulndb.suppress import Suppressor

SCHEMA = Path(__file__).resolve().parent.parent / "schemas" / "sarif-2.1.0-rtm.5.json"
PKGS = [
    Package(
        "requests",
        "2.19.1",
        "python",
        purl="pkg:pypi/requests@2.19.1",
        locations=["/usr/lib/python3/dist-packages/requests-2.19.1.dist-info/METADATA"],
        layer_index=2,
    ),
    Package("urllib3", "1.24.1", "python", purl="pkg:pypi/urllib3@1.24.1", layer_index=0),
]


def vex(statements: list[dict]) -> dict:
    return {
        "@context": "https://openvex.dev/ns/v0.2.0",
        "@id": "https://example.com/vex/1",
        "author": "security@example.com",
        "timestamp": "2024-01-01T00:00:00Z",
        "version": 1,
        "statements": statements,
    }


def test_openvex_and_ignore_file(kb, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    doc = vex(
        [
            {
                "vulnerability": {"name": "CVE-2018-18074"},
                "products": [{"@id": "pkg:pypi/requests"}],
                "status": "not_affected",
                "justification": "vulnerable_code_not_in_execute_path",
            },
            {
                "vulnerability": {"name": "GHSA-j8r2-6x86-q33q"},
                "products": [{"@id": "pkg:pypi/requests@2.19.1"}],
                "status": "not_affected",
            },  # no justification: invalid, ignored
            {
                "vulnerability": {"name": "CVE-2019-11324"},
                "products": [{"@id": "pkg:pypi/urllib3@1.24.1"}],
                "status": "affected",
                "action_statement": "upgrade",
            },
            {
                "vulnerability": {"name": "CVE-2019-11236"},
                "products": [{"@id": "pkg:pypi/urllib3@9.9"}],
                "status": "not_affected",
                "impact_statement": "other version only",
            },
        ]
    )
    vex_path = tmp_path / "doc.openvex.json"
    vex_path.write_text(json.dumps(doc))
    ignore = tmp_path / "ignore.yaml"
    ignore.write_text(
        "- id: CVE-2020-26137\n  package: urllib3\n  reason: not reachable\n  expires: 2099-01-01\n"
        "- id: CVE-2021-33503\n  package: pkg:pypi/urllib3\n  reason: old waiver\n  expires: 2020-01-01\n"
    )
    sup = Suppressor(today=dt.date(2025, 1, 1))
    sup.load_openvex(vex_path)
    sup.load_ignore_file(ignore)
    result = match_packages(PKGS, OSInfo(), kb, suppressor=sup)
    by_id = {f.id: f for f in result.findings}
    assert by_id["CVE-2018-18074"].suppressed
    assert by_id["CVE-2018-18074"].suppression.reason == "vulnerable_code_not_in_execute_path"
    assert not by_id["CVE-2023-32681"].suppressed  # the GHSA statement lacked a justification
    assert not by_id["CVE-2019-11324"].suppressed  # affected does not suppress
    assert not by_id["CVE-2019-11236"].suppressed  # product names another version
    assert (
        by_id["CVE-2020-26137"].suppressed and by_id["CVE-2020-26137"].suppression.reason == "not reachable"
    )
    assert not by_id["CVE-2021-33503"].suppressed  # expired
    text = "\n".join(result.warnings)
    assert "expired on 2020-01-01" in text and "without justification" in text
    # suppressed findings are kept and serialise with their reason
    data = by_id["CVE-2018-18074"].to_dict()
    assert data["suppressed"] is True and data["suppression"]["by"] == "openvex"
    json.dumps([f.to_dict() for f in result.findings])


def test_sarif_is_valid_2_1_0(kb) -> None:  # type: ignore[no-untyped-def]
    sup = Suppressor()
    sup.add_openvex(
        vex(
            [
                {
                    "vulnerability": {"name": "CVE-2018-18074"},
                    "status": "fixed",
                    "products": [{"@id": "pkg:pypi/requests"}],
                }
            ]
        )
    )
    findings = match_packages(PKGS, OSInfo(), kb, first_own_layer=1, suppressor=sup).findings
    log = to_sarif(findings, "registry.example/app:1")
    schema = json.loads(SCHEMA.read_text())
    jsonschema.validators.validator_for(schema)(schema).validate(log)
    run = log["runs"][0]
    rule_ids = [r["id"] for r in run["tool"]["driver"]["rules"]]
    assert len(rule_ids) == len(set(rule_ids)) == len({f.id for f in findings})
    assert len(run["results"]) == len(findings)
    req = next(r for r in run["results"] if r["ruleId"] == "CVE-2018-18074")
    assert req["locations"][0]["physicalLocation"]["artifactLocation"]["uri"].startswith("usr/lib/python3/")
    assert req["suppressions"][0]["kind"] == "external"
    assert len({r["fingerprints"]["keelwatch/v1"] for r in run["results"]}) == len(findings)
    # broken output must fail the schema (the validation can fail)
    broken = json.loads(json.dumps(log))
    broken["runs"][0]["results"][0]["level"] = "severe"
    try:
        jsonschema.validators.validator_for(schema)(schema).validate(broken)
    except jsonschema.ValidationError:
        pass
    else:
        raise AssertionError("schema accepted an invalid level")


def test_epss_from_documented_csv(full_store, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """EPSS has no offline copy: a small file in FIRST's documented CSV format."""
    from keelwatch.app.feeds import update_feeds as update
    from keelwatch.store.kb import SqlKnowledgeBase

    mirror = tmp_path / "mirror"
    mirror.mkdir()
    csv = (
        "#model_version:v2023.03.01,score_date:2024-04-15T00:00:00+0000\n"
        "cve,epss,percentile\n"
        "CVE-2018-18074,0.00123,0.46512\n"
        "CVE-2023-32681,0.00550,0.77001\n"
    )
    (mirror / "epss_scores-current.csv.gz").write_bytes(gzip.compress(csv.encode()))
    [res] = [r for r in update(full_store, ["epss"], str(mirror)) if r.feed == "epss"]
    assert res.status == "updated", res.message
    findings = match_packages(PKGS[:1], OSInfo(), SqlKnowledgeBase(full_store)).findings
    by_id = {f.id: f for f in findings}
    assert by_id["CVE-2018-18074"].epss.score == 0.00123
    assert by_id["CVE-2018-18074"].epss.percentile == 0.46512
    assert by_id["CVE-2023-32681"].epss.date == "2024-04-15"
