"""The catalogue repository: base-image entries and their append-only audit log.

Hands out `keelwatch.governance` value objects, never rows. Every write stores an
entry change together with its audit event in one transaction; `change` reads the
entry inside that transaction (BEGIN IMMEDIATE on SQLite, a row lock on PostgreSQL),
so two concurrent transitions cannot both start from the same state.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import fields
from typing import Any

from sqlalchemy import select

from keelwatch.governance.catalogue import AuditRecord, CatalogueEntry
from keelwatch.store.db import Store
from keelwatch.store.governance_models import AuditEvent, BaseImage

_ENTRY_FIELDS = tuple(f.name for f in fields(CatalogueEntry))
_AUDIT_FIELDS = tuple(f.name for f in fields(AuditRecord))

Change = Callable[[CatalogueEntry], AuditRecord]


def _entry(row: BaseImage) -> CatalogueEntry:
    return CatalogueEntry(**{name: getattr(row, name) for name in _ENTRY_FIELDS})


def _record(row: AuditEvent) -> AuditRecord:
    return AuditRecord(**{name: getattr(row, name) for name in _AUDIT_FIELDS})


def _values(value: Any, names: tuple[str, ...]) -> dict[str, Any]:
    return {name: getattr(value, name) for name in names if name != "id"}


class CatalogueRepository:
    def __init__(self, store: Store) -> None:
        self.store = store

    # -- reading -----------------------------------------------------------------
    def by_digest(self, digest: str) -> CatalogueEntry | None:
        with self.store.session() as session:
            row = session.scalar(select(BaseImage).where(BaseImage.digest == digest))
            return _entry(row) if row is not None else None

    def latest_under(self, repository: str, tag: str) -> CatalogueEntry | None:
        """The most recently registered digest under repository:tag."""
        with self.store.session() as session:
            stmt = (
                select(BaseImage)
                .where(BaseImage.repository == repository, BaseImage.tag == tag)
                .order_by(BaseImage.registered_at.desc(), BaseImage.id.desc())
            )
            row = session.scalars(stmt).first()
            return _entry(row) if row is not None else None

    def entries(self, state: str | None = None) -> list[CatalogueEntry]:
        with self.store.session() as session:
            stmt = select(BaseImage).order_by(BaseImage.repository, BaseImage.tag, BaseImage.registered_at)
            if state:
                stmt = stmt.where(BaseImage.state == state)
            return [_entry(row) for row in session.scalars(stmt)]

    def in_state_under(self, repository: str, tag: str, state: str) -> bool:
        with self.store.session() as session:
            stmt = select(BaseImage.id).where(
                BaseImage.repository == repository, BaseImage.tag == tag, BaseImage.state == state
            )
            return session.scalar(stmt) is not None

    def digests_in_state(self, state: str) -> set[str]:
        with self.store.session() as session:
            return set(session.scalars(select(BaseImage.digest).where(BaseImage.state == state)))

    def events(self, subject: str | None = None) -> list[AuditRecord]:
        """The audit log in order, of one digest or of all."""
        with self.store.session() as session:
            stmt = select(AuditEvent).order_by(AuditEvent.id)
            if subject is not None:
                stmt = stmt.where(AuditEvent.subject == subject)
            return [_record(row) for row in session.scalars(stmt)]

    # -- writing -----------------------------------------------------------------
    def add(self, entry: CatalogueEntry, event: AuditRecord) -> tuple[CatalogueEntry, bool]:
        """Insert `entry` with its audit event: (entry, True); (the stored one, False) if its digest is in."""
        with self.store.write_session() as session:
            existing = session.scalar(select(BaseImage).where(BaseImage.digest == entry.digest))
            if existing is not None:
                return _entry(existing), False
            row = BaseImage(**_values(entry, _ENTRY_FIELDS))
            session.add(row)
            session.add(AuditEvent(**_values(event, _AUDIT_FIELDS)))
            session.flush()
            return _entry(row), True

    def change(self, digest: str, apply: Change) -> CatalogueEntry | None:
        """Read the entry in a write transaction, let `apply` change it and say what happened, store
        both; None when the digest is not in the catalogue. An exception from `apply` writes nothing."""
        with self.store.write_session() as session:
            stmt = select(BaseImage).where(BaseImage.digest == digest)
            if not self.store.is_sqlite:
                stmt = stmt.with_for_update()
            row = session.scalar(stmt)
            if row is None:
                return None
            entry = _entry(row)
            event = apply(entry)
            _update(row, entry)
            session.add(AuditEvent(**_values(event, _AUDIT_FIELDS)))
            return entry


def _update(row: BaseImage, entry: CatalogueEntry) -> None:
    for name, value in _values(entry, _ENTRY_FIELDS).items():
        if getattr(row, name) != value:
            setattr(row, name, value)
