"""Findings for a fresh scan: keep the scan, match it, apply VEX and ignore files."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from keelwatch.model import ScanResult


@dataclass(slots=True)
class ScanFindings:
    findings: list[Any] | None
    scan_id: int | None = None
    messages: list[str] = field(default_factory=list)


def scan_findings(
    result: ScanResult,
    *,
    store_scan: bool = True,
    match: bool = True,
    vex: Sequence[Path] = (),
    ignore_files: Sequence[Path] = (),
) -> ScanFindings:
    """Save the scan (for rescans and lineage) and match it against the stored data."""
    from keelwatch.app.lineage import FleetLineage, remember_image
    from keelwatch.config import load_settings
    from keelwatch.governance.catalogue import Catalogue
    from keelwatch.store.db import open_store
    from keelwatch.store.kb import SqlKnowledgeBase
    from keelwatch.store.scans import save_scan
    from keelwatch.vulndb.match import match_packages
    from keelwatch.vulndb.suppress import Suppressor

    suppressor = None
    if vex or ignore_files:
        suppressor = Suppressor()
        for path in vex:
            suppressor.load_openvex(path)
        for path in ignore_files:
            suppressor.load_ignore_file(path)
    out = ScanFindings(findings=None)
    store = open_store()
    try:
        catalogue = Catalogue(store, load_settings().expert_team)
        if store_scan:
            out.scan_id = save_scan(store, result)
            remember_image(store, result, out.scan_id)
            ref = result.image.ref
            if (
                result.image.digest
                and "@" not in ref
                and not ref.startswith(("oci:", "docker-archive:", "dir:"))
            ):
                catalogue.record_tag(ref, result.image.digest, platform=result.image.platform)
        if not match:
            return out
        kb = SqlKnowledgeBase(store)
        if not _has_data(store):
            out.messages.append(
                "no vulnerability data yet: run `keelwatch db update` (findings will be empty)"
            )
        lineage = FleetLineage(store, catalogue).resolve(result)
        result.lineage = lineage.to_dict()
        first_own = lineage.first_own_layer if lineage.ancestors else None
        matched = match_packages(
            result.packages, result.image.os, kb, first_own_layer=first_own, suppressor=suppressor
        )
        for finding in matched.findings:
            attribute(finding, lineage)
        out.findings = list(matched.findings)
        out.messages.extend(matched.warnings)
        out.messages.extend(getattr(matched, "notes", []))
        if suppressor is not None:
            out.messages.extend(suppressor.warnings)
        return out
    finally:
        store.dispose()


def attribute(finding: Any, lineage: Any) -> None:
    """Say which level of the lineage brought the vulnerable package in."""
    index = finding.layer_index
    if index is None or index >= len(lineage.layer_levels):
        return
    finding.origin_level = lineage.layer_levels[index]
    finding.origin = lineage.origin_of_layer(index)


def _has_data(store: Any) -> bool:
    from sqlalchemy import func, select

    from keelwatch.store.models import AdvisoryRow

    with store.read() as conn:
        return bool(conn.execute(select(func.count()).select_from(AdvisoryRow)).scalar())
