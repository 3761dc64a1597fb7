"""Known images and tag history: what lineage needs of every image keelwatch has seen.

`known_images` holds each image's layer chain, names and base annotations (a few small
columns, so the lineage index of a whole fleet loads fast); `tag_history` says which
digest a tag pointed at, and when. The `*_in` functions write inside a transaction
the caller holds (`store.scan_record` saves a scan, its facts and its tag as one);
the others open their own.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Select, insert, select, update

from keelwatch.lineage.lineage import KnownImage
from keelwatch.store.db import Store
from keelwatch.store.governance_models import KnownImageRow, TagRecord


@dataclass(frozen=True, slots=True)
class ImageFacts:
    """What lineage keeps of one image: its chain, the name it was seen under, its base annotations."""

    key: str  # manifest digest, else config digest, else the reference
    ref: str
    diff_ids: tuple[str, ...] = ()
    history_length: int = 0
    annotations: dict[str, str] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)
    created: str = ""
    os_id: str = ""
    os_version: str = ""


@dataclass(frozen=True, slots=True)
class TagSighting:
    """`repository:tag` pointed at `digest` (the image for `platform`) at `seen_at`."""

    repository: str
    tag: str
    platform: str
    digest: str
    seen_at: datetime


@dataclass(frozen=True, slots=True)
class TagSpan:
    """One digest a tag pointed at, from `first_seen` to `last_seen`."""

    digest: str
    platform: str
    first_seen: datetime
    last_seen: datetime


# -- known images ------------------------------------------------------------------------


def _names_for_update(key: str) -> Select:
    """The row's names, locked on PostgreSQL until commit: two savers adding a name each must not
    both read the old list (SQLite's BEGIN IMMEDIATE already serialises writers)."""
    return select(KnownImageRow.id, KnownImageRow.refs).where(KnownImageRow.key == key).with_for_update()


def remember_in(conn: Connection, facts: ImageFacts, scan_id: int | None = None) -> None:
    """Record (or refresh) an image's facts; the name joins the names it has been seen under."""
    now = datetime.now(UTC)
    found = conn.execute(_names_for_update(facts.key)).first()
    values: dict[str, Any] = {
        "diff_ids": list(facts.diff_ids),
        "history_length": facts.history_length,
        "annotations": dict(facts.annotations),
        "labels": dict(facts.labels),
        "created": facts.created,
        "os_id": facts.os_id,
        "os_version": facts.os_version,
        "seen_at": now,
    }
    if scan_id is not None:
        values["scan_id"] = scan_id
    if found is None:
        conn.execute(insert(KnownImageRow).values(key=facts.key, refs=[facts.ref], **values))
        return
    refs = list(found.refs or [])
    if facts.ref not in refs:
        refs.append(facts.ref)
    conn.execute(update(KnownImageRow).where(KnownImageRow.id == found.id).values(refs=refs, **values))


def remember_image(store: Store, facts: ImageFacts, scan_id: int | None = None) -> None:
    with store.write() as conn:
        remember_in(conn, facts, scan_id)


def add_name(store: Store, key: str, ref: str) -> bool:
    """One more name of a known image; False when the image is not known."""
    with store.write() as conn:
        found = conn.execute(_names_for_update(key)).first()
        if found is None:
            return False
        if ref not in (found.refs or []):
            conn.execute(
                update(KnownImageRow)
                .where(KnownImageRow.id == found.id)
                .values(refs=[*(found.refs or []), ref], seen_at=datetime.now(UTC))
            )
        return True


def known_images(store: Store) -> list[KnownImage]:
    """Every known image, as the lineage index needs it (a few small columns each)."""
    cols = (
        KnownImageRow.key,
        KnownImageRow.diff_ids,
        KnownImageRow.refs,
        KnownImageRow.history_length,
        KnownImageRow.annotations,
        KnownImageRow.labels,
    )
    with store.read() as conn:
        rows = conn.execute(select(*cols)).all()
    return [
        KnownImage(
            key=key,
            diff_ids=tuple(diff_ids or ()),
            refs=tuple(refs or ()),
            history_length=history or 0,
            annotations=notes or {},
            labels=labels or {},
        )
        for key, diff_ids, refs, history, notes, labels in rows
    ]


def names_by_key(store: Store) -> dict[str, set[str]]:
    """{image key: the names it was seen under}, for every known image."""
    with store.read() as conn:
        return {k: set(r or ()) for k, r in conn.execute(select(KnownImageRow.key, KnownImageRow.refs))}


def scan_id_of(store: Store, key: str) -> int | None:
    """The stored scan a known image was last recorded from."""
    with store.read() as conn:
        return conn.execute(select(KnownImageRow.scan_id).where(KnownImageRow.key == key)).scalar()


# -- tag history ----------------------------------------------------------------------------


def record_tag_in(conn: Connection, seen: TagSighting) -> bool:
    """Remember a sighting; True when the tag never pointed at that digest (for that platform)."""
    found = conn.execute(
        select(TagRecord.id).where(
            TagRecord.repository == seen.repository,
            TagRecord.tag == seen.tag,
            TagRecord.platform == seen.platform,
            TagRecord.digest == seen.digest,
        )
    ).scalar()
    if found is not None:
        conn.execute(update(TagRecord).where(TagRecord.id == found).values(last_seen=seen.seen_at))
        return False
    conn.execute(
        insert(TagRecord).values(
            repository=seen.repository,
            tag=seen.tag,
            platform=seen.platform,
            digest=seen.digest,
            first_seen=seen.seen_at,
            last_seen=seen.seen_at,
        )
    )
    return True


def record_tag(store: Store, seen: TagSighting) -> bool:
    with store.write() as conn:
        return record_tag_in(conn, seen)


def current_digest(store: Store, repository: str, tag: str, platforms: Iterable[str] = ()) -> str | None:
    """The digest the tag pointed at most recently, for one of `platforms` (any when empty)."""
    stmt = (
        select(TagRecord.digest)
        .where(TagRecord.repository == repository, TagRecord.tag == tag)
        .order_by(TagRecord.last_seen.desc(), TagRecord.id.desc())
        .limit(1)
    )
    platforms = tuple(platforms)
    if platforms:
        stmt = stmt.where(TagRecord.platform.in_(platforms))
    with store.read() as conn:
        return conn.execute(stmt).scalar()


def current_digests(store: Store, repository: str, platforms: Iterable[str]) -> dict[str, str]:
    """tag -> the digest it pointed at most recently for one of `platforms`, for a whole
    repository in one query (the same order as `current_digest`: last seen, then newest row)."""
    with store.read() as conn:
        rows = conn.execute(
            select(TagRecord.tag, TagRecord.digest)
            .where(TagRecord.repository == repository, TagRecord.platform.in_(tuple(platforms)))
            .order_by(TagRecord.last_seen, TagRecord.id)
        ).all()
    return {tag: digest for tag, digest in rows}


def tag_history(store: Store, repository: str, tag: str) -> list[TagSpan]:
    """Every digest the tag pointed at, oldest first."""
    with store.read() as conn:
        rows = conn.execute(
            select(TagRecord.digest, TagRecord.platform, TagRecord.first_seen, TagRecord.last_seen)
            .where(TagRecord.repository == repository, TagRecord.tag == tag)
            .order_by(TagRecord.first_seen)
        ).all()
    return [TagSpan(*row) for row in rows]
