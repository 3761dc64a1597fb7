"""Re-match stored scans against the current vulnerability data (`keelwatch rescan`).

No image is pulled: the store's fleet package index (`package_versions` + each scan's
packed package set, `scan_package_sets`; `scan_packages` links for scans saved before
the sets existed) says which distinct packages each scan holds, so every distinct
(ecosystem, name, version) of the whole fleet is evaluated once and the findings are
fanned out to the scans. Each scan's last match is kept (`scan_matches`), so the
report says what is new and what was fixed since the previous match.

A scan's figures are summed per package: a finding key reported by two of its packages
(same type, name and version, different source package) counts twice.

Three parts: `store.matches` reads the fleet and writes the matches, `vulndb.fleetmatch`
matches the distinct packages and keeps the per-package tallies, this use case joins them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from keelwatch.store import matches
from keelwatch.store.db import Store
from keelwatch.store.kb import SqlKnowledgeBase
from keelwatch.vulndb.fleetmatch import FindingKey, match_distinct, read_tally


@dataclass(slots=True)
class ImageDelta:
    scan_id: int
    ref: str
    findings: int
    by_severity: dict[str, int]
    first_match: bool
    new: list[FindingKey] = field(default_factory=list)
    fixed: list[FindingKey] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        def rows(keys: list[FindingKey]) -> list[dict[str, str]]:
            return [dict(zip(("id", "type", "package", "version", "severity"), k, strict=True)) for k in keys]

        return {
            "scan_id": self.scan_id,
            "ref": self.ref,
            "findings": self.findings,
            "by_severity": self.by_severity,
            "first_match": self.first_match,
            "new": rows(self.new),
            "fixed": rows(self.fixed),
        }


@dataclass(slots=True)
class RescanReport:
    images: list[ImageDelta]
    distinct_packages: int
    evaluations: int
    warnings: list[str]


def stored_findings(store: Store, scan_ids: list[int] | None = None) -> dict[int, set[FindingKey]]:
    """The findings of stored scans against the current data, as keys; no image is pulled.

    The fleet's distinct packages are matched once; each scan's findings are the union of
    its packages' findings. What a caller that needs many stored scans' findings should use.
    """
    fleet = matches.load_fleet(store, scan_ids)
    found = match_distinct(fleet.packages, SqlKnowledgeBase(store))
    return {sid: set().union(*map(found.keys.__getitem__, fleet.package_ids(sid))) for sid in fleet.scans}


def rescan(store: Store, scan_ids: list[int] | None = None, *, save: bool = True) -> RescanReport:
    """Re-match `scan_ids` (all scans when None) and record each scan's new match."""
    fleet = matches.load_fleet(store, scan_ids)
    found = match_distinct(fleet.packages, SqlKnowledgeBase(store))
    images: dict[int, ImageDelta] = {}
    changed: list[matches.NewMatch] = []
    unchanged: list[int] = []
    to_compare: list[int] = []  # changed scans matched before: their new and fixed findings are listed
    for sid in sorted(fleet.scans):
        ref, created = fleet.scans[sid]
        ids = fleet.package_ids(sid)
        figures = read_tally(sum(map(found.tallies.__getitem__, ids)))
        first = sid not in fleet.previous
        images[sid] = ImageDelta(sid, ref, figures.total, figures.by_level, first)
        if fleet.unchanged(sid, figures.digest):
            unchanged.append(sid)
            continue
        if not first:
            to_compare.append(sid)
        listed = "[" + ",".join(f for f in map(found.fragments.__getitem__, ids) if f) + "]"
        changed.append(
            matches.NewMatch(
                sid,
                figures.total,
                figures.digest,
                matches.pack_findings(listed),
                fleet.links_to_cache(sid),
                created,
            )
        )
    for sid, old in matches.previous_findings(store, to_compare):
        current: set[FindingKey] = set().union(*map(found.keys.__getitem__, fleet.package_ids(sid)))
        images[sid].new, images[sid].fixed = sorted(current - old), sorted(old - current)
    if save:
        matches.save_matches(store, changed, unchanged, datetime.now(UTC))
    return RescanReport(list(images.values()), len(fleet.packages), found.evaluations, found.warnings)
