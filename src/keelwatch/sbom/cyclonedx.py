"""`scan --format cyclonedx`: a CycloneDX 1.6 JSON BOM via cyclonedx-python-lib.

metadata.component is the image (type container, version = manifest digest); every package is
a library component with its purl, licences and `keelwatch:*` properties for the layer it was
added in and where it was found; the OS is an operating-system component. The serial number is
derived from the image digest and the package set, so the same scan gives the same BOM.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterable, Sequence
from typing import Any

from cyclonedx.model import Property
from cyclonedx.model.bom import Bom
from cyclonedx.model.bom_ref import BomRef
from cyclonedx.model.component import Component, ComponentType
from cyclonedx.model.license import DisjunctiveLicense, LicenseExpression
from cyclonedx.output.json import JsonV1Dot6
from packageurl import PackageURL

from keelwatch import __version__ as keelwatch_version
from keelwatch.model import Package, ScanResult
from keelwatch.oci.reference import image_name
from keelwatch.sbom.licenses import is_expression, spdx_id
from keelwatch.vulndb.severity import Level


def _purl(value: str) -> PackageURL | None:
    try:
        return PackageURL.from_string(value) if value else None
    except ValueError:
        return None


def licenses_of(values: Iterable[str]) -> list[Any]:
    """One expression alone (CycloneDX forbids mixing), else ids where valid and names otherwise."""
    values = [v for v in dict.fromkeys(v.strip() for v in values) if v]
    if len(values) == 1 and is_expression(values[0]):
        return [LicenseExpression(values[0])]
    out: list[Any] = []
    for v in values:
        if (sid := spdx_id(v)) is not None:
            out.append(DisjunctiveLicense(id=sid))
        else:
            out.append(DisjunctiveLicense(name=v))
    return out


def _ref(pkg: Package, index: int) -> str:
    key = "\0".join(map(str, pkg.key()))
    return f"pkg-{index}-{hashlib.sha256(key.encode()).hexdigest()[:12]}"


def package_component(pkg: Package, index: int) -> Component:
    props = [Property(name="keelwatch:package:type", value=pkg.type)]
    if pkg.layer_index is not None:
        props.append(Property(name="keelwatch:layer:index", value=str(pkg.layer_index)))
    if pkg.layer_diff_id:
        props.append(Property(name="keelwatch:layer:diffID", value=pkg.layer_diff_id))
    for i, loc in enumerate(pkg.locations):
        props.append(Property(name=f"keelwatch:location:{i}:path", value=loc))
    if pkg.source_name:
        props.append(Property(name="keelwatch:package:sourceName", value=pkg.source_name))
    if pkg.source_version:
        props.append(Property(name="keelwatch:package:sourceVersion", value=pkg.source_version))
    return Component(
        name=pkg.name,
        version=pkg.version,
        type=ComponentType.LIBRARY,
        purl=_purl(pkg.purl),
        bom_ref=BomRef(_ref(pkg, index)),
        licenses=licenses_of(pkg.licenses),
        properties=props,
    )


def image_component(result: ScanResult) -> Component:
    img = result.image
    props = [Property(name="keelwatch:image:ref", value=img.ref)]
    if img.platform:
        props.append(Property(name="keelwatch:image:platform", value=img.platform))
    if img.config_digest:
        props.append(Property(name="keelwatch:image:configDigest", value=img.config_digest))
    for i, layer in enumerate(img.layers):
        props.append(Property(name=f"keelwatch:image:layer:{i}:diffID", value=layer.diff_id))
    name = image_name(img.ref)
    return Component(
        name=name,
        version=img.digest or img.config_digest or "",
        type=ComponentType.CONTAINER,
        bom_ref=BomRef("image"),
        properties=props,
    )


def build_bom(result: ScanResult) -> Bom:
    bom = Bom()
    identity = "\n".join([result.image.digest or result.image.ref, *sorted(p.purl for p in result.packages)])
    bom.serial_number = uuid.uuid5(uuid.NAMESPACE_URL, "keelwatch:" + identity)
    root = image_component(result)
    bom.metadata.component = root
    bom.metadata.tools.components.add(
        Component(name="keelwatch", version=keelwatch_version, type=ComponentType.APPLICATION)
    )
    parts: list[Component] = []
    os_info = result.image.os
    if not os_info.empty:
        parts.append(
            Component(
                name=os_info.id or os_info.name,
                version=os_info.version_id,
                type=ComponentType.OPERATING_SYSTEM,
                bom_ref=BomRef("os"),
                description=os_info.pretty_name or None,
            )
        )
    parts.extend(package_component(p, i) for i, p in enumerate(result.packages))
    for c in parts:
        bom.components.add(c)
    bom.register_dependency(root, parts)
    return bom


_SEVERITIES = {Level.NEGLIGIBLE: "info"}  # CycloneDX's name for it; the others share ours


def add_vulnerabilities(bom: Bom, result: ScanResult, findings: Sequence[Any]) -> None:
    """The `vulnerabilities` section: one entry per finding, affecting its package's component."""
    from decimal import Decimal

    from cyclonedx.model.impact_analysis import ImpactAnalysisJustification, ImpactAnalysisState
    from cyclonedx.model.vulnerability import (
        BomTarget,
        Vulnerability,
        VulnerabilityAnalysis,
        VulnerabilityRating,
        VulnerabilityReference,
        VulnerabilityScoreSource,
        VulnerabilitySeverity,
        VulnerabilitySource,
    )

    refs = {(p.type, p.name, p.version): _ref(p, i) for i, p in enumerate(result.packages)}
    for f in findings:
        severity = VulnerabilitySeverity(_SEVERITIES.get(f.severity.rank, f.severity.rank.label))
        method = {
            "CVSS_V3": VulnerabilityScoreSource.CVSS_V3_1,
            "CVSS_V4": VulnerabilityScoreSource.CVSS_V4,
        }.get(f.severity.source, VulnerabilityScoreSource.OTHER)
        rating = VulnerabilityRating(
            score=Decimal(str(f.severity.score)) if f.severity.score is not None else None,
            severity=severity,
            method=method,
            vector=f.severity.vector or None,
        )
        props = [Property(name="keelwatch:fixedVersions", value=", ".join(f.fixed_versions) or "none")]
        if f.kev.flag:
            props.append(Property(name="keelwatch:kev:dateAdded", value=f.kev.date_added or "yes"))
        if f.epss is not None:
            props.append(Property(name="keelwatch:epss:score", value=str(f.epss.score)))
            props.append(Property(name="keelwatch:epss:percentile", value=str(f.epss.percentile)))
        if f.layer_index is not None:
            props.append(Property(name="keelwatch:layer:index", value=str(f.layer_index)))
        if f.remediation.command:
            props.append(Property(name="keelwatch:remediation", value=f.remediation.command))
        analysis = None
        if f.suppression is not None:
            analysis = VulnerabilityAnalysis(
                state=ImpactAnalysisState.NOT_AFFECTED
                if f.suppression.status in ("", "not_affected")
                else ImpactAnalysisState.RESOLVED,
                justification=_justification(ImpactAnalysisJustification, f.suppression.justification),
                detail=f.suppression.reason or None,
            )
        ref = refs.get((f.package.type, f.package.name, f.package.version))
        bom.vulnerabilities.add(
            Vulnerability(
                bom_ref=f"vuln-{f.id}-{ref or f.package.name}",
                id=f.id,
                source=VulnerabilitySource(name=(f.sources[0]["source"] if f.sources else "keelwatch")),
                references=[
                    VulnerabilityReference(id=a, source=VulnerabilitySource(name="alias")) for a in f.aliases
                ],
                ratings=[rating],
                description=f.summary or None,
                recommendation=f.remediation.advice or f.remediation.command or None,
                affects=[BomTarget(ref=ref)] if ref else [],
                analysis=analysis,
                properties=props,
            )
        )


# OpenVEX justification -> the nearest CycloneDX one
_VEX_TO_CDX = {
    "component_not_present": "code_not_present",
    "vulnerable_code_not_present": "code_not_present",
    "vulnerable_code_not_in_execute_path": "code_not_reachable",
    "vulnerable_code_cannot_be_controlled_by_adversary": "requires_environment",
    "inline_mitigations_already_exist": "protected_by_mitigating_control",
}


def _justification(enum: Any, text: str) -> Any:
    try:
        return enum(_VEX_TO_CDX.get(text, text)) if text else None
    except ValueError:
        return None


def render(result: ScanResult, *, findings: Sequence[Any] | None = None) -> str:
    """CycloneDX 1.6 JSON, with a `vulnerabilities` section when findings are given."""
    bom = build_bom(result)
    if findings:
        add_vulnerabilities(bom, result, findings)
    for name, value in data_properties(result.vulnerability_data):
        bom.metadata.properties.add(Property(name=name, value=value))
    return JsonV1Dot6(bom).output_as_string(indent=2) + "\n"


def data_properties(data: dict[str, Any] | None) -> list[tuple[str, str]]:
    """`keelwatch:vulnerability-data:*` metadata properties: each feed's snapshot and each
    ecosystem's coverage, so an SBOM with no vulnerabilities says what it was checked against."""
    if not data:
        return []
    out = [("keelwatch:vulnerability-data:checked-at", str(data.get("checked_at", "")))]
    for feed in data.get("feeds", []):
        out.append((f"keelwatch:vulnerability-data:feed:{feed['feed']}", str(feed.get("snapshot") or "")))
    for eco in data.get("ecosystems", []):
        out.append((f"keelwatch:vulnerability-data:coverage:{eco['ecosystem']}", str(eco["status"])))
    return out
