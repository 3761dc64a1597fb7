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
from keelwatch.vulndb.coverage import COVERED, Coverage, assess, image_ecosystems
from keelwatch.vulndb.findings import Finding
from keelwatch.vulndb.severity import Level
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
    coverage: Coverage
    messages: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)  # those of `messages` that `-q` must not hide
    incomplete: list[str] = field(
        default_factory=list
    )  # the scan's ScanResult.incomplete: a gate cannot judge

    @property
    def coverage_notes(self) -> list[str]:
        """One line per gap in the data (what a gate would fail on), for commands without a gate."""
        if not self.coverage.feeds:
            return ["no vulnerability data loaded: run `keelwatch db update` (findings are empty)"]
        return [
            f"{eco.status}: {eco.reason(self.coverage.max_age_days)}"
            for eco in self.coverage.ecosystems
            if eco.status != COVERED
        ]

    @property
    def active(self) -> list[Finding]:
        """The findings no VEX statement or ignore entry suppresses: what gates and rules judge."""
        return [f for f in self.findings if not f.suppressed]


def with_severities(findings: Sequence[Finding], levels: Sequence[Level]) -> list[Finding]:
    """The findings `--severity` shows: one level means it and above (`unknown` alone: only
    unknown ones); several mean exactly those levels (`--severity HIGH,CRITICAL`, as Trivy)."""
    if len(levels) == 1 and levels[0] is not Level.UNKNOWN:
        return [f for f in findings if f.severity.rank >= levels[0]]
    wanted = set(levels)
    return [f for f in findings if f.severity.rank in wanted]


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
    max_age_days: float | None = None,
) -> ImageFindings:
    """Match a scan against the stored data, attribute each finding to its lineage level, suppress.

    Sets `result.lineage` and `result.vulnerability_data` so every output shows the lineage
    the attribution used and the data (with its coverage) the findings come from. Pass one
    `fleet` when asking for many images: building it reads every known image once.
    `max_age_days` (default: the `[vulndb] max_age_days` setting) makes older data `stale`.
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
    coverage = _coverage(store, result, max_age_days)
    result.vulnerability_data = coverage.to_dict()
    messages = [*matched.warnings, *matched.notes]
    return ImageFindings(
        list(matched.findings),
        lineage,
        coverage,
        messages,
        list(matched.warnings),
        incomplete=list(result.incomplete),
    )


def _coverage(store: Store, result: ScanResult, max_age_days: float | None) -> Coverage:
    from keelwatch.config import load_settings
    from keelwatch.store.coverage import feeds_covering, loaded_feeds

    if max_age_days is None:
        max_age_days = load_settings().max_data_age_days
    present = image_ecosystems(result.packages, result.image.os)
    covering = feeds_covering(store, [ecosystem for ecosystem, _type in present])
    return assess(present, loaded_feeds(store), covering, max_age_days)


def _attribute(finding: Finding, lineage: Lineage) -> None:
    """Say which level of the lineage brought the vulnerable package in."""
    index = finding.layer_index
    if index is None or index >= len(lineage.layer_levels):
        return
    finding.origin_level = lineage.layer_levels[index]
    finding.origin = lineage.origin_of_layer(index)
