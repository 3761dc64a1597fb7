"""`db update` and `db status` as use cases: fetch each feed, read it, write it atomically.

Unit of work = one *feed* ("osv:PyPI", "debian-dsa", "alpine-secdb", "kev", ...): one
download set, one transaction, one feed_state row. A feed that fails (bad container,
too many bad records, network) leaves its previous data untouched and is recorded as
`failed`; the other feeds still update. Unchanged files are not even parsed
(conditional GET, or the same sha256 as last time).

Planning and parsing are pure (`vulndb.feeds.plan`), writing is the store's
(`store.advisories`); this module only joins them.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import suppress

from sqlalchemy.exc import SQLAlchemyError

from keelwatch import config
from keelwatch.errors import FeedError
from keelwatch.store import advisories
from keelwatch.store.db import Store
from keelwatch.vulndb.feeds.base import Report
from keelwatch.vulndb.feeds.fetch import FeedUnreachable, Fetched, Fetcher, Progress
from keelwatch.vulndb.feeds.plan import FeedResult, FeedUnit, fetch_all, plan
from keelwatch.vulndb.model import FeedStatus


def _unchanged(files: list[Fetched], prev: FeedStatus | None) -> bool:
    return (
        prev is not None
        and prev.status == "ok"
        and all(f.not_modified for f in files)
        and len(files) == len(prev.files)
    )


def _state_of(unit: FeedUnit, files: list[Fetched]) -> dict[str, object]:
    """The validators and location recorded for the next run's conditional fetch."""
    single = files[0] if len(files) == 1 else None
    return {
        "source": unit.source,
        "etag": single.etag if single else None,
        "last_modified": single.last_modified if single else None,
        "sha256": single.sha256 if single else None,
        "files": {f.key or f.location: f.validators() for f in files},
        "location": ", ".join(f.location for f in files)[:4000],
    }


def run_feed(
    store: Store,
    unit: FeedUnit,
    fetcher: Fetcher,
    force: bool = False,
    progress: Callable[[str], None] | None = None,
) -> FeedResult:
    """Update one feed in one transaction; failures are recorded, never half-applied."""
    started = time.monotonic()
    report = Report(unit.feed)
    prev = advisories.feed_state(store, unit.feed)
    try:
        files = fetch_all(unit, fetcher, prev.files if prev else {})
        if not force and _unchanged(files, prev):
            advisories.mark_unchanged(store, unit.feed)
            records = prev.records if prev else 0
            return FeedResult(
                unit.feed, unit.source, "unchanged", records, seconds=time.monotonic() - started
            )
        if progress:
            progress(f"{unit.feed}: importing")
        with unit.read(files, report) as data:
            records, added, changed, removed = advisories.import_feed(
                store, unit.feed, data, report, _state_of(unit, files)
            )
    except (FeedError, SQLAlchemyError, ValueError, TypeError, KeyError, AttributeError) as exc:
        # FeedError is the expected kind; the others mean input this code did not foresee
        # (or a value the database refuses): still one failed feed, never a half-import.
        message = str(exc) if isinstance(exc, FeedError) else f"{unit.feed}: rejected: {exc!r}"[:500]
        # the previous data stays as it was; only the status says the update failed (unless the
        # store itself is failing: the result below still reports it)
        with suppress(SQLAlchemyError):
            advisories.mark_failed(store, unit.feed, unit.source, message)
        return FeedResult(
            unit.feed,
            unit.source,
            "failed",
            warnings=report.warnings,
            message=message,
            seconds=time.monotonic() - started,
            skipped=report.skipped,
            notes=report.notes,
            unreachable=exc.host if isinstance(exc, FeedUnreachable) else "",
        )
    return FeedResult(
        unit.feed,
        unit.source,
        "updated",
        records,
        added,
        changed,
        removed,
        report.warnings,
        seconds=time.monotonic() - started,
        skipped=report.skipped,
        notes=report.notes,
    )


def update_feeds(
    store: Store,
    sources: list[str] | None = None,
    mirror: str | None = None,
    force: bool = False,
    progress: Callable[[str], None] | None = None,
    download_progress: Progress | None = None,
) -> list[FeedResult]:
    """Update the given sources (all by default) from the publishers or from `mirror`."""
    with Fetcher(mirror, config.data_home() / "tmp", progress=download_progress) as fetcher:
        units, results = plan(sources, fetcher, dict(config.load_settings().raw.get("vulndb", {})))
        for unit in units:
            results.append(run_feed(store, unit, fetcher, force, progress))
    return results


def feed_status(store: Store) -> list[FeedStatus]:
    """Every feed's recorded state (`db status`)."""
    return advisories.feed_states(store)
