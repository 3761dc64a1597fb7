"""What every feed importer shares: record checks, the name index key, bad-record reports.

Every feed is converted into OSV-shaped `Advisory` objects (or KEV / EPSS rows),
then checked here before anything is written. The rule for bad input:

- a bad *record* (not an object, no id, an unknown range type, an event the
  ecosystem's version scheme cannot parse, a duplicate id) is skipped and reported
  as a warning naming the record id; the rest of the feed is imported;
- a bad *container* (truncated zip, invalid top-level JSON, a file that is not in
  the documented format) rejects the whole update of that feed with a FeedError;
- so that a broken file cannot pass as "mostly skipped", an update whose bad
  records exceed `MAX_BAD_RATIO` of its records (and `MAX_BAD_ABSOLUTE`) is
  rejected as a whole too.

A rejected update never touches stored data: writes happen in one transaction.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from keelwatch.errors import FeedError, VersionError
from keelwatch.vulndb.model import Advisory

RANGE_TYPES = ("ECOSYSTEM", "SEMVER", "GIT")
EVENT_KEYS = ("introduced", "fixed", "last_affected", "limit")
MAX_BAD_RATIO = 0.05
MAX_BAD_ABSOLUTE = 20


class BadRecord(ValueError):
    """One record is unusable; the importer skips it with a warning."""


@dataclass
class Report:
    """Warnings collected while reading one feed (kept short: first N verbatim, then counted)."""

    feed: str
    warnings: list[str] = field(default_factory=list)
    bad_records: int = 0
    unknown_ecosystems: Counter[str] = field(default_factory=Counter)
    limit: int = 50

    def bad(self, record_id: str, reason: str) -> None:
        self.bad_records += 1
        self.warn(f"{self.feed}: skipped record {record_id}: {reason}")

    def warn(self, message: str) -> None:
        if len(self.warnings) < self.limit:
            self.warnings.append(message)
        elif len(self.warnings) == self.limit:
            self.warnings.append(f"{self.feed}: further warnings suppressed")

    def finish(self, good: int) -> None:
        """Summarise aggregated notes and reject an update that is mostly broken."""
        for eco, count in sorted(self.unknown_ecosystems.items()):
            self.warn(
                f"{self.feed}: {count} affected entries of ecosystem {eco!r} have no version "
                "scheme; stored but not indexed for matching"
            )
        total = good + self.bad_records
        if self.bad_records > MAX_BAD_ABSOLUTE and self.bad_records > MAX_BAD_RATIO * total:
            raise FeedError(
                f"{self.feed}: {self.bad_records} of {total} records are invalid; update rejected "
                f"(first: {self.warnings[0] if self.warnings else '?'})"
            )


def name_key(ecosystem: str, name: str) -> str:
    """The package name as the ecosystem compares names (PEP 503 for PyPI, else as published)."""
    if ecosystem.split(":", 1)[0] == "PyPI":
        return re.sub(r"[-_.]+", "-", name).lower()
    return name


def _scheme(ecosystem: str, range_type: str) -> Any:
    from keelwatch.vulndb.versions import SCHEMES, scheme_for

    if range_type == "SEMVER":
        return SCHEMES["semver"]
    return scheme_for(ecosystem)


def check_advisory(adv: Advisory, report: Report) -> list[tuple[str, str]]:
    """Validate one advisory; return its (ecosystem, name) index entries. Raises BadRecord."""
    raw = adv.raw
    affected = raw.get("affected") or []
    if not isinstance(affected, list):
        raise BadRecord("'affected' is not a list")
    keys: list[tuple[str, str]] = []
    for i, entry in enumerate(affected):
        if not isinstance(entry, dict):
            raise BadRecord(f"affected[{i}] is not an object")
        pkg = entry.get("package")
        eco = name = ""
        if pkg is not None:
            if not isinstance(pkg, dict):
                raise BadRecord(f"affected[{i}].package is not an object")
            eco, name = pkg.get("ecosystem"), pkg.get("name")
            if not isinstance(eco, str) or not isinstance(name, str) or not eco or not name:
                raise BadRecord(f"affected[{i}].package needs an ecosystem and a name")
        indexed = bool(eco)
        ranges = entry.get("ranges") or []
        if not isinstance(ranges, list):
            raise BadRecord(f"affected[{i}].ranges is not a list")
        for rng in ranges:
            if not isinstance(rng, dict):
                raise BadRecord(f"affected[{i}] has a range that is not an object")
            rtype = rng.get("type")
            if rtype not in RANGE_TYPES:
                raise BadRecord(f"affected[{i}] ({eco} {name}): unknown range type {rtype!r}")
            events = rng.get("events")
            if not isinstance(events, list) or not events:
                raise BadRecord(f"affected[{i}] ({eco} {name}): range without events")
            scheme = None
            if rtype != "GIT" and eco:
                try:
                    scheme = _scheme(eco, rtype)
                except VersionError:
                    report.unknown_ecosystems[eco] += 1
                    indexed = False
            for ev in events:
                if not isinstance(ev, dict) or len(ev) != 1 or next(iter(ev)) not in EVENT_KEYS:
                    raise BadRecord(f"affected[{i}] ({eco} {name}): invalid event {ev!r}")
                kind, value = next(iter(ev.items()))
                if not isinstance(value, str) or not value:
                    raise BadRecord(f"affected[{i}] ({eco} {name}): invalid {kind} value {value!r}")
                if scheme is None or (kind == "introduced" and value == "0") or value == "*":
                    continue
                if not scheme.valid(value):
                    raise BadRecord(
                        f"affected[{i}] ({eco} {name}): {kind} version {value!r} is not a valid "
                        f"{scheme.name} version"
                    )
        if indexed:
            keys.append((eco, name))
    return keys


def advisory_from_osv(doc: Any, source: str, fallback_id: str) -> Advisory:
    """Wrap an OSV JSON object as an Advisory, checking the top-level shape. Raises BadRecord."""
    if not isinstance(doc, dict):
        raise BadRecord("not a JSON object")
    adv_id = doc.get("id")
    if not isinstance(adv_id, str) or not adv_id.strip():
        raise BadRecord(f"no id (in {fallback_id})")
    aliases = doc.get("aliases") or []
    if not isinstance(aliases, list) or not all(isinstance(a, str) for a in aliases):
        raise BadRecord("'aliases' is not a list of strings")
    modified = doc.get("modified") or ""
    withdrawn = doc.get("withdrawn")
    if not isinstance(modified, str) or not (withdrawn is None or isinstance(withdrawn, str)):
        raise BadRecord("'modified'/'withdrawn' are not strings")
    return Advisory(
        id=adv_id, source=source, raw=doc, aliases=list(aliases), modified=modified, withdrawn=withdrawn
    )
