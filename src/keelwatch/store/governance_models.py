"""Tables of the base-image catalogue (entries, the append-only audit log) and of what
keelwatch knows about images (lineage facts, tag history).

Only `store/` sees these rows: `store.catalogue` and `store.images` hand out the
plain value objects of `keelwatch.governance` and `keelwatch.store.images` instead.

An entry is one *digest*: approval pins it, and a new digest under the same tag is
a new candidate. The audit log is append-only: the store refuses UPDATE and DELETE
on it with database triggers (SQLite and PostgreSQL), not just by convention.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Date, DateTime, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from keelwatch.store.models import Base


class BaseImage(Base):
    __tablename__ = "base_images"
    __table_args__ = (UniqueConstraint("digest", name="uq_base_images_digest"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    digest: Mapped[str] = mapped_column(String(128))
    ref: Mapped[str] = mapped_column(String(1024))  # registry/repository:tag it was registered under
    repository: Mapped[str] = mapped_column(String(1024), index=True)  # registry/repository
    tag: Mapped[str] = mapped_column(String(256), default="")
    state: Mapped[str] = mapped_column(String(32), index=True)
    os_id: Mapped[str] = mapped_column(String(64), default="")
    os_version: Mapped[str] = mapped_column(String(64), default="")
    # metadata read from OCI annotations/labels at registration
    authors: Mapped[str] = mapped_column(String(512), default="")
    version: Mapped[str] = mapped_column(String(256), default="")
    source: Mapped[str] = mapped_column(String(1024), default="")
    revision: Mapped[str] = mapped_column(String(256), default="")
    vendor: Mapped[str] = mapped_column(String(256), default="")
    created: Mapped[str] = mapped_column(String(64), default="")
    # editable fields
    maintainer: Mapped[str] = mapped_column(String(512), default="")
    owning_team: Mapped[str] = mapped_column(String(256), default="")
    support_status: Mapped[str] = mapped_column(String(64), default="")
    eol_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    notes: Mapped[str] = mapped_column(Text, default="")
    scan_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    labels: Mapped[dict] = mapped_column(JSON, default=dict)
    annotations: Mapped[dict] = mapped_column(JSON, default=dict)
    registered_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class AuditEvent(Base):
    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_events_subject", "subject"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    actor: Mapped[str] = mapped_column(String(256))
    team: Mapped[str] = mapped_column(String(256))
    action: Mapped[str] = mapped_column(String(64))
    subject: Mapped[str] = mapped_column(String(128))  # the digest
    ref: Mapped[str] = mapped_column(String(1024), default="")
    from_state: Mapped[str] = mapped_column(String(32), default="")
    to_state: Mapped[str] = mapped_column(String(32), default="")
    reason: Mapped[str] = mapped_column(Text, default="")
    details: Mapped[dict] = mapped_column(JSON, default=dict)


class KnownImageRow(Base):
    """Every image keelwatch has scanned, as lineage needs it: its layer chain and base annotations.

    Kept apart from `scans` (whose JSON holds whole package lists) so building the lineage
    index of tens of thousands of images reads a few small columns only.
    """

    __tablename__ = "known_images"
    __table_args__ = (UniqueConstraint("key", name="uq_known_images_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(128))  # manifest digest, else config digest
    refs: Mapped[list] = mapped_column(JSON, default=list)  # names it was seen under
    diff_ids: Mapped[list] = mapped_column(JSON, default=list)
    history_length: Mapped[int] = mapped_column(Integer, default=0)
    annotations: Mapped[dict] = mapped_column(JSON, default=dict)
    labels: Mapped[dict] = mapped_column(JSON, default=dict)
    created: Mapped[str] = mapped_column(String(64), default="")
    os_id: Mapped[str] = mapped_column(String(64), default="")
    os_version: Mapped[str] = mapped_column(String(64), default="")
    scan_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class TagRecord(Base):
    """Which digest a tag pointed at, and when: registry sync writes it, lineage reads it."""

    __tablename__ = "tag_history"
    __table_args__ = (
        UniqueConstraint("repository", "tag", "platform", "digest", name="uq_tag_history_platform"),
        Index("ix_tag_history_repo_tag", "repository", "tag"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    repository: Mapped[str] = mapped_column(String(1024))  # registry/repository
    tag: Mapped[str] = mapped_column(String(256))
    # the platform whose image the digest is ("linux/amd64"): one tag of a multi-arch index
    # points at one image per platform; "" for records made before platforms were kept
    platform: Mapped[str] = mapped_column(String(64), default="")
    digest: Mapped[str] = mapped_column(String(128))
    first_seen: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_seen: Mapped[datetime] = mapped_column(DateTime(timezone=True))
