"""Findings for a stored scan, in the shapes the governance features need."""

from __future__ import annotations

from typing import Any

from keelwatch.compare.findings import FindingRef
from keelwatch.model import ScanResult
from keelwatch.policy.subject import FindingFacts
from keelwatch.store.db import Store


def match_scan(store: Store, result: ScanResult) -> list[Any]:
    """The matcher's findings for one scan against the stored vulnerability data."""
    from keelwatch.store.kb import SqlKnowledgeBase
    from keelwatch.vulndb.match import match_packages

    return list(match_packages(result.packages, result.image.os, SqlKnowledgeBase(store)).findings)


def _get(obj: Any, name: str, default: Any = None) -> Any:
    return obj.get(name, default) if isinstance(obj, dict) else getattr(obj, name, default)


def as_refs(findings: list[Any]) -> list[FindingRef]:
    out = []
    for f in findings:
        package = _get(f, "package")
        fixed = _get(f, "fixed_versions") or []
        out.append(
            FindingRef(
                id=_get(f, "id"),
                package=_get(package, "name", ""),
                package_type=_get(package, "type", ""),
                severity=_severity_level(f),
                layer_index=_get(f, "layer_index"),
                fixed_version=fixed[0] if fixed else None,
            )
        )
    return out


def as_facts(findings: list[Any]) -> list[FindingFacts]:
    out = []
    for f in findings:
        if _get(f, "suppressed"):
            continue
        kev = _get(f, "kev")
        out.append(
            FindingFacts(
                id=_get(f, "id"),
                severity=_severity_level(f),
                fixed=bool(_get(f, "fixed_versions")),
                kev=bool(_get(kev, "flag", kev) if kev else False),
                package=_get(_get(f, "package"), "name", ""),
            )
        )
    return out


def _severity_level(finding: Any) -> str:
    severity = _get(finding, "severity")
    if isinstance(severity, str):
        return severity
    return _get(severity, "level", "unknown") or "unknown"
