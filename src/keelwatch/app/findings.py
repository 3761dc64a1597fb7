"""Findings for a stored scan, in the shapes the governance features need."""

from __future__ import annotations

from keelwatch.compare.findings import FindingRef
from keelwatch.model import ScanResult
from keelwatch.policy.subject import FindingFacts
from keelwatch.store.db import Store
from keelwatch.vulndb.findings import Finding


def match_scan(store: Store, result: ScanResult) -> list[Finding]:
    """The matcher's findings for one scan against the stored vulnerability data."""
    from keelwatch.store.kb import SqlKnowledgeBase
    from keelwatch.vulndb.match import match_packages

    return list(match_packages(result.packages, result.image.os, SqlKnowledgeBase(store)).findings)


def as_refs(findings: list[Finding]) -> list[FindingRef]:
    """What diff and base advice compare: flaw, package, severity, layer, first fix."""
    return [
        FindingRef(
            id=f.id,
            package=f.package.name,
            package_type=f.package.type,
            severity=f.severity.level,
            layer_index=f.layer_index,
            fixed_version=f.fixed_versions[0] if f.fixed_versions else None,
        )
        for f in findings
    ]


def as_facts(findings: list[Finding]) -> list[FindingFacts]:
    """What policy rules judge: unsuppressed findings with severity, fix and KEV."""
    return [
        FindingFacts(
            id=f.id,
            severity=f.severity.level,
            fixed=bool(f.fixed_versions),
            kev=f.kev.flag,
            package=f.package.name,
        )
        for f in findings
        if not f.suppressed
    ]
