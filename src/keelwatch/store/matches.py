"""What a fleet rescan reads and writes: stored scans' package sets and their last match.

Read (`load_fleet`): the scans, each scan's distinct package ids (its packed
`scan_package_sets` row; for scans saved before those existed, the ids cached in its
last `scan_matches` row or, failing that, aggregated from `scan_packages`), the digest
of each scan's last match, and the distinct packages themselves. Write
(`save_matches`): one `scan_matches` row per scan whose findings changed, a new
`matched_at` for the others, in one transaction. Tables: `store.findings_models`.
"""

from __future__ import annotations

import zlib
from array import array
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import Connection, String, cast, delete, func, insert, select, update

from keelwatch.errors import KeelwatchError
from keelwatch.store.db import Store, unpack
from keelwatch.store.findings_models import ScanMatch, ScanPackageSet, pack_ids, unpack_ids
from keelwatch.store.models import PackageVersion, Scan, ScanPackage
from keelwatch.vulndb.fleetmatch import FindingKey, FleetPackage

_CHUNK = 500


def _chunks(items: list[Any], size: int = _CHUNK) -> Iterator[list[Any]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


@dataclass(slots=True)
class StoredFleet:
    """The stored scans a rescan judges, and the distinct packages they hold."""

    scans: dict[int, tuple[str, datetime]] = field(default_factory=dict)  # id -> (ref, created_at)
    package_sets: dict[int, bytes] = field(default_factory=dict)  # id -> pack_ids(package ids)
    with_set: set[int] = field(default_factory=set)  # scans that have a scan_package_sets row
    previous: dict[int, tuple[str, datetime | None]] = field(default_factory=dict)  # last match digest
    packages: dict[int, FleetPackage] = field(default_factory=dict)  # distinct packages in use

    def package_ids(self, scan_id: int) -> array[int]:
        """The scan's distinct package ids (a C array: 100,000 scans fit in memory)."""
        blob = self.package_sets.get(scan_id)
        return unpack_ids(blob) if blob is not None else array("q")

    def unchanged(self, scan_id: int, digest: str) -> bool:
        """True when the scan's last match had this digest and the scan was not re-saved since."""
        before = self.previous.get(scan_id)
        return before is not None and before[0] == digest and before[1] == self.scans[scan_id][1]

    def links_to_cache(self, scan_id: int) -> bytes | None:
        """For a scan without a package set: its ids, kept with its match so the next rescan needs no join."""
        return None if scan_id in self.with_set else self.package_sets.get(scan_id, pack_ids([]))


class NewMatch(NamedTuple):
    """A scan's new match, as the rescan computed it."""

    scan_id: int
    finding_count: int
    digest: str
    findings: bytes  # pack_findings(JSON list of [id, type, name, version, level])
    links: bytes | None  # StoredFleet.links_to_cache
    scan_created_at: datetime


def _aggregated_links(conn: Connection, scan_ids: list[int] | None) -> dict[int, list[int]]:
    """{scan id: package ids} from `scan_packages`, aggregated in the database (one row per scan)."""
    pv = ScanPackage.package_version_id
    if conn.dialect.name == "postgresql":
        agg = func.string_agg(cast(pv, String), ",")
    else:
        agg = func.group_concat(pv, ",")
    base = select(ScanPackage.scan_id, agg).group_by(ScanPackage.scan_id)
    out: dict[int, list[int]] = {}
    for chunk in [None] if scan_ids is None else _chunks(scan_ids):
        q = base if chunk is None else base.where(ScanPackage.scan_id.in_(chunk))
        for sid, joined in conn.execute(q):
            out[sid] = list(set(map(int, joined.split(",")))) if joined else []
    return out


def _select_in(conn: Connection, query: Any, column: Any, ids: list[int] | None) -> Iterator[Any]:
    """Rows of `query`, restricted to `column IN ids` in chunks (all rows when ids is None)."""
    if ids is None:
        yield from conn.execute(query)
        return
    for chunk in _chunks(ids):
        yield from conn.execute(query.where(column.in_(chunk)))


def load_fleet(store: Store, scan_ids: list[int] | None = None) -> StoredFleet:
    """The scans `scan_ids` (all when None) with their package sets and last matches."""
    fleet = StoredFleet()
    with store.read() as conn:
        for sid, ref, at in _select_in(conn, select(Scan.id, Scan.ref, Scan.created_at), Scan.id, scan_ids):
            fleet.scans[sid] = (ref, at)
        missing = [i for i in scan_ids or () if i not in fleet.scans]
        if missing:
            raise KeelwatchError(f"no stored scan with id {missing[0]}")
        sets = select(ScanPackageSet.scan_id, ScanPackageSet.packages)
        for sid, blob in _select_in(conn, sets, ScanPackageSet.scan_id, scan_ids):
            if sid in fleet.scans:
                fleet.package_sets[sid] = blob
        fleet.with_set = set(fleet.package_sets)
        last = select(ScanMatch.scan_id, ScanMatch.digest, ScanMatch.scan_created_at, ScanMatch.packages)
        for sid, digest, at, blob in _select_in(conn, last, ScanMatch.scan_id, scan_ids):
            if sid not in fleet.scans:
                continue
            fleet.previous[sid] = (digest, at)
            # saved before package sets existed and not re-saved since: its cached links hold
            if sid not in fleet.package_sets and blob and at == fleet.scans[sid][1]:
                fleet.package_sets[sid] = blob
        stale = [sid for sid in fleet.scans if sid not in fleet.package_sets]
        if stale:
            every = len(stale) == len(fleet.scans) and scan_ids is None
            found = _aggregated_links(conn, None if every else stale)
            fleet.package_sets.update((sid, pack_ids(ids)) for sid, ids in found.items())
        used: set[int] = set()
        for blob in fleet.package_sets.values():
            used.update(unpack_ids(blob))
        table = PackageVersion.__table__
        cols = (table.c.id, table.c.type, table.c.name, table.c.version)
        cols += (table.c.source_name, table.c.source_version, table.c.distro)
        for pid, *values in _select_in(
            conn, select(*cols), table.c.id, None if scan_ids is None else sorted(used)
        ):
            if pid in used:
                fleet.packages[pid] = FleetPackage(*values)
    return fleet


def previous_findings(store: Store, scan_ids: list[int]) -> Iterator[tuple[int, set[FindingKey]]]:
    """Each scan's finding keys as its last match stored them (read in chunks, decoded one by one)."""
    with store.read() as conn:
        for chunk in _chunks(scan_ids):
            rows = conn.execute(
                select(ScanMatch.scan_id, ScanMatch.findings).where(ScanMatch.scan_id.in_(chunk))
            )
            for sid, blob in rows:
                yield sid, {tuple(k) for k in unpack(blob)}  # type: ignore[misc]


def pack_findings(findings_json: str) -> bytes:
    """A scan's finding list as `scan_matches.findings` keeps it (what `store.db.unpack` reads)."""
    return zlib.compress(findings_json.encode(), 1)


def save_matches(store: Store, changed: list[NewMatch], unchanged: list[int], now: datetime) -> None:
    """Replace the changed scans' matches and stamp the others, in one transaction."""
    rows = [
        {
            "scan_id": m.scan_id,
            "matched_at": now,
            "finding_count": m.finding_count,
            "digest": m.digest,
            "findings": m.findings,
            "packages": m.links,
            "scan_created_at": m.scan_created_at,
        }
        for m in changed
    ]
    with store.write() as conn:
        for chunk in _chunks(rows, 1000):
            conn.execute(delete(ScanMatch).where(ScanMatch.scan_id.in_([r["scan_id"] for r in chunk])))
            conn.execute(insert(ScanMatch), chunk)
        for ids in _chunks(unchanged, 1000):
            conn.execute(update(ScanMatch).where(ScanMatch.scan_id.in_(ids)).values(matched_at=now))
