"""Policies as code: loading with line-accurate errors, each rule, exceptions and expiry."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from keelwatch.errors import PolicyError
from keelwatch.lineage.lineage import Ancestor, Lineage
from keelwatch.oci.layout import tag_of_ref_name
from keelwatch.policy.engine import evaluate
from keelwatch.policy.loader import load_policy, parse_policy
from keelwatch.policy.subject import PolicySubject, metadata_from_oci
from keelwatch.vulndb.findings import Finding, Kev, PackageRef
from keelwatch.vulndb.severity import Severity


def finding(id: str, level: str, *, fixed: bool, kev: bool = False, package: str = "pkg") -> Finding:
    """A matcher finding with just what the policy rules read."""
    return Finding(
        id,
        PackageRef(package, "1.0", "deb"),
        fixed_versions=["1.1"] if fixed else [],
        severity=Severity(level),
        kev=Kev(kev),
    )


EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "policy.yaml"


class Approvals:
    def __init__(self, digests: set[str], tags: set[str] = frozenset()) -> None:
        self.digests, self.tags = digests, tags

    def is_approved_digest(self, digest: str) -> bool:
        return digest in self.digests

    def is_approved_tag(self, ref: str) -> bool:
        return ref in self.tags


def lineage(depth: int) -> Lineage:
    ancestors = [
        Ancestor(
            level=i,
            key=f"sha256:l{i}",
            name=f"reg.example/base/debian-slim:12-2026110{i}",
            source="layers",
            scanned=True,
            layer_count=i,
        )
        for i in range(1, depth)
    ]
    return Lineage(image="x", ancestors=ancestors, level=depth, layer_levels=list(range(1, depth + 1)))


def results(report) -> dict[str, str]:
    return {r.rule: r.status for r in report.results}


def test_example_policy_loads() -> None:
    policy = load_policy(EXAMPLE)
    assert [r.type for r in policy.rules][:2] == ["approved_base", "max_lineage_depth"]
    assert policy.exceptions[0].expires == date(2027, 3, 31)


def test_four_level_chain_fails_max_depth_three() -> None:
    policy = load_policy(EXAMPLE)
    subject = PolicySubject(ref="reg.example/apps/shop:1.0", lineage=lineage(4))
    report = evaluate(policy, subject, Approvals({"sha256:l3"}))
    assert results(report)["max-depth"] == "fail"
    assert results(report)["approved-base"] == "pass"
    assert report.failed
    three = evaluate(
        policy, PolicySubject(ref="reg.example/apps/shop:1.0", lineage=lineage(3)), Approvals({"sha256:l2"})
    )
    assert results(three)["max-depth"] == "pass"


def test_unapproved_base_fails_with_how_to_fix() -> None:
    report = evaluate(
        load_policy(EXAMPLE), PolicySubject(ref="reg.example/apps/a:1", lineage=lineage(2)), Approvals(set())
    )
    result = next(r for r in report.results if r.rule == "approved-base")
    assert result.status == "fail" and "rebuild FROM an approved base" in result.message


# A dated-tag convention (`12-20261101`): the example policy takes plain versions (`12`, `3.11`).
DATED = """apiVersion: keelwatch/v1
kind: Policy
name: dated
version: 1
rules:
  - id: base-metadata
    type: required_metadata
    applies_to: base
    keys: [maintainer, version, source, revision]
  - id: base-naming
    type: naming
    applies_to: base
    repository: "{registry}/base/{os}-{variant}"
    tag: "{os_version}-{yyyymmdd}"
    forbid_mutable: true
"""


def test_base_naming_and_metadata() -> None:
    policy = parse_policy(DATED)
    meta = metadata_from_oci(
        {
            "org.opencontainers.image.authors": "platform@example.com",
            "org.opencontainers.image.version": "12.7",
        },
        {"org.opencontainers.image.source": "https://git.example/base"},
    )
    good = PolicySubject(
        ref="reg.example:5000/base/debian-slim:12-20261101", is_base=True, metadata=meta, lineage=lineage(1)
    )
    report = evaluate(policy, good, Approvals(set()))
    assert results(report)["base-naming"] == "pass"
    assert results(report)["base-metadata"] == "fail"  # revision missing
    assert "revision" in next(r.message for r in report.results if r.rule == "base-metadata")
    for bad_ref in (
        "reg.example/base/debian-slim:latest",
        "reg.example/base/debian-slim:12-20261340",
        "reg.example/images/debian-slim:12-20261101",
        "reg.example/base/debian-slim",
    ):
        bad = PolicySubject(ref=bad_ref, is_base=True, metadata=meta, lineage=lineage(1))
        assert results(evaluate(policy, bad, Approvals(set())))["base-naming"] == "fail", bad_ref
    app = PolicySubject(ref="reg.example/apps/x:latest", lineage=lineage(2))
    assert results(evaluate(policy, app, Approvals({"sha256:l1"})))["base-naming"] == "skip"


def test_findings_rules() -> None:
    policy = load_policy(EXAMPLE)
    findings = [
        finding("CVE-2023-1", "high", fixed=False),
        finding("CVE-2023-2", "medium", fixed=True),
    ]
    subject = PolicySubject(ref="reg.example/apps/a:1", lineage=lineage(2), findings=findings)
    assert results(evaluate(policy, subject, Approvals({"sha256:l1"})))["fixable-high"] == "pass"
    subject.findings.append(finding("CVE-2023-3", "critical", fixed=True, kev=True, package="openssl"))
    report = evaluate(policy, subject, Approvals({"sha256:l1"}))
    # the example fails on a fixable critical finding and warns on a fixable high one
    assert results(report)["fixable-critical"] == "fail" and results(report)["no-kev"] == "fail"
    assert results(report)["fixable-high"] == "warn" and report.failed
    subject.findings[0] = finding("CVE-2023-1", "high", fixed=True)
    subject.findings.pop()
    report = evaluate(policy, subject, Approvals({"sha256:l1"}))
    assert results(report)["fixable-high"] == "warn" and not report.failed


def test_base_age_warns() -> None:
    policy = load_policy(EXAMPLE)
    old = datetime.now(UTC) - timedelta(days=200)
    subject = PolicySubject(ref="reg.example/apps/a:1", lineage=lineage(2), base_created=old)
    report = evaluate(policy, subject, Approvals({"sha256:l1"}))
    assert results(report)["fresh-base"] == "warn" and not report.failed


def test_exception_applies_until_it_expires() -> None:
    policy = load_policy(EXAMPLE)
    subject = PolicySubject(ref="reg.example/legacy/billing:7", lineage=lineage(4))
    approvals = Approvals({"sha256:l3"})
    current = evaluate(policy, subject, approvals, today=date(2027, 1, 1))
    depth = next(r for r in current.results if r.rule == "max-depth")
    assert depth.status == "pass" and depth.exception["owner"] == "alice@example.com"
    expired = evaluate(policy, subject, approvals, today=date(2027, 4, 1))
    depth = next(r for r in expired.results if r.rule == "max-depth")
    assert depth.status == "fail" and "expired on 2027-03-31" in depth.message


HEAD = "apiVersion: keelwatch/v1\nkind: Policy\nname: p\nrules:\n"


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            "  - type: max_lineage_depth\n    max: 3\n  - type: frobnicate\n",
            "policy.yaml:7: unknown rule type 'frobnicate'",
        ),
        (
            "  - type: max_lineage_depth\n    max: three\n",
            "policy.yaml:6: rules.0.max: 'three' is not of type 'integer'",
        ),
        ("  - type: naming\n    tag_regex: '([a-z'\n", "policy.yaml:5: invalid regex in tag_regex"),
        ("  - type: naming\n    tag: '{nope}-x'\n", "policy.yaml:5: invalid template in tag"),
        (
            "  - type: no_kev\n    sevrity: high\n",
            "policy.yaml:5: rules.0: Additional properties are not allowed",
        ),
        ("  - type: no_kev\n    level: maybe\n", "policy.yaml:6: rules.0.level"),
        (
            "  - type: no_kev\nexceptions:\n"
            "  - {rule: x, image: '*', owner: o, reason: r, expires: '2027-01-01'}\n",
            "policy.yaml:7: exception names unknown rule 'x'",
        ),
        (
            "  - type: no_kev\nexceptions:\n"
            "  - {rule: no_kev, image: '*', owner: o, reason: r, expires: 2027-02-30}\n",
            "policy.yaml:7: invalid expiry date",
        ),
        ("  - type: no_kev\n  - type: no_kev\n", "policy.yaml:6: duplicate rule id"),
        ("  - [unclosed\n", "policy.yaml:"),
    ],
)
def test_bad_policies_are_rejected_with_line_and_reason(body: str, expected: str) -> None:
    with pytest.raises(PolicyError) as info:
        parse_policy(HEAD + body)
    assert str(info.value).startswith(expected), str(info.value)


def test_example_naming_reads_the_tag_a_local_layout_gives() -> None:
    """`oci:DIR` tagged `12` in its index.json is checked as `12`, not as an implicit `latest`; a
    local path has no repository name to hold to the registry template."""
    policy = load_policy(EXAMPLE)
    meta = {"maintainer": "m", "version": "12", "source": "s", "revision": "r"}

    def naming(tag: str | None, ref: str = "oci:out/debian-base") -> tuple[str, str]:
        subject = PolicySubject(ref=ref, is_base=True, metadata=meta, lineage=lineage(1), tag=tag, local=True)
        result = next(
            r for r in evaluate(policy, subject, Approvals(set())).results if r.rule == "base-naming"
        )
        return result.status, result.message

    assert naming("12") == (
        "pass",
        "tag '12' follows the conventions (a local image: no repository name to check)",
    )
    assert naming("3.11")[0] == "pass"
    assert naming("latest")[0] == "fail" and "'latest' is forbidden" in naming("latest")[1]
    assert naming(None)[0] == "fail"  # untagged: latest
    assert naming(None, "oci:out/debian-base:12")[0] == "fail"  # the caller parses the tag, not the rule
    remote = PolicySubject(ref="reg.example/apps/debian:12", is_base=True, metadata=meta, lineage=lineage(1))
    assert results(evaluate(policy, remote, Approvals(set())))["base-naming"] == "fail"  # not under base/
    assert [tag_of_ref_name(n) for n in ("12", "reg.example:5000/base/debian:12", "reg/x", "", None)] == [
        "12",
        "12",
        None,
        None,
        None,
    ]
