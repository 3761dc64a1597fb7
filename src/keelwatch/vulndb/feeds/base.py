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

import hashlib
import json
import re
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, TextIO

from keelwatch.errors import FeedError, VersionError
from keelwatch.vulndb.model import Advisory

RANGE_TYPES = ("ECOSYSTEM", "SEMVER", "GIT")
EVENT_KEYS = ("introduced", "fixed", "last_affected", "limit")
MAX_BAD_RATIO = 0.05
MAX_BAD_ABSOLUTE = 20
MAX_SKIPPED_LISTED = 100_000  # bounded memory even for a hostile feed
MAX_LINE = 1 << 20  # characters of one line of a text feed (DSA/DLA list, EPSS CSV); real ones < 1,000


class BadRecord(ValueError):
    """One record is unusable; the importer skips it with a warning."""


@dataclass
class Report:
    """What reading one feed found wrong: skipped records (all of them) and a few notes.

    Skipped records are kept apart from the notes so that `db update` can print one count
    per feed and offer the full list on request, instead of one line per record.
    """

    feed: str
    skipped: list[str] = field(default_factory=list)  # "record id: reason", in feed order
    notes: list[str] = field(default_factory=list)  # aggregated remarks (first `limit` kept)
    bad_records: int = 0
    kept_previous: int = 0  # bad records whose previously stored version stays
    unknown_ecosystems: Counter[str] = field(default_factory=Counter)
    limit: int = 50

    def bad(self, record_id: str, reason: str) -> None:
        self.bad_records += 1
        if len(self.skipped) < MAX_SKIPPED_LISTED:
            self.skipped.append(f"{record_id}: {reason}")

    def warn(self, message: str) -> None:
        if len(self.notes) < self.limit:
            self.notes.append(message)
        elif len(self.notes) == self.limit:
            self.notes.append(f"{self.feed}: further warnings suppressed")

    @property
    def warnings(self) -> list[str]:
        """Notes, then the first `limit` skipped records as one line each (for logs and tests)."""
        lines = [f"{self.feed}: skipped record {s}" for s in self.skipped[: self.limit]]
        if self.bad_records > self.limit:
            lines.append(f"{self.feed}: {self.bad_records - self.limit} more records skipped")
        return self.notes + lines

    def finish(self, good: int) -> None:
        """Summarise aggregated notes and reject an update that is mostly broken."""
        if self.kept_previous:
            self.warn(
                f"{self.feed}: {self.kept_previous} skipped records keep their previously stored version"
            )
        for eco, count in sorted(self.unknown_ecosystems.items()):
            self.warn(
                f"{self.feed}: {count} affected entries of ecosystem {eco!r} have no version "
                "scheme; stored but not indexed for matching"
            )
        total = good + self.bad_records
        if self.bad_records > MAX_BAD_ABSOLUTE and self.bad_records > MAX_BAD_RATIO * total:
            first = self.skipped[0] if self.skipped else "?"
            raise FeedError(
                f"{self.feed}: {self.bad_records} of {total} records are invalid; update rejected "
                f"(first: {first})"
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


def vetted(
    advisories: Iterable[Advisory], report: Report
) -> Iterator[tuple[Advisory, list[tuple[str, str]] | None]]:
    """Each advisory once with its index keys, or with None when it is a bad record.

    A bad record is reported here and still passed on, so the writer can keep the
    version it stored before instead of letting the advisory vanish. A repeated id
    is reported and dropped: the first one counts.
    """
    seen: set[str] = set()
    for adv in advisories:
        if adv.id in seen:
            report.bad(adv.id, "duplicate id in this feed; first kept")
            continue
        seen.add(adv.id)
        try:
            keys = check_advisory(adv, report)
        except BadRecord as exc:
            report.bad(adv.id, str(exc))
            yield adv, None
            continue
        yield adv, keys


def fingerprint(adv: Advisory) -> str:
    """What decides "unchanged" on re-import: OSV's `modified`, else a hash of the converted record."""
    if adv.source == "osv" and adv.modified:
        return f"m:{adv.modified}"
    body = {k: v for k, v in adv.raw.items() if k != "modified"}
    return "h:" + hashlib.sha1(json.dumps(body, sort_keys=True).encode(), usedforsecurity=False).hexdigest()


_CVE_YEAR = re.compile(r"^CVE-(\d{4})-\d+$")


def cve_year_floor(ids: Iterable[str]) -> str:
    """The first day of the newest CVE year among `ids` ("" if none), ISO 8601.

    For feeds that carry no date of their own (Alpine secdb, the Debian tracker JSON)
    read from a local copy, this is the only date the data itself proves: it was
    produced no earlier than that. Its age is an upper bound, so a staleness check
    built on it errs on the safe side.
    """
    years = [int(m.group(1)) for i in ids if (m := _CVE_YEAR.match(i))]
    return f"{max(years):04d}-01-01T00:00:00Z" if years else ""


def parse_json(data: bytes, what: str, *, error: type[Exception] = FeedError) -> Any:
    """A feed document through the image documents' bounded parser (depth, digits, no NaN).

    A feed file is as hostile as an image: 100,000 nested brackets are a RecursionError and a
    million-digit number costs seconds in plain `json.loads`. Size is bounded by the fetcher.
    """
    from keelwatch.errors import ImageSourceError
    from keelwatch.oci.schema import load_json

    try:
        return load_json(data, what, limit=max(len(data), 1))
    except ImageSourceError as exc:
        raise error(str(exc)) from None


def bounded_lines(fh: TextIO, limit: int = MAX_LINE) -> Iterator[tuple[int, str, bool]]:
    """(line number, line without its newline, whole?) of a text stream, each line at most `limit` long.

    Iterating a file object reads each line whole: one 2 GB line (or a gzip bomb of zeros
    with no newline) would be held in memory at once. A longer line yields its first `limit`
    characters with whole=False, and the rest of it is skipped.
    """
    lineno = 0
    while chunk := fh.readline(limit + 1):
        lineno += 1
        if len(chunk) <= limit or chunk.endswith("\n"):
            yield lineno, chunk.rstrip("\n"), True
            continue
        while (rest := fh.readline(limit)) and not rest.endswith("\n"):
            pass
        yield lineno, chunk[:limit], False
