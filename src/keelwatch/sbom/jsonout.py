"""`scan --format json`: ScanResult.to_dict() plus a schema marker (see docs/scan-json.md).

The model's own serialisation is the schema, so ScanResult.from_dict reads the output back.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from keelwatch.model import ScanResult

SCHEMA = "keelwatch/scan/v1"


def to_document(result: ScanResult, findings: Sequence[Any] | None = None) -> dict[str, Any]:
    doc: dict[str, Any] = {"schema": SCHEMA, **result.to_dict()}
    if findings is not None:
        doc["findings"] = [f.to_dict() for f in findings]
        doc["summary"] = summarise(findings)
    return doc


def summarise(findings: Sequence[Any]) -> dict[str, Any]:
    """Counts by severity (suppressed ones apart), with fix and KEV counts."""
    by_severity: dict[str, int] = {}
    by_level: dict[str, dict[str, int]] = {}
    active = [f for f in findings if not f.suppressed]
    for f in active:
        by_severity[f.severity.level] = by_severity.get(f.severity.level, 0) + 1
        level = by_level.setdefault(str(f.origin_level) if f.origin_level is not None else "unknown", {})
        level[f.severity.level] = level.get(f.severity.level, 0) + 1
    return {
        "findings": len(active),
        "suppressed": len(findings) - len(active),
        "by_severity": by_severity,
        "by_level": by_level,
        "fixable": sum(1 for f in active if f.fixed_versions),
        "kev": sum(1 for f in active if f.kev.flag),
    }


def render(result: ScanResult, *, findings: Sequence[Any] | None = None) -> str:
    """Pretty JSON: the scan, plus `findings` and `summary` when vulnerabilities were matched."""
    return json.dumps(to_document(result, findings), indent=2, ensure_ascii=False) + "\n"


def parse(text: str) -> ScanResult:
    """Read `scan --format json` output back (rejects documents of another schema)."""
    data = json.loads(text)
    if not isinstance(data, dict) or data.get("schema") != SCHEMA:
        raise ValueError(f"not a {SCHEMA} document")
    return ScanResult.from_dict(data)
