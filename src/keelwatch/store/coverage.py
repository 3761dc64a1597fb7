"""Which loaded feeds hold records for which advisory ecosystems (for `vulndb.coverage`).

A few indexed EXISTS queries per ecosystem of one image, never a scan of the
advisory tables: the cost of knowing what a "findings 0" is worth.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from sqlalchemy import and_, exists, select

from keelwatch.store.advisories import feed_states
from keelwatch.store.db import Store
from keelwatch.store.models import AdvisoryPackage, AdvisoryRow, FeedState
from keelwatch.vulndb.model import FeedStatus


def loaded_feeds(store: Store) -> list[FeedStatus]:
    """Every feed holding data (a failed update keeps the previous data, so it counts too)."""
    return [f for f in feed_states(store) if f.records > 0]


def feeds_covering(store: Store, ecosystems: Iterable[str]) -> dict[str, list[str]]:
    """{ecosystem: names of the feeds holding at least one record for it}."""
    with store.read() as conn:
        states = conn.execute(select(FeedState.feed, FeedState.source, FeedState.location)).all()
        out: dict[str, list[str]] = {}
        for ecosystem in dict.fromkeys(ecosystems):
            names = []
            for feed, source, location in states:
                condition = and_(AdvisoryPackage.ecosystem == ecosystem, AdvisoryPackage.source == source)
                origins = _origins(feed, source, location)
                if origins is not None:  # several feeds of one source (OSV): tell them apart by origin
                    condition = and_(
                        condition,
                        exists().where(
                            AdvisoryRow.source == AdvisoryPackage.source,
                            AdvisoryRow.id == AdvisoryPackage.advisory_id,
                            AdvisoryRow.origin.in_(origins),
                        ),
                    )
                if conn.execute(select(exists().where(condition))).scalar():
                    names.append(feed)
            out[ecosystem] = names
    return out


def _origins(feed: str, source: str, location: str | None) -> list[str] | None:
    """The `advisories.origin` values an OSV feed writes (its bucket ecosystem, or its local path)."""
    if source != "osv":
        return None
    origins = [feed.partition(":")[2]]
    if location:
        origins += [f"local:{location}", f"local:{Path(location).resolve()}"]
    return origins
