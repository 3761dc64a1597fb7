"""Saving and loading scans; the distinct package index that makes fleet rescans fast.

`save_scan` is idempotent per (ref, manifest digest) (config digest when the image
has no manifest): saving the same image again replaces its row in place and
returns the same id, in one transaction. Each package is linked to a row of
`package_versions` shared by the whole fleet, so a rescan matches every distinct
(type, name, version, source, distro) once and fans findings out via
`scan_packages`; the scan's distinct ids are also kept packed in one row
(`scan_package_sets`), which is what a rescan reads.

`save_scans` stores many scans with the same result, a batch per transaction:
package ids resolved once per batch and rows written with executemany.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, is_dataclass, replace
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, bindparam, delete, func, insert, select, tuple_
from sqlalchemy import update as sql_update
from sqlalchemy.exc import IntegrityError

from keelwatch.catalog import ECOSYSTEMS
from keelwatch.model import Package, ScanResult
from keelwatch.store.db import Store, unpack
from keelwatch.store.findings_models import ScanPackageSet, pack_ids
from keelwatch.store.models import PackageVersion, Scan, ScanPackage

# OS packages are distinct per distro release; language packages are the same everywhere.
OS_TYPES = frozenset(t for t, eco in ECOSYSTEMS.items() if eco.is_os)
_CHUNK = 200


@dataclass(frozen=True, slots=True)
class PackageTuple:
    """One distinct package of the fleet, as `rescan` matches it."""

    id: int
    type: str
    name: str
    version: str
    source_name: str
    source_version: str
    distro: str  # "<os id>:<version id>" for OS packages, "" otherwise


def _distro(result: ScanResult) -> str:
    os = result.image.os
    return f"{os.id}:{os.version_id}" if (os.id or os.version_id) else ""


def _pv_key(pkg: Package, distro: str) -> tuple[str, str, str, str, str, str]:
    return (
        pkg.type,
        pkg.name,
        pkg.version,
        pkg.source_name or "",
        pkg.source_version or "",
        distro if pkg.type in OS_TYPES else "",
    )


def _package_ids(conn: Connection, keys: list[tuple[str, ...]]) -> dict[tuple[str, ...], int]:
    cols = (
        PackageVersion.type,
        PackageVersion.name,
        PackageVersion.version,
        PackageVersion.source_name,
        PackageVersion.source_version,
        PackageVersion.distro,
    )
    ids: dict[tuple[str, ...], int] = {}
    for i in range(0, len(keys), _CHUNK):
        chunk = keys[i : i + _CHUNK]
        for row in conn.execute(select(PackageVersion.id, *cols).where(tuple_(*cols).in_(chunk))):
            ids[tuple(row[1:])] = row[0]
    return ids


def _ensure_packages(conn: Connection, keys: list[tuple[str, ...]]) -> dict[tuple[str, ...], int]:
    """ids of every key, inserting the missing ones (ON CONFLICT DO NOTHING for concurrent savers)."""
    ids = _package_ids(conn, keys)
    missing = [k for k in keys if k not in ids]
    if missing:
        names = ("type", "name", "version", "source_name", "source_version", "distro")
        rows = [dict(zip(names, k, strict=True)) for k in missing]
        if conn.dialect.name == "postgresql":
            from sqlalchemy.dialects.postgresql import insert as dialect_insert
        else:
            from sqlalchemy.dialects.sqlite import insert as dialect_insert
        conn.execute(dialect_insert(PackageVersion).on_conflict_do_nothing(), rows)
        ids.update(_package_ids(conn, missing))
    return ids


def save_scan(store: Store, result: ScanResult) -> int:
    """Store a scan atomically; the same (ref, digest) again updates the same row and id."""
    for attempt in range(2):
        try:
            with store.write() as conn:
                return save_in(conn, result)
        except IntegrityError:  # a concurrent saver inserted the same scan first
            if attempt:
                raise
    raise AssertionError("unreachable")


def save_scans(store: Store, results: Iterable[ScanResult], batch: int = 1000) -> list[int]:
    """Store many scans, `batch` per transaction; ids in input order, as `save_scan` gives them.

    `results` may be a generator: at most one batch is held. Within a batch the same
    (ref, digest) twice is stored once (the last one wins) and both get the same id.
    """
    ids: list[int] = []
    pending: list[ScanResult] = []
    for result in results:
        pending.append(result)
        if len(pending) >= batch:
            ids.extend(_save_batch_retrying(store, pending))
            pending = []
    if pending:
        ids.extend(_save_batch_retrying(store, pending))
    return ids


def _save_batch_retrying(store: Store, results: list[ScanResult]) -> list[int]:
    for attempt in range(2):
        try:
            with store.write() as conn:
                if conn.dialect.name != "sqlite":
                    return _save_many(conn, results)
                # links go to the end of each package's run in ix_scan_packages_package: thousands
                # of hot pages, more than SQLite's default 2 MB cache holds (halves a fleet save)
                before = conn.exec_driver_sql("PRAGMA cache_size").scalar()
                conn.exec_driver_sql("PRAGMA cache_size=-65536")
                try:
                    return _save_many(conn, results)
                finally:
                    conn.exec_driver_sql(f"PRAGMA cache_size={int(before or -2000)}")
        except IntegrityError:  # a concurrent saver inserted one of these scans first
            if attempt:
                raise
    raise AssertionError("unreachable")


def _identity(result: ScanResult) -> tuple[str, str]:
    image = result.image
    return image.ref, image.digest or image.config_digest or ""


_PACKAGE_FIELDS = tuple(Package.__dataclass_fields__)


def _plain(obj: Any) -> Any:
    if is_dataclass(obj) and not isinstance(obj, type):
        return asdict(obj)
    raise TypeError(f"{type(obj).__name__} is not JSON serializable")


def _document(result: ScanResult) -> bytes:
    """`pack(result.to_dict())`, the same bytes, without `Package.to_dict`'s `asdict`.

    asdict deep-copies every field of every package: three quarters of a fleet save.
    The dict is serialised at once, so no copy is needed.
    """
    data = replace(result, packages=[]).to_dict()
    data["packages"] = [{f: getattr(p, f) for f in _PACKAGE_FIELDS} for p in result.packages]
    text = json.dumps(data, separators=(",", ":"), ensure_ascii=False, default=_plain)
    return zlib.compress(text.encode(), 1)


def _values(result: ScanResult, now: datetime) -> dict[str, Any]:
    image = result.image
    return {
        "ref": image.ref,
        "identity": _identity(result)[1],
        "manifest_digest": image.digest,
        "config_digest": image.config_digest,
        "platform": image.platform or "",
        "os_id": image.os.id,
        "os_version": image.os.version_id,
        "created_at": now,
        "package_count": len(result.packages),
        "result": _document(result),
    }


def save_in(conn: Connection, result: ScanResult) -> int:
    """Insert or replace one scan in the open transaction `conn`; its id."""
    return _save_many(conn, [result])[0]


def _existing(conn: Connection, keys: list[tuple[str, str]]) -> dict[tuple[str, str], int]:
    out: dict[tuple[str, str], int] = {}
    refs = sorted({ref for ref, _ in keys})
    wanted = set(keys)
    for i in range(0, len(refs), _CHUNK):
        q = select(Scan.id, Scan.ref, Scan.identity).where(Scan.ref.in_(refs[i : i + _CHUNK]))
        for sid, ref, identity in conn.execute(q):
            if (ref, identity) in wanted:
                out[(ref, identity)] = sid
    return out


def _save_many(conn: Connection, results: list[ScanResult]) -> list[int]:
    """Insert or replace `results` in the open transaction `conn`."""
    now = datetime.now(UTC)
    last = {_identity(r): r for r in results}  # the same image twice: the last one is stored
    existing = _existing(conn, list(last))
    ids = dict(existing)
    if existing:
        old = sorted(existing.values())
        rows = [{"_id": existing[k], **_values(r, now)} for k, r in last.items() if k in existing]
        stmt = sql_update(Scan).where(Scan.id == bindparam("_id"))
        conn.execute(stmt, rows)
        for i in range(0, len(old), _CHUNK):
            conn.execute(delete(ScanPackage).where(ScanPackage.scan_id.in_(old[i : i + _CHUNK])))
            conn.execute(delete(ScanPackageSet).where(ScanPackageSet.scan_id.in_(old[i : i + _CHUNK])))
    new = [k for k in last if k not in existing]
    if new:
        stmt = insert(Scan).returning(Scan.id, sort_by_parameter_order=True)
        inserted = conn.execute(stmt, [_values(last[k], now) for k in new]).scalars().all()
        ids.update(zip(new, inserted, strict=True))
    keys: dict[tuple[str, str], list[tuple[str, ...]]] = {}
    for k, r in last.items():
        distro = _distro(r)
        keys[k] = [_pv_key(p, distro) for p in r.packages]
    pv_ids = _ensure_packages(conn, list(dict.fromkeys(pk for ks in keys.values() for pk in ks)))
    links = [
        (ids[k], pv_ids[pk], p.layer_index)
        for k, r in last.items()
        for pk, p in zip(keys[k], r.packages, strict=True)
    ]
    if links:  # hundreds of rows per scan: straight to the driver's executemany, as tuples
        mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
        cols = "scan_id, package_version_id, layer_index"
        sql = f"INSERT INTO {ScanPackage.__tablename__} ({cols}) VALUES ({mark}, {mark}, {mark})"
        conn.exec_driver_sql(sql, links)
    sets = [
        {"scan_id": ids[k], "packages": pack_ids(list({pv_ids[pk] for pk in ks}))} for k, ks in keys.items()
    ]
    conn.execute(insert(ScanPackageSet), sets)
    return [ids[_identity(r)] for r in results]


def load_scan(store: Store, scan_id: int) -> ScanResult | None:
    with store.read() as conn:
        data = conn.execute(select(Scan.result).where(Scan.id == scan_id)).scalar()
    return ScanResult.from_dict(unpack(data)) if data is not None else None


@dataclass(frozen=True, slots=True)
class ScanSummary:
    id: int
    ref: str
    manifest_digest: str | None
    os_id: str
    os_version: str
    created_at: datetime
    package_count: int


def iter_scans(store: Store, batch: int = 1000) -> Iterator[ScanSummary]:
    """Every stored scan's summary (not its document), in id order, paged."""
    last = 0
    cols = (
        Scan.id,
        Scan.ref,
        Scan.manifest_digest,
        Scan.os_id,
        Scan.os_version,
        Scan.created_at,
        Scan.package_count,
    )
    while True:
        with store.read() as conn:
            rows = conn.execute(select(*cols).where(Scan.id > last).order_by(Scan.id).limit(batch)).all()
        if not rows:
            return
        for row in rows:
            yield ScanSummary(*row)
        last = rows[-1][0]


def distinct_packages(store: Store) -> list[PackageTuple]:
    """Every distinct package that at least one stored scan contains."""
    used = select(ScanPackage.package_version_id).distinct().scalar_subquery()
    with store.read() as conn:
        rows = conn.execute(select(PackageVersion.__table__).where(PackageVersion.id.in_(used))).mappings()
        return [PackageTuple(**r) for r in rows]


def scans_with_packages(
    store: Store, package_version_ids: list[int]
) -> dict[int, list[tuple[int, int | None]]]:
    """{package_version id: [(scan id, layer index)]} for fanning findings out to images."""
    out: dict[int, list[tuple[int, int | None]]] = {}
    with store.read() as conn:
        for i in range(0, len(package_version_ids), 500):
            chunk = package_version_ids[i : i + 500]
            q = select(ScanPackage.package_version_id, ScanPackage.scan_id, ScanPackage.layer_index).where(
                ScanPackage.package_version_id.in_(chunk)
            )
            for pv, scan, layer in conn.execute(q):
                out.setdefault(pv, []).append((scan, layer))
    return out


def scan_count(store: Store) -> int:
    with store.read() as conn:
        return conn.execute(select(func.count()).select_from(Scan)).scalar_one()


def latest_scan_id(store: Store, manifest_digest: str) -> int | None:
    """The newest stored scan of the image with this manifest digest."""
    with store.read() as conn:
        return conn.execute(
            select(Scan.id).where(Scan.manifest_digest == manifest_digest).order_by(Scan.id.desc()).limit(1)
        ).scalar()


def scanned_manifest_digests(store: Store) -> set[str]:
    """The manifest digest of every stored scan."""
    with store.read() as conn:
        digests = select(Scan.manifest_digest).where(Scan.manifest_digest.is_not(None))
        return set(conn.execute(digests).scalars())
