"""SQLAlchemy 2 typed tables of the store.

One shared `Base`: other packages add their tables by subclassing it in their own
modules (imported by `keelwatch.store.models.load_all`), and every schema change
is one more linear Alembic revision under `store/alembic/versions`.

Design notes (why the tables look like this):
- Advisories are keyed by (source, id): the same id (e.g. "DSA-5380-1") can come
  both from OSV's Debian export and from the DSA list, and each feed is replaced
  on its own. `raw` is the OSV JSON, zlib-compressed.
- `advisory_packages` is the lookup index the matcher uses: (ecosystem, name_key)
  -> advisories, where name_key is the name as the ecosystem compares it
  (PEP 503 for PyPI, as published for everything else).
- Scans keep their full ScanResult JSON plus a normalised package index:
  `package_versions` holds each distinct (type, name, version, source, distro)
  once across the fleet and `scan_packages` links scans to them, so `rescan` of
  100,000 images matches each distinct package once.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    Float,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    """Shared declarative base: every table of every package derives from it."""


class Scan(Base):
    __tablename__ = "scans"
    __table_args__ = (UniqueConstraint("ref", "identity", name="uq_scans_ref_identity"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    ref: Mapped[str] = mapped_column(String(1024))
    # manifest digest, else config digest, else "": what makes a re-save idempotent
    identity: Mapped[str] = mapped_column(String(128), default="")
    manifest_digest: Mapped[str | None] = mapped_column(String(128), index=True)
    config_digest: Mapped[str | None] = mapped_column(String(128), index=True)
    platform: Mapped[str] = mapped_column(String(64), default="")
    os_id: Mapped[str] = mapped_column(String(64), default="")
    os_version: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    package_count: Mapped[int] = mapped_column(Integer, default=0)
    result: Mapped[bytes] = mapped_column(LargeBinary)  # zlib(ScanResult JSON)


class PackageVersion(Base):
    """One distinct package across the fleet; '' (never NULL) so the unique key holds."""

    __tablename__ = "package_versions"
    __table_args__ = (
        UniqueConstraint(
            "type", "name", "version", "source_name", "source_version", "distro", name="uq_package_versions"
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    type: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(512))
    version: Mapped[str] = mapped_column(String(256))
    source_name: Mapped[str] = mapped_column(String(512), default="")
    source_version: Mapped[str] = mapped_column(String(256), default="")
    # "<os id>:<version id>" for OS packages (deb, apk, rpm), "" for language packages
    distro: Mapped[str] = mapped_column(String(128), default="")


class ScanPackage(Base):
    __tablename__ = "scan_packages"
    __table_args__ = (Index("ix_scan_packages_package", "package_version_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    scan_id: Mapped[int] = mapped_column(ForeignKey("scans.id", ondelete="CASCADE"), index=True)
    package_version_id: Mapped[int] = mapped_column(ForeignKey("package_versions.id", ondelete="CASCADE"))
    layer_index: Mapped[int | None] = mapped_column(Integer)


class AdvisoryRow(Base):
    __tablename__ = "advisories"

    source: Mapped[str] = mapped_column(String(64), primary_key=True)
    id: Mapped[str] = mapped_column(String(255), primary_key=True)
    # which file of the source it came from ("PyPI" for osv's PyPI/all.zip): lets a
    # snapshot import delete what its own file no longer contains, and nothing else
    origin: Mapped[str] = mapped_column(String(255), default="")
    modified: Mapped[str] = mapped_column(String(64), default="")
    # what decides "unchanged" on re-import: OSV's `modified`, else a hash of the converted record
    fingerprint: Mapped[str] = mapped_column(String(80), default="")
    withdrawn: Mapped[str | None] = mapped_column(String(64))
    aliases: Mapped[list[str]] = mapped_column(JSON, default=list)
    raw: Mapped[bytes] = mapped_column(LargeBinary)  # zlib(OSV JSON)


Index("ix_advisories_origin", AdvisoryRow.source, AdvisoryRow.origin)


class AdvisoryPackage(Base):
    __tablename__ = "advisory_packages"
    __table_args__ = (
        ForeignKeyConstraint(
            ["source", "advisory_id"], ["advisories.source", "advisories.id"], ondelete="CASCADE"
        ),
        Index("ix_advisory_packages_lookup", "ecosystem", "name_key"),
        Index("ix_advisory_packages_advisory", "source", "advisory_id"),
    )

    pk: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    source: Mapped[str] = mapped_column(String(64))
    advisory_id: Mapped[str] = mapped_column(String(255))
    ecosystem: Mapped[str] = mapped_column(String(128))
    name: Mapped[str] = mapped_column(String(512))
    name_key: Mapped[str] = mapped_column(String(512))


class KevRow(Base):
    __tablename__ = "kev"

    cve: Mapped[str] = mapped_column(String(64), primary_key=True)
    date_added: Mapped[str] = mapped_column(String(32), default="")
    due_date: Mapped[str] = mapped_column(String(32), default="")
    known_ransomware: Mapped[str] = mapped_column(String(32), default="")
    vendor: Mapped[str] = mapped_column(String(255), default="")
    product: Mapped[str] = mapped_column(String(255), default="")
    name: Mapped[str] = mapped_column(Text, default="")


class EpssRow(Base):
    __tablename__ = "epss"

    cve: Mapped[str] = mapped_column(String(64), primary_key=True)
    score: Mapped[float] = mapped_column(Float)
    percentile: Mapped[float] = mapped_column(Float)
    model_version: Mapped[str] = mapped_column(String(64), default="")
    date: Mapped[str] = mapped_column(String(32), default="")


class FeedState(Base):
    """One row per feed (e.g. "osv:PyPI", "kev"): what was imported, when, and from what bytes."""

    __tablename__ = "feed_state"

    feed: Mapped[str] = mapped_column(String(128), primary_key=True)
    source: Mapped[str] = mapped_column(String(64), index=True)
    snapshot_at: Mapped[str | None] = mapped_column(String(64))  # the publisher's own date
    updated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    record_count: Mapped[int] = mapped_column(Integer, default=0)
    etag: Mapped[str | None] = mapped_column(String(255))
    last_modified: Mapped[str | None] = mapped_column(String(64))
    sha256: Mapped[str | None] = mapped_column(String(64))
    # per-file validators for multi-file feeds: {relative path: {etag, last_modified, sha256}}
    files: Mapped[dict] = mapped_column(JSON, default=dict)
    location: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(32), default="ok")  # ok | failed
    message: Mapped[str] = mapped_column(Text, default="")
    warnings: Mapped[int] = mapped_column(Integer, default=0)


def load_all() -> type[Base]:
    """Import every module that defines tables, so Base.metadata is complete (for Alembic)."""
    import keelwatch.store.findings_models  # noqa: F401  (last match per scan, for rescan)
    import keelwatch.store.governance_models  # noqa: F401  (catalogue, known images, tag history)

    return Base
