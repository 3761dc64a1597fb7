"""Advisories in one OSV-shaped model, whatever feed they came from.

OSV records are stored as they are. Debian tracker / DSA / DLA data and Alpine
secdb are converted into the same shape, the way OSV itself publishes them:
ecosystem "Debian:12" keyed by *source* package, "Alpine:v3.19" keyed by
*origin* package, with ECOSYSTEM ranges (introduced "0", fixed X; no fixed
event = no fix yet). The matcher then needs one algorithm for all of them.

Ecosystem names are OSV's: "PyPI", "npm", "Go", "Maven", "crates.io",
"Debian:<major>", "Ubuntu:<YY.MM>", "Alpine:v<major.minor>", "Red Hat", ...
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol


@dataclass(slots=True)
class KevEntry:
    cve: str
    date_added: str
    due_date: str = ""
    known_ransomware: str = ""
    vendor: str = ""
    product: str = ""
    name: str = ""


@dataclass(slots=True)
class EpssScore:
    cve: str
    score: float
    percentile: float
    model_version: str = ""
    date: str = ""


@dataclass(slots=True)
class Advisory:
    """One OSV document (possibly converted). `raw` is the OSV JSON object itself."""

    id: str
    source: str  # feed name: "osv", "debian-tracker", "debian-dsa", "alpine-secdb", ...
    raw: dict[str, Any]
    aliases: list[str] = field(default_factory=list)
    modified: str = ""
    withdrawn: str | None = None

    @property
    def affected(self) -> list[dict[str, Any]]:
        return list(self.raw.get("affected") or [])


@dataclass(slots=True)
class FeedStatus:
    """What the last update of one feed left: the facts `db status` and a staleness gate read."""

    feed: str  # "osv:PyPI", "alpine-secdb", "kev", ...
    source: str
    status: str  # ok | failed
    records: int
    snapshot_at: str  # the data's own date (ISO 8601), "" when the data proves none
    updated_at: datetime | None = None  # when keelwatch last imported or checked it
    message: str = ""
    warnings: int = 0
    files: dict[str, Any] = field(default_factory=dict)
    sha256: str = ""

    def snapshot(self) -> datetime | None:
        """`snapshot_at` as an aware datetime; None when unknown or unreadable."""
        if not self.snapshot_at:
            return None
        try:
            when = datetime.fromisoformat(self.snapshot_at.replace("Z", "+00:00"))
        except ValueError:
            return None
        return when if when.tzinfo else when.replace(tzinfo=UTC)

    def age_days(self, now: datetime | None = None) -> float | None:
        """Days since the snapshot; None when the data carries no date (treat as stale)."""
        when = self.snapshot()
        if when is None:
            return None
        return ((now or datetime.now(UTC)) - when).total_seconds() / 86400


class KnowledgeBase(Protocol):
    """What the matcher asks of stored vulnerability data (implemented by the store)."""

    def advisories_for(self, ecosystem: str, name: str) -> list[Advisory]: ...

    def kev(self, cve: str) -> KevEntry | None: ...

    def epss(self, cve: str) -> EpssScore | None: ...
