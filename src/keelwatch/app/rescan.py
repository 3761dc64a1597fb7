"""Re-match stored scans against the current vulnerability data (`keelwatch rescan`).

No image is pulled: the store's fleet package index (`package_versions` + each scan's
packed package set, `scan_package_sets`; `scan_packages` links for scans saved before
the sets existed) says which distinct packages each scan holds, so every distinct
(ecosystem, name, version) of the whole fleet is evaluated once and the findings are
fanned out to the scans. Each scan's last match is kept (`scan_matches`), so the
report says what is new and what was fixed since the previous match.

A scan's figures are summed per package: a finding key reported by two of its packages
(same type, name and version, different source package) counts twice.
"""

from __future__ import annotations

import hashlib
import json
import zlib
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, insert, select

from keelwatch.errors import KeelwatchError
from keelwatch.vulndb.severity import LEVELS

FindingKey = tuple[str, str, str, str, str]  # (id, package type, name, version, severity level)
_FIELD = (1 << 24) - 1
_BASE = 96  # counters start above the digests' sum (64 bits + carries of up to 2**32 packages)


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


def _chunks(items: list[Any], size: int = 500) -> Any:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def _digest(keys: tuple[FindingKey, ...]) -> int:
    """Stable 64-bit contribution of one package's findings (summed per scan, mod 2**64)."""
    total = 0
    for key in keys:
        h = hashlib.blake2b("\x1f".join(key).encode(), digest_size=8).digest()
        total += int.from_bytes(h, "big")
    return total


def _links(conn: Any, scan_ids: list[int] | None) -> dict[int, list[int]]:
    """{scan id: package_version ids}, aggregated in the database (one row per scan)."""
    from sqlalchemy import String, cast, func

    from keelwatch.store.models import ScanPackage

    pv = ScanPackage.package_version_id
    if conn.dialect.name == "postgresql":
        agg = func.string_agg(cast(pv, String), ",")
    else:
        agg = func.group_concat(pv, ",")
    base = select(ScanPackage.scan_id, agg).group_by(ScanPackage.scan_id)
    out: dict[int, list[int]] = {}
    chunks = [None] if scan_ids is None else list(_chunks(scan_ids))
    for chunk in chunks:
        q = base if chunk is None else base.where(ScanPackage.scan_id.in_(chunk))
        for sid, joined in conn.execute(q):
            out[sid] = list(set(map(int, joined.split(",")))) if joined else []
    return out


def rescan(store: Any, scan_ids: list[int] | None = None, *, save: bool = True) -> RescanReport:
    """Re-match `scan_ids` (all scans when None) and record each scan's new match."""
    from sqlalchemy import update

    from keelwatch.store.db import unpack
    from keelwatch.store.findings_models import ScanMatch, ScanPackageSet, pack_ids, unpack_ids
    from keelwatch.store.kb import SqlKnowledgeBase
    from keelwatch.store.models import PackageVersion, Scan
    from keelwatch.vulndb.ecosystems import query_parts
    from keelwatch.vulndb.match import Matcher

    scans: dict[int, tuple[str, Any]] = {}
    cols = (Scan.id, Scan.ref, Scan.created_at)
    previous: dict[int, tuple[str, Any]] = {}  # scan id -> (digest, scan_created_at)
    links: dict[int, bytes] = {}  # scan id -> pack_ids(its package_versions ids), decoded when used
    with store.read() as conn:
        if scan_ids is None:
            scans = {sid: (ref, at) for sid, ref, at in conn.execute(select(*cols))}
        else:
            for chunk in _chunks(scan_ids):
                scans.update(
                    {sid: (ref, at) for sid, ref, at in conn.execute(select(*cols).where(Scan.id.in_(chunk)))}
                )
            missing = [i for i in scan_ids if i not in scans]
            if missing:
                raise KeelwatchError(f"no stored scan with id {missing[0]}")
        chunks = [None] if scan_ids is None else list(_chunks(scan_ids))
        sets = select(ScanPackageSet.scan_id, ScanPackageSet.packages)
        for chunk in chunks:
            q = sets if chunk is None else sets.where(ScanPackageSet.scan_id.in_(chunk))
            for sid, blob in conn.execute(q):
                if sid in scans:
                    links[sid] = blob
        with_set = set(links)
        q = select(ScanMatch.scan_id, ScanMatch.digest, ScanMatch.scan_created_at, ScanMatch.packages)
        for chunk in chunks:
            for sid, digest, at, blob in conn.execute(
                q if chunk is None else q.where(ScanMatch.scan_id.in_(chunk))
            ):
                if sid not in scans:
                    continue
                previous[sid] = (digest, at)
                # saved before package sets existed and not re-saved since: its cached links hold
                if sid not in links and blob and at == scans[sid][1]:
                    links[sid] = blob
        stale = [sid for sid in scans if sid not in links]
        if stale:
            found = _links(conn, None if len(stale) == len(scans) and scan_ids is None else stale)
            links.update((sid, pack_ids(ids)) for sid, ids in found.items())
        used_set: set[int] = set()
        for blob in links.values():
            used_set.update(unpack_ids(blob))
        used = sorted(used_set)
        table = PackageVersion.__table__
        tuples: dict[int, Any] = {}
        if scan_ids is None:
            tuples = {r["id"]: r for r in conn.execute(select(table)).mappings()}
        else:
            for chunk in _chunks(used):
                for r in conn.execute(select(table).where(table.c.id.in_(chunk))).mappings():
                    tuples[r["id"]] = r

    queries: dict[int, Any] = {}
    for pv in used:
        r = tuples[pv]
        os_id, _, version_id = (r["distro"] or "").partition(":")
        queries[pv] = query_parts(
            r["type"], r["name"], r["version"], r["source_name"], r["source_version"], os_id, version_id
        )
    matcher = Matcher(SqlKnowledgeBase(store))
    wanted = [q for q in queries.values() if q is not None]
    matcher.prefetch(wanted)
    matcher.prepare(wanted)
    per_pv: dict[int, tuple[FindingKey, ...]] = {}
    # each package's findings as JSON list items, so a scan's stored list is a string join
    fragments: dict[int, str] = {}
    # one integer per package: its findings' digest in the low bits, then 24-bit counters
    # (total, then per level), so a scan's figures are one C-level sum over its packages
    packed: dict[int, int] = {}
    for pv, q in queries.items():
        r = tuples[pv]
        flaws = matcher.flaws_for(q) if q is not None else []
        keys = tuple((f.id, r["type"], r["name"], r["version"], f.severity.level) for f in flaws)
        per_pv[pv] = keys
        fragments[pv] = ",".join(json.dumps(list(k), separators=(",", ":"), ensure_ascii=False) for k in keys)
        counts = Counter(k[4] for k in keys)
        value = _digest(keys) % 2**64 + (len(keys) << _BASE)
        for i, level in enumerate(LEVELS, 1):
            value += counts.get(level, 0) << (_BASE + 24 * i)
        packed[pv] = value

    images: list[ImageDelta] = []
    changed: list[dict[str, Any]] = []
    unchanged: list[int] = []
    now = datetime.now(UTC)
    with store.read() as conn:
        for sid in sorted(scans):
            ref, created = scans[sid]
            pvs = unpack_ids(links[sid]) if sid in links else []
            agg = sum(map(packed.__getitem__, pvs))
            total = (agg >> _BASE) & _FIELD
            by_level = {lv: n for i, lv in enumerate(LEVELS, 1) if (n := (agg >> (_BASE + 24 * i)) & _FIELD)}
            digest = f"{agg % 2**64:016x}{total:x}"
            before = previous.get(sid)
            if before is not None and before[0] == digest and before[1] == created:
                images.append(ImageDelta(sid, ref, total, by_level, False))
                unchanged.append(sid)
                continue
            if before is None:  # first match: nothing to compare, the summed figures suffice
                images.append(ImageDelta(sid, ref, total, by_level, True))
            else:
                current: set[FindingKey] = set().union(*map(per_pv.__getitem__, pvs))
                blob = conn.execute(select(ScanMatch.findings).where(ScanMatch.scan_id == sid)).scalar()
                old = {tuple(k) for k in unpack(blob)}  # type: ignore[misc]
                images.append(
                    ImageDelta(sid, ref, total, by_level, False, sorted(current - old), sorted(old - current))
                )
            listed = "[" + ",".join(f for f in map(fragments.__getitem__, pvs) if f) + "]"
            changed.append(
                {
                    "scan_id": sid,
                    "matched_at": now,
                    "finding_count": total,
                    "digest": digest,
                    "findings": zlib.compress(listed.encode(), 1),  # what store.db.unpack reads
                    "packages": None if sid in with_set else links.get(sid, pack_ids([])),
                    "scan_created_at": created,
                }
            )
    if save:
        with store.write() as conn:
            for chunk in _chunks(changed, 1000):
                conn.execute(delete(ScanMatch).where(ScanMatch.scan_id.in_([r["scan_id"] for r in chunk])))
                conn.execute(insert(ScanMatch), chunk)
            for chunk in _chunks(unchanged, 1000):
                conn.execute(update(ScanMatch).where(ScanMatch.scan_id.in_(chunk)).values(matched_at=now))
    warnings = sorted({w for ws in matcher.memo.warnings.values() for w in ws})
    return RescanReport(images, len(used), matcher.memo.evaluations, warnings)
