"""The write side of the vulnerability data: advisories, KEV, EPSS and each feed's state.

`store.kb.SqlKnowledgeBase` is the read side (what the matcher asks). Everything here
runs inside one write transaction per feed (opened by `import_feed`), so a feed is
replaced whole or left as it was.

Incremental: inside a changed file, records whose fingerprint (OSV `modified`, else a
hash of the converted record) is unchanged are not rewritten; records that disappeared
from the feed's own file (`origin`) are deleted; a record that turns bad keeps its
previously stored version rather than vanishing.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, delete, insert, select, update

from keelwatch.store.db import Store, pack
from keelwatch.store.models import AdvisoryPackage, AdvisoryRow, EpssRow, FeedState, KevRow
from keelwatch.vulndb.feeds.base import Report, fingerprint, name_key, vetted
from keelwatch.vulndb.feeds.plan import FeedData
from keelwatch.vulndb.model import Advisory, FeedStatus

BATCH = 1000
_IN_CHUNK = 500


def _chunks(items: list[Any], size: int = _IN_CHUNK) -> Iterator[list[Any]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def _delete_advisories(conn: Connection, source: str, ids: list[str]) -> None:
    for chunk in _chunks(ids):
        conn.execute(
            delete(AdvisoryPackage).where(
                AdvisoryPackage.source == source, AdvisoryPackage.advisory_id.in_(chunk)
            )
        )
        conn.execute(delete(AdvisoryRow).where(AdvisoryRow.source == source, AdvisoryRow.id.in_(chunk)))


def write_advisories(
    conn: Connection, source: str, origin: str, advisories: Iterable[Advisory], report: Report
) -> tuple[int, int, int, int]:
    """Replace what `origin` of `source` holds with `advisories`; (records, added, changed, removed)."""
    existing = {
        row.id: (row.origin, row.fingerprint)
        for row in conn.execute(
            select(AdvisoryRow.id, AdvisoryRow.origin, AdvisoryRow.fingerprint).where(
                AdvisoryRow.source == source
            )
        )
    }
    seen: set[str] = set()
    added = changed = 0
    rows: list[dict[str, Any]] = []
    pkg_rows: list[dict[str, Any]] = []
    replace: list[str] = []

    def flush() -> None:
        _delete_advisories(conn, source, replace)
        if rows:
            conn.execute(insert(AdvisoryRow), rows)
        if pkg_rows:
            conn.execute(insert(AdvisoryPackage), pkg_rows)
        rows.clear()
        pkg_rows.clear()
        replace.clear()

    for adv, keys in vetted(advisories, report):
        if keys is None:  # a bad record: the version stored before (if any) stays
            if adv.id in existing and existing[adv.id][0] == origin:
                seen.add(adv.id)
                report.kept_previous += 1
            continue
        seen.add(adv.id)
        fp = fingerprint(adv)
        before = existing.get(adv.id)
        if before == (origin, fp):
            continue
        if before is None:
            added += 1
        else:
            changed += 1
            replace.append(adv.id)
        rows.append(
            {
                "source": source,
                "id": adv.id,
                "origin": origin,
                "modified": adv.modified,
                "fingerprint": fp,
                "withdrawn": adv.withdrawn,
                "aliases": adv.aliases,
                "raw": pack(adv.raw),
            }
        )
        pkg_rows.extend(
            {
                "source": source,
                "advisory_id": adv.id,
                "ecosystem": eco,
                "name": name,
                "name_key": name_key(eco, name),
            }
            for eco, name in dict.fromkeys(keys)
        )
        if len(rows) >= BATCH:
            flush()
    report.finish(len(seen))
    flush()
    gone = [i for i, (org, _fp) in existing.items() if org == origin and i not in seen]
    _delete_advisories(conn, source, gone)
    return len(seen), added, changed, len(gone)


def _replace_table(conn: Connection, table: Any, rows: Iterable[dict[str, Any]]) -> int:
    conn.execute(delete(table))
    count = 0
    batch: list[dict[str, Any]] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= 5000:
            conn.execute(insert(table), batch)
            count += len(batch)
            batch.clear()
    if batch:
        conn.execute(insert(table), batch)
        count += len(batch)
    return count


def _fields(obj: Any) -> dict[str, Any]:
    return {name: getattr(obj, name) for name in obj.__slots__}


def write_feed_data(conn: Connection, data: FeedData, report: Report) -> tuple[int, int, int, int]:
    """Write one feed's records; (records, added, changed, removed)."""
    if data.kind == "advisories":
        return write_advisories(conn, data.source, data.origin, data.records, report)
    table = KevRow if data.kind == "kev" else EpssRow
    count = _replace_table(conn, table, map(_fields, data.records))
    if data.kind == "epss":
        report.finish(count)
    return count, count, 0, 0


# --- feed state -------------------------------------------------------------------------


def _status(row: Any) -> FeedStatus:
    return FeedStatus(
        feed=row["feed"],
        source=row["source"],
        status=row["status"],
        records=row["record_count"],
        snapshot_at=row["snapshot_at"] or "",
        updated_at=row["updated_at"],
        message=row["message"] or "",
        warnings=row["warnings"] or 0,
        files=dict(row["files"] or {}),
        sha256=row["sha256"] or "",
    )


def feed_state(store: Store, feed: str) -> FeedStatus | None:
    """The state recorded by the last update of `feed`, or None if it never ran."""
    with store.read() as conn:
        row = conn.execute(select(FeedState.__table__).where(FeedState.feed == feed)).mappings().first()
    return _status(row) if row else None


def feed_states(store: Store) -> list[FeedStatus]:
    """Every feed's state, by name: what `db status` shows and what a staleness check reads."""
    with store.read() as conn:
        rows = conn.execute(select(FeedState.__table__).order_by(FeedState.feed)).mappings().all()
    return [_status(r) for r in rows]


def _save_state(conn: Connection, feed: str, values: dict[str, Any]) -> None:
    if conn.execute(select(FeedState.feed).where(FeedState.feed == feed)).first():
        conn.execute(update(FeedState).where(FeedState.feed == feed).values(**values))
    else:
        conn.execute(insert(FeedState).values(feed=feed, **values))


def mark_unchanged(store: Store, feed: str) -> None:
    with store.write(lock=feed) as conn:
        _save_state(conn, feed, {"updated_at": datetime.now(UTC), "message": "not modified"})


def mark_failed(store: Store, feed: str, source: str, message: str) -> None:
    """Record a failed update; the feed's previous data stays as it was."""
    with store.write(lock=feed) as conn:
        _save_state(conn, feed, {"source": source, "status": "failed", "message": message})


def import_feed(
    store: Store, feed: str, data: FeedData, report: Report, state: dict[str, Any]
) -> tuple[int, int, int, int]:
    """Write `data` and the feed's new state in one transaction; (records, added, changed, removed)."""
    with store.write(lock=feed) as conn:
        records, added, changed, removed = write_feed_data(conn, data, report)
        snapshot = data.snapshot()
        _save_state(
            conn,
            feed,
            {
                **state,
                "snapshot_at": snapshot or None,
                "updated_at": datetime.now(UTC),
                "record_count": records,
                "status": "ok",
                "message": "",
                "warnings": report.bad_records + len(report.notes),
            },
        )
    return records, added, changed, removed
