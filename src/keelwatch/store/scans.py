"""Saving and loading scans; the distinct package index that makes fleet rescans fast.

`save_scan` is idempotent per (ref, manifest digest) (config digest when the image
has no manifest): saving the same image again replaces its row in place and
returns the same id, in one transaction. Each package is linked to a row of
`package_versions` shared by the whole fleet, so a rescan matches every distinct
(type, name, version, source, distro) once and fans findings out via
`scan_packages`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, delete, func, insert, select, tuple_
from sqlalchemy import update as sql_update
from sqlalchemy.exc import IntegrityError

from keelwatch.model import APK, DEB, RPM, Package, ScanResult
from keelwatch.store.db import Store, pack, unpack
from keelwatch.store.models import PackageVersion, Scan, ScanPackage

OS_TYPES = (DEB, APK, RPM)
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
                return _save(conn, result)
        except IntegrityError:  # a concurrent saver inserted the same scan first
            if attempt:
                raise
    raise AssertionError("unreachable")


def _save(conn: Connection, result: ScanResult) -> int:
    image = result.image
    identity = image.digest or image.config_digest or ""
    values: dict[str, Any] = {
        "ref": image.ref,
        "identity": identity,
        "manifest_digest": image.digest,
        "config_digest": image.config_digest,
        "platform": image.platform or "",
        "os_id": image.os.id,
        "os_version": image.os.version_id,
        "created_at": datetime.now(UTC),
        "package_count": len(result.packages),
        "result": pack(result.to_dict()),
    }
    existing = conn.execute(select(Scan.id).where(Scan.ref == image.ref, Scan.identity == identity)).scalar()
    if existing is not None:
        conn.execute(sql_update(Scan).where(Scan.id == existing).values(**values))
        conn.execute(delete(ScanPackage).where(ScanPackage.scan_id == existing))
        scan_id = existing
    else:
        scan_id = conn.execute(insert(Scan).values(**values).returning(Scan.id)).scalar_one()
    distro = _distro(result)
    keys = [_pv_key(p, distro) for p in result.packages]
    ids = _ensure_packages(conn, list(dict.fromkeys(keys)))
    links = [
        {"scan_id": scan_id, "package_version_id": ids[k], "layer_index": p.layer_index}
        for k, p in zip(keys, result.packages, strict=True)
    ]
    if links:
        conn.execute(insert(ScanPackage), links)
    return scan_id


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
