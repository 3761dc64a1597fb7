"""One severity per finding, from the best evidence its records carry.

Order of evidence (first that yields a score wins):
1. OSV `severity[]` CVSS vectors, scored with the `cvss` library: CVSS v4, then v3.x,
   then v2 (the newest standard the publisher scored); the highest base score among
   vectors of that version when records disagree.
2. A publisher's qualitative rating: `database_specific.severity` (GHSA-style
   "HIGH"/"MODERATE"...), the Debian tracker's `urgency` (per affected entry).
3. "unknown".

Levels are normalised to critical / high / medium / low / negligible / unknown;
CVSS "None" (0.0) and Debian "unimportant" map to negligible. `Level` is the one ordered
severity type: every filter, gate, rule, sort and weight compares `Level`s, never strings.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from enum import IntEnum
from typing import Any

from cvss import CVSS2, CVSS3, CVSS4
from cvss.exceptions import CVSSError


class Level(IntEnum):
    """Severity levels, ordered: a higher value is more severe; `unknown` sorts lowest.

    The gate does not rely on `unknown` sorting lowest: it settles unknown levels by its
    own documented rule (see keelwatch.app.gate) before comparing.
    """

    UNKNOWN = 0
    NEGLIGIBLE = 1
    LOW = 2
    MEDIUM = 3
    HIGH = 4
    CRITICAL = 5

    @property
    def label(self) -> str:
        """The lower-case name used in every output ("high")."""
        return self.name.lower()

    @classmethod
    def of(cls, text: Any) -> Level:
        """The level named `text` (any case); unrecognised names are `unknown`."""
        if isinstance(text, Level):
            return text
        return cls.__members__.get(str(text).strip().upper(), cls.UNKNOWN)

    @classmethod
    def parse(cls, text: str) -> Level:
        """A level the user typed (any case); ValueError names the choices."""
        level = cls.__members__.get(text.strip().upper())
        if level is None:
            raise ValueError(f"unknown severity {text.strip()!r} (one of {', '.join(LEVELS)})")
        return level

    @classmethod
    def parse_list(cls, text: str) -> list[Level]:
        """`HIGH,critical` -> [HIGH, CRITICAL]: comma lists in any case, empty items ignored."""
        levels = [cls.parse(part) for part in text.split(",") if part.strip()]
        if not levels:
            raise ValueError(f"no severity given (one of {', '.join(LEVELS)})")
        return levels


# most severe first ("unknown" last), for counts and columns
LEVELS = tuple(level.label for level in sorted(Level, reverse=True))

_WORDS = {
    "critical": "critical",
    "high": "high",
    "important": "high",
    "moderate": "medium",
    "medium": "medium",
    "low": "low",
    "minor": "low",
    "negligible": "negligible",
    "unimportant": "negligible",
    "none": "negligible",
}


@dataclass(slots=True)
class Severity:
    level: str = "unknown"
    score: float | None = None
    vector: str | None = None
    source: str = ""  # "CVSS_V3", "CVSS_V4", "CVSS_V2", "database_specific", "urgency", "alias", ""

    @property
    def rank(self) -> Level:
        return Level.of(self.level)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def level_of_score(score: float) -> str:
    if score >= 9.0:
        return "critical"
    if score >= 7.0:
        return "high"
    if score >= 4.0:
        return "medium"
    if score > 0.0:
        return "low"
    return "negligible"


def level_of_word(word: Any) -> str:
    return _WORDS.get(str(word).strip().lower().split()[0] if str(word).strip() else "", "unknown")


def score_vector(kind: str, vector: str) -> float | None:
    """Base score of a CVSS vector, None when the library rejects it."""
    try:
        if kind == "CVSS_V4":
            return float(CVSS4(vector).base_score)
        if kind == "CVSS_V3":
            return float(CVSS3(vector).base_score)
        if kind == "CVSS_V2":
            return float(CVSS2(vector).base_score)
    except (CVSSError, ValueError, KeyError, IndexError):
        return None
    return None


_PREFERENCE = ("CVSS_V4", "CVSS_V3", "CVSS_V2")


def severity_of(records: list[dict[str, Any]], entries: list[dict[str, Any]]) -> Severity:
    """The finding's severity from its records' raw OSV documents and matched affected entries."""
    scored: dict[str, list[tuple[float, str]]] = {}
    for raw in records:
        for sev in raw.get("severity") or []:
            if not isinstance(sev, dict):
                continue
            kind, vector = sev.get("type"), sev.get("score")
            if kind in _PREFERENCE and isinstance(vector, str):
                score = score_vector(kind, vector)
                if score is not None:
                    scored.setdefault(kind, []).append((score, vector))
    for kind in _PREFERENCE:
        if kind in scored:
            score, vector = max(scored[kind])
            return Severity(level_of_score(score), score, vector, kind)
    best: Severity | None = None
    for specific, source in _qualitative(records, entries):
        level = level_of_word(specific)
        if level != "unknown" and (best is None or Level.of(level) > best.rank):
            best = Severity(level, None, None, source)
    return best or Severity()


def _qualitative(records: list[dict[str, Any]], entries: list[dict[str, Any]]) -> list[tuple[Any, str]]:
    out: list[tuple[Any, str]] = []
    for holder in [*records, *entries]:
        for field in ("database_specific", "ecosystem_specific"):
            specific = holder.get(field)
            if isinstance(specific, dict):
                if specific.get("severity"):
                    out.append((specific["severity"], field))
                if specific.get("urgency"):
                    out.append((specific["urgency"], "urgency"))
    return out


def highest_by_alias(records: list[tuple[str, dict[str, Any]]]) -> Severity | None:
    """The highest severity any one of a flaw's (id, raw record) pairs carries on its own.

    The documented rule for a flaw the matched records left `unknown`: look at every
    stored record filed under one of its ids and take the most severe. None when none says.
    """
    best: Severity | None = None
    for record_id, raw in records:
        entries = [e for e in raw.get("affected") or [] if isinstance(e, dict)]
        found = severity_of([raw], entries)
        if found.rank is not Level.UNKNOWN and (best is None or found.rank > best.rank):
            best = Severity(found.level, found.score, found.vector, f"alias {record_id} ({found.source})")
    return best
