"""What the findings of one image could see: the data matched against and its coverage.

"findings 0" means nothing unless the data covered every ecosystem of the image and was
recent. Each advisory ecosystem present in the image (`Debian:12`, `PyPI`, `npm`, ...)
is `covered` (a feed holds records for it and its snapshot is at most `max_age_days`
old), `stale` (it has records, but the freshest snapshot is older) or `not-covered`
(no loaded feed has a record for it, or the package type has no advisory ecosystem on
this OS at all, e.g. rpm on RHEL). The gate (keelwatch.app.gate) fails closed on the last
two. The age of a feed is that of the snapshot date its data proves (`FeedStatus.age_days`);
data that proves no date counts as stale.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from keelwatch.model import OSInfo, Package
from keelwatch.vulndb.ecosystems import query_for
from keelwatch.vulndb.model import FeedStatus

COVERED = "covered"
STALE = "stale"
NOT_COVERED = "not-covered"


@dataclass(slots=True)
class EcosystemCoverage:
    """One advisory ecosystem of the image and whether the data could judge its packages."""

    ecosystem: str  # OSV ecosystem ("Debian:12"), or "<type> on <os>" when there is none
    package_type: str
    packages: int
    status: str  # covered | stale | not-covered
    feeds: list[str] = field(default_factory=list)
    age_days: float | None = None  # of the freshest feed covering it

    def reason(self, max_age_days: float) -> str:
        """One line a CI log can show."""
        what = f"{self.packages} {self.package_type} package(s) ({self.ecosystem})"
        if self.status == STALE:
            age = f"{self.age_days:.0f}" if self.age_days is not None else "?"
            return f"{what}: data {age} days old in {', '.join(self.feeds)} (max {max_age_days:g})"
        if self.status == NOT_COVERED:
            if not self.feeds and " on " in self.ecosystem:
                return f"{what}: no advisory data exists for this package type on this OS"
            return f"{what}: no vulnerability data loaded for this ecosystem"
        return f"{what}: covered by {', '.join(self.feeds)}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "ecosystem": self.ecosystem,
            "package_type": self.package_type,
            "packages": self.packages,
            "status": self.status,
            "feeds": list(self.feeds),
            "age_days": round(self.age_days, 1) if self.age_days is not None else None,
        }


@dataclass(slots=True)
class Coverage:
    """The data a result was matched against, and its coverage of each ecosystem of the image."""

    feeds: list[FeedStatus]
    ecosystems: list[EcosystemCoverage]
    max_age_days: float
    checked_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    def with_status(self, status: str) -> list[EcosystemCoverage]:
        return [e for e in self.ecosystems if e.status == status]

    def to_dict(self) -> dict[str, Any]:
        return {
            "checked_at": self.checked_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "max_age_days": self.max_age_days,
            "feeds": [_feed_dict(f, self.checked_at) for f in self.feeds],
            "ecosystems": [e.to_dict() for e in self.ecosystems],
        }


def image_ecosystems(packages: Sequence[Package], os_info: OSInfo) -> dict[tuple[str, str], int]:
    """{(ecosystem or "<type> on <os>", package type): package count} of one image."""
    os_name = f"{os_info.id} {os_info.version_id}".strip() or "an unknown OS"
    counts: Counter[tuple[str, str]] = Counter()
    for pkg in packages:
        query = query_for(pkg, os_info)
        ecosystem = query.ecosystem if query is not None else f"{pkg.type} on {os_name}"
        counts[(ecosystem, pkg.type)] += 1
    return dict(counts)


def assess(
    present: Mapping[tuple[str, str], int],
    feeds: Sequence[FeedStatus],
    covering: Mapping[str, Sequence[str]],
    max_age_days: float,
    now: datetime | None = None,
) -> Coverage:
    """Coverage of the `present` ecosystems given which feeds (`covering`) hold records for each."""
    now = now or datetime.now(UTC)
    by_name = {f.feed: f for f in feeds}
    out: list[EcosystemCoverage] = []
    for (ecosystem, ptype), count in sorted(present.items()):
        names = [n for n in covering.get(ecosystem, ()) if n in by_name]
        ages = [a for n in names if (a := by_name[n].age_days(now)) is not None]
        age = min(ages) if ages else None
        if not names:
            status = NOT_COVERED
        elif age is None or age > max_age_days:
            status = STALE
        else:
            status = COVERED
        out.append(EcosystemCoverage(ecosystem, ptype, count, status, names, age))
    return Coverage(list(feeds), out, max_age_days, now)


def _feed_dict(feed: FeedStatus, now: datetime) -> dict[str, Any]:
    age = feed.age_days(now)
    return {
        "feed": feed.feed,
        "snapshot": feed.snapshot_at or None,
        "imported": feed.updated_at.isoformat() if feed.updated_at else None,
        "records": feed.records,
        "age_days": round(age, 1) if age is not None else None,
    }
