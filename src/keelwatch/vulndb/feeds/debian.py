"""Debian security data converted into OSV-shaped advisories, as OSV itself publishes Debian.

Two inputs:

- the security tracker's JSON export (https://security-tracker.debian.org/tracker/data/json):
  `{source package: {CVE: {description, releases: {codename: {status, fixed_version,
  urgency, ...}}}}}`. One advisory per CVE ("DEBIAN-CVE-…", aliased to the CVE), one
  affected entry per (source package, release) in ecosystem "Debian:<major>":
  `resolved` -> introduced 0 / fixed X; `resolved` with fixed_version "0" -> not
  affected, no entry; `open` -> introduced 0 with no fix; `undetermined` -> like open
  but flagged `database_specific.status = "undetermined"` so the matcher can show it
  as such instead of as a plain finding.
- the DSA / DLA lists (`data/DSA/list`, `data/DLA/list` in the tracker repository):
  `[date] DSA-N-M package - title`, `{CVE ids}`, `[release] - source-package version`,
  `NOTE:` lines. One advisory per DSA/DLA id with its CVEs as aliases.

Releases without a version number (sid, experimental) have no OSV ecosystem and are
left out; an unknown codename is reported once, not guessed.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any, TextIO

from keelwatch.errors import FeedError
from keelwatch.vulndb.feeds.base import MAX_LINE, Report, bounded_lines, parse_json
from keelwatch.vulndb.model import Advisory

# Codename -> the version OSV uses in "Debian:<version>" (as distro-info numbers them).
RELEASES = {
    "woody": "3.0",
    "sarge": "3.1",
    "etch": "4.0",
    "lenny": "5.0",
    "squeeze": "6.0",
    "wheezy": "7",
    "jessie": "8",
    "stretch": "9",
    "buster": "10",
    "bullseye": "11",
    "bookworm": "12",
    "trixie": "13",
    "forky": "14",
    "duke": "15",
}
UNVERSIONED = {"sid", "unstable", "experimental"}
TRACKER_URL = "https://security-tracker.debian.org/tracker/data/json"
LISTS_BASE = "https://salsa.debian.org/security-tracker-team/security-tracker/-/raw/master/"


def ecosystem(codename: str, unknown: Counter[str]) -> str | None:
    """ "Debian:<major>" for a codename; None (and counted) for sid or an unknown one."""
    version = RELEASES.get(codename.lower())
    if version is None:
        if codename.lower() not in UNVERSIONED:
            unknown[codename] += 1
        return None
    return f"Debian:{version}"


def _report_unknown(report: Report, unknown: Counter[str]) -> None:
    for codename, count in sorted(unknown.items()):
        report.warn(f"{report.feed}: {count} entries for unknown release {codename!r} left out")


# --- tracker JSON ---------------------------------------------------------------------


def read_tracker(fh: TextIO | Path, report: Report, snapshot: str = "") -> Iterator[Advisory]:
    """Advisories from the tracker JSON export (the whole document is one JSON object)."""
    try:
        raw = fh.read_bytes() if isinstance(fh, Path) else fh.read().encode()
    except OSError as exc:
        raise FeedError(f"{report.feed}: tracker JSON: cannot read: {exc.strerror}") from None
    data = parse_json(raw, f"{report.feed}: tracker JSON")
    if not isinstance(data, dict) or not all(isinstance(v, dict) for v in data.values()):
        raise FeedError(f"{report.feed}: tracker JSON is not an object of source packages")
    unknown: Counter[str] = Counter()
    by_cve: dict[str, dict[str, Any]] = {}
    for package, issues in data.items():
        for issue_id, info in issues.items():
            if not isinstance(info, dict) or not isinstance(info.get("releases", {}), dict):
                report.bad(f"{issue_id}/{package}", "issue is not an object with 'releases'")
                continue
            entries = []
            for codename, rel in info.get("releases", {}).items():
                if not isinstance(rel, dict):
                    report.bad(f"{issue_id}/{package}/{codename}", "release entry is not an object")
                    continue
                entry = _tracker_entry(package, issue_id, codename, rel, report, unknown)
                if entry is not None:
                    entries.append(entry)
            doc = by_cve.get(issue_id)
            if doc is None:
                doc = by_cve[issue_id] = {
                    "id": f"DEBIAN-{issue_id}",
                    "modified": snapshot,
                    "aliases": [issue_id] if issue_id.startswith("CVE-") else [],
                    "details": info.get("description") or "",
                    "affected": [],
                    "database_specific": {"source": TRACKER_URL},
                }
            doc["affected"].extend(entries)
    _report_unknown(report, unknown)
    for doc in by_cve.values():
        yield Advisory(
            id=doc["id"], source="debian-tracker", raw=doc, aliases=list(doc["aliases"]), modified=snapshot
        )


def _tracker_entry(
    package: str, issue_id: str, codename: str, rel: dict[str, Any], report: Report, unknown: Counter[str]
) -> dict[str, Any] | None:
    eco = ecosystem(codename, unknown)
    if eco is None:
        return None
    status = rel.get("status")
    fixed = rel.get("fixed_version")
    specific: dict[str, Any] = {"status": status}
    if status == "resolved":
        if not isinstance(fixed, str) or not fixed:
            report.bad(f"{issue_id}/{package}/{codename}", "resolved without a fixed_version")
            return None
        if fixed == "0":  # the tracker's way of saying "never affected"
            return None
        events: list[dict[str, str]] = [{"introduced": "0"}, {"fixed": fixed}]
    elif status in ("open", "undetermined"):
        events = [{"introduced": "0"}]
    else:
        report.bad(f"{issue_id}/{package}/{codename}", f"unknown status {status!r}")
        return None
    for key in ("urgency", "nodsa", "nodsa_reason"):
        if rel.get(key):
            specific[key] = rel[key]
    return {
        "package": {"ecosystem": eco, "name": package},
        "ranges": [{"type": "ECOSYSTEM", "events": events}],
        "database_specific": specific,
    }


# --- DSA / DLA lists ------------------------------------------------------------------

_HEADER = re.compile(r"^\[(\d{1,2} [A-Za-z]{3} \d{4})\]\s+(D[SL]A-\d+(?:-\d+)?)\s*(.*)$")
_CVES = re.compile(r"^\s+\{([^}]*)\}\s*$")
_RELEASE = re.compile(r"^\s+\[([a-z-]+)\]\s+-\s+(\S+)\s+(\S+)(?:\s+\((.*)\))?\s*$")
_NOTE = re.compile(r"^\s+NOTE:\s*(.*)$")


def read_list(fh: TextIO | Path, report: Report, source: str) -> Iterator[Advisory]:
    """Advisories from a DSA or DLA list; a line in no known form is reported, not guessed."""
    if isinstance(fh, Path):
        with fh.open(encoding="utf-8", errors="replace") as f:
            yield from read_list(f, report, source)
        return
    unknown: Counter[str] = Counter()
    current: dict[str, Any] | None = None
    seen_header = False
    for lineno, line, whole in bounded_lines(fh):
        if not whole:
            report.bad(f"line {lineno}", f"longer than {MAX_LINE} characters")
            if line.startswith("["):  # a header: the record before it is complete
                if current is not None:
                    yield _dsa_advisory(current, source)
                seen_header = True
            current = None  # the record this line starts or belongs to is skipped
            continue
        if not line.strip():
            continue
        if m := _HEADER.match(line):
            if current is not None:
                yield _dsa_advisory(current, source)
            seen_header = True
            date, adv_id, rest = m.groups()
            packages, _, title = rest.partition(" - ")
            try:
                published = datetime.strptime(date, "%d %b %Y").strftime("%Y-%m-%dT00:00:00Z")
            except ValueError:
                report.bad(adv_id, f"line {lineno}: invalid date {date!r}")
                current = None
                continue
            current = {
                "id": adv_id,
                "published": published,
                "modified": published,
                "summary": rest.strip(),
                "packages": packages.split(),
                "title": title.strip(),
                "aliases": [],
                "affected": [],
                "notes": [],
                "not_affected": [],
            }
            continue
        if current is None:
            if not seen_header:
                raise FeedError(f"{report.feed}: line {lineno} is not a DSA/DLA list header: {line[:80]!r}")
            continue  # the body of a record we already rejected
        if m := _CVES.match(line):
            current["aliases"].extend(i for i in m.group(1).split() if i not in current["aliases"])
        elif m := _RELEASE.match(line):
            codename, package, version, note = m.groups()
            eco = ecosystem(codename, unknown)
            if eco is None:
                continue
            if version == "<not-affected>":
                current["not_affected"].append({"release": codename, "package": package, "note": note})
                continue
            events: list[dict[str, str]] = [{"introduced": "0"}]
            if not version.startswith("<"):
                events.append({"fixed": version})
            entry: dict[str, Any] = {
                "package": {"ecosystem": eco, "name": package},
                "ranges": [{"type": "ECOSYSTEM", "events": events}],
            }
            if version.startswith("<") or note:
                entry["database_specific"] = {k: v for k, v in (("status", version), ("note", note)) if v}
            current["affected"].append(entry)
        elif m := _NOTE.match(line):
            current["notes"].append(m.group(1))
        else:
            report.warn(
                f"{report.feed}: {current['id']}: line {lineno} not understood: {line.strip()[:80]!r}"
            )
    if current is not None:
        yield _dsa_advisory(current, source)
    if not seen_header:
        raise FeedError(f"{report.feed}: no advisories found: not a DSA/DLA list")
    _report_unknown(report, unknown)


def _dsa_advisory(rec: dict[str, Any], source: str) -> Advisory:
    specific: dict[str, Any] = {"packages": rec["packages"]}
    if rec["notes"]:
        specific["notes"] = rec["notes"]
    if rec["not_affected"]:
        specific["not_affected"] = rec["not_affected"]
    kind = "DSA" if rec["id"].startswith("DSA") else "DLA"
    doc = {
        "id": rec["id"],
        "published": rec["published"],
        "modified": rec["modified"],
        "aliases": rec["aliases"],
        "summary": rec["summary"],
        "affected": rec["affected"],
        "references": [
            {"type": "ADVISORY", "url": f"https://security-tracker.debian.org/tracker/{rec['id']}"}
        ],
        "database_specific": {"kind": kind, **specific},
    }
    return Advisory(
        id=rec["id"], source=source, raw=doc, aliases=list(rec["aliases"]), modified=rec["modified"]
    )
