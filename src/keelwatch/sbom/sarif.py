"""Vulnerability findings as SARIF 2.1.0 (what CI code-scanning UIs ingest).

One rule per vulnerability id (help text = summary, severity, fix), one result per
finding: level from severity (critical/high -> error, medium -> warning, else note),
`security-severity` property with the CVSS score (the code-scanning convention),
location = the package's file inside the image (its first catalogued location) plus a
logical location naming the image, and a stable fingerprint over
(image, vulnerability, package, version, location) so re-uploads deduplicate.
Suppressed findings carry a SARIF `suppressions` entry with the reason.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from typing import Any

from keelwatch import __version__
from keelwatch.model import ScanResult
from keelwatch.vulndb.findings import Finding
from keelwatch.vulndb.severity import Level

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
# unknown is a warning: it may be anything, so it must not read as a mere note
_LEVEL = {
    Level.CRITICAL: "error",
    Level.HIGH: "error",
    Level.MEDIUM: "warning",
    Level.LOW: "note",
    Level.NEGLIGIBLE: "note",
    Level.UNKNOWN: "warning",
}
_DEFAULT_SCORE = {
    Level.CRITICAL: 9.5,
    Level.HIGH: 8.0,
    Level.MEDIUM: 5.5,
    Level.LOW: 2.0,
    Level.NEGLIGIBLE: 0.5,
}


def _rule(f: Finding) -> dict[str, Any]:
    fix = (
        f"Fixed in {', '.join(f.fixed_versions)}. {f.remediation.advice}".strip()
        if f.fixed_versions
        else "No fixed version is published yet."
    )
    text = f"{f.id}: {f.summary or 'vulnerability'} (severity {f.severity.level}). {fix}"
    markdown = f"**{f.id}** {f.summary}\n\nSeverity: {f.severity.level}"
    if f.severity.vector:
        markdown += f" ({f.severity.vector})"
    markdown += f"\n\n{fix}"
    if f.remediation.command:
        markdown += f"\n\n```\n{f.remediation.command}\n```"
    rule: dict[str, Any] = {
        "id": f.id,
        "name": f.id.replace("-", ""),
        "shortDescription": {"text": f"{f.id} in {f.package.name}"},
        "fullDescription": {"text": f.summary or f.id},
        "help": {"text": text, "markdown": markdown},
        "properties": {"tags": ["vulnerability", "security", f.severity.level], "aliases": f.aliases},
    }
    if f.references:
        rule["helpUri"] = f.references[0]
    score = f.severity.score if f.severity.score is not None else _DEFAULT_SCORE.get(f.severity.rank)
    if score is not None:
        rule["properties"]["security-severity"] = f"{score:.1f}"
    return rule


def _location(f: Finding, image: str) -> dict[str, Any]:
    path = (f.package.locations[0] if f.package.locations else "").lstrip(
        "/"
    ) or f"{f.package.type}/{f.package.name}"
    return {
        "physicalLocation": {"artifactLocation": {"uri": path, "uriBaseId": "IMAGE_ROOT"}},
        "logicalLocations": [{"name": image, "kind": "image", "fullyQualifiedName": f"{image}:/{path}"}],
    }


def to_sarif(findings: list[Finding], image: str) -> dict[str, Any]:
    """A SARIF log with one run for one image's findings."""
    rules: list[dict[str, Any]] = []
    index: dict[str, int] = {}
    results = []
    for f in findings:
        if f.id not in index:
            index[f.id] = len(rules)
            rules.append(_rule(f))
        loc = _location(f, image)
        fp = hashlib.sha256(
            "\0".join(
                (
                    image,
                    f.id,
                    f.package.type,
                    f.package.name,
                    f.package.version,
                    loc["physicalLocation"]["artifactLocation"]["uri"],
                )
            ).encode()
        ).hexdigest()
        fix = f" Fixed in {f.remediation.target_version or f.fixed_versions[0]}." if f.fixed_versions else ""
        result: dict[str, Any] = {
            "ruleId": f.id,
            "ruleIndex": index[f.id],
            "level": _LEVEL[f.severity.rank],
            "message": {
                "text": f"{f.package.name} {f.package.version} ({f.package.type}) is affected by {f.id}.{fix}"
            },
            "locations": [loc],
            "fingerprints": {"keelwatch/v1": fp},
            "partialFingerprints": {"packageVulnerability/v1": f"{f.id}:{f.package.type}:{f.package.name}"},
            "properties": {
                "package": f.package.name,
                "version": f.package.version,
                "purl": f.package.purl,
                "fixedVersions": f.fixed_versions,
                "status": f.status,
                "kev": f.kev.flag,
                "layerIndex": f.layer_index,
            },
        }
        if f.suppression is not None:
            result["suppressions"] = [
                {
                    "kind": "external",
                    "status": "accepted",
                    "justification": f.suppression.reason or f.suppression.by,
                }
            ]
        results.append(result)
    return {
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "keelwatch",
                        "version": __version__,
                        "informationUri": "https://github.com/keelwatch/keelwatch",
                        "rules": rules,
                    }
                },
                "originalUriBaseIds": {"IMAGE_ROOT": {"uri": "file:///"}},
                "results": results,
            }
        ],
    }


def render(result: ScanResult, *, findings: Sequence[Finding] | None = None) -> str:
    """The `keelwatch.sbom.render` interface: SARIF JSON for one scanned image.

    The run's properties say which data the findings were matched against and how well it
    covers each ecosystem of the image: an empty result means nothing without them.
    """
    log = to_sarif(list(findings or []), result.image.ref)
    if result.vulnerability_data is not None:
        log["runs"][0]["properties"] = {"vulnerabilityData": result.vulnerability_data}
    return json.dumps(log, indent=2)
