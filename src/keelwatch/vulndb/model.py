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


class KnowledgeBase(Protocol):
    """What the matcher asks of stored vulnerability data (implemented by the store)."""

    def advisories_for(self, ecosystem: str, name: str) -> list[Advisory]: ...

    def kev(self, cve: str) -> KevEntry | None: ...

    def epss(self, cve: str) -> EpssScore | None: ...
