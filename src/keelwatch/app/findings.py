"""The findings pipeline: the ONE place that turns a stored scan into findings.

`scan`, `check`, `base advise`, `diff` and `rescan` all call `findings_of`, so one image
under the same VEX and ignore files gets the same findings whichever command asks:
matched against the stored data, attributed to the lineage level that brought each
package in, suppressed by VEX/ignore files (kept and flagged, never dropped).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from keelwatch.lineage.lineage import Lineage
from keelwatch.model import ScanResult
from keelwatch.vulndb.findings import Finding
from keelwatch.vulndb.suppress import Suppressor

if TYPE_CHECKING:  # the store (SQLAlchemy) is imported by findings_of only: `scan --no-store
    # --no-vulns` and `load_suppressor` must not pay ~0.3 s of imports they do not use
    from keelwatch.app.lineage import FleetLineage
    from keelwatch.store.db import Store


@dataclass(slots=True)
class ImageFindings:
    """Every finding of one image (suppressed ones flagged) and what the user must be told."""

    findings: list[Finding]
    lineage: Lineage
    messages: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)  # those of `messages` that `-q` must not hide

    @property
    def active(self) -> list[Finding]:
        """The findings no VEX statement or ignore entry suppresses: what gates and rules judge."""
        return [f for f in self.findings if not f.suppressed]


def load_suppressor(vex: Sequence[Path] = (), ignore_files: Sequence[Path] = ()) -> Suppressor | None:
    """The suppressions of the given OpenVEX documents and ignore files (None when there are none)."""
    if not vex and not ignore_files:
        return None
    suppressor = Suppressor()
    for path in vex:
        suppressor.load_openvex(path)
    for path in ignore_files:
        suppressor.load_ignore_file(path)
    return suppressor


def findings_of(
    store: Store,
    result: ScanResult,
    *,
    suppressor: Suppressor | None = None,
    fleet: FleetLineage | None = None,
) -> ImageFindings:
    """Match a scan against the stored data, attribute each finding to its lineage level, suppress.

    Sets `result.lineage` so every output shows the lineage the attribution used. Pass one
    `fleet` when asking for many images: building it reads every known image once.
    """
    from keelwatch.store.kb import SqlKnowledgeBase
    from keelwatch.vulndb.match import match_packages

    if fleet is None:
        from keelwatch.app.catalogue import Catalogue
        from keelwatch.app.lineage import FleetLineage
        from keelwatch.config import load_settings

        fleet = FleetLineage(store, Catalogue(store, load_settings().expert_team))
    lineage = fleet.resolve(result)
    result.lineage = lineage.to_dict()
    first_own = lineage.first_own_layer if lineage.ancestors else None
    kb = SqlKnowledgeBase(store)
    matched = match_packages(
        result.packages, result.image.os, kb, first_own_layer=first_own, suppressor=suppressor
    )
    for finding in matched.findings:
        _attribute(finding, lineage)
    messages = [*matched.warnings, *matched.notes]
    return ImageFindings(list(matched.findings), lineage, messages, list(matched.warnings))


def _attribute(finding: Finding, lineage: Lineage) -> None:
    """Say which level of the lineage brought the vulnerable package in."""
    index = finding.layer_index
    if index is None or index >= len(lineage.layer_levels):
        return
    finding.origin_level = lineage.layer_levels[index]
    finding.origin = lineage.origin_of_layer(index)
