"""Lineage over everything keelwatch knows: record images, build the index, resolve chains."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from keelwatch.governance import workflow
from keelwatch.governance.catalogue import Catalogue
from keelwatch.governance.models import BaseImage, KnownImageRow
from keelwatch.lineage.index import LineageIndex
from keelwatch.lineage.lineage import KnownImage, Lineage, resolve_lineage
from keelwatch.model import ScanResult
from keelwatch.store.db import Store


def image_key(scan: ScanResult) -> str:
    return scan.image.digest or scan.image.config_digest or scan.image.ref


def remember_image(store: Store, scan: ScanResult, scan_id: int | None = None) -> None:
    """Record (or refresh) an image's chain and names for lineage; idempotent per digest."""
    key = image_key(scan)
    now = datetime.now(UTC)
    with store.write_session() as session:
        row = session.scalar(select(KnownImageRow).where(KnownImageRow.key == key))
        if row is None:
            row = KnownImageRow(key=key, refs=[], seen_at=now)
            session.add(row)
        if scan.image.ref not in (row.refs or []):
            row.refs = [*(row.refs or []), scan.image.ref]
        row.diff_ids = [layer.diff_id for layer in scan.image.layers]
        row.history_length = scan.image.history_length
        row.annotations = dict(scan.image.annotations)
        row.labels = dict(scan.image.labels)
        row.created = scan.image.created or ""
        row.os_id = scan.image.os.id
        row.os_version = scan.image.os.version_id
        row.scan_id = scan_id if scan_id is not None else row.scan_id
        row.seen_at = now


class FleetLineage:
    """The lineage index over every known image, with approved bases preferred among twins."""

    def __init__(self, store: Store, catalogue: Catalogue) -> None:
        self.catalogue = catalogue
        with store.session() as session:
            approved = set(
                session.scalars(select(BaseImage.digest).where(BaseImage.state == workflow.APPROVED))
            )
            rows = session.execute(
                select(
                    KnownImageRow.key,
                    KnownImageRow.diff_ids,
                    KnownImageRow.refs,
                    KnownImageRow.history_length,
                    KnownImageRow.annotations,
                    KnownImageRow.labels,
                )
            ).all()
        self.known: dict[str, KnownImage] = {}
        for key, diff_ids, refs, history, notes, labels in rows:
            self.known[key] = KnownImage(
                key=key,
                diff_ids=tuple(diff_ids or ()),
                refs=tuple(refs or ()),
                history_length=history or 0,
                annotations=notes or {},
                labels=labels or {},
                preference=1 if key in approved else 0,
            )
        self.index = LineageIndex(k.chain_image() for k in self.known.values())

    def resolve(self, scan: ScanResult) -> Lineage:
        """Lineage of a scanned image (it need not be stored yet)."""
        key = image_key(scan)
        image = self.known.get(key) or KnownImage(
            key=key,
            diff_ids=tuple(layer.diff_id for layer in scan.image.layers),
            refs=(scan.image.ref,),
            history_length=scan.image.history_length,
            annotations=scan.image.annotations,
            labels=scan.image.labels,
        )
        if scan.image.ref not in image.refs:
            image = KnownImage(
                image.key,
                image.diff_ids,
                (scan.image.ref, *image.refs),
                image.history_length,
                image.annotations,
                image.labels,
                image.preference,
            )
        platform = scan.image.platform

        def current(ref: str) -> str | None:
            return self.catalogue.current_digest(ref, platform)

        return resolve_lineage(image, self.index, self.known, current)

    def derived_from(self, key: str) -> list[KnownImage]:
        """Every known image built (directly or not) on the image `key`: who to alert."""
        image = self.known.get(key)
        if image is None:
            return []
        return [self.known[c.key] for c in self.index.children_of(image.chain_image()) if c.key in self.known]
