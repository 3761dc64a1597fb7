"""`keelwatch db update`: fetch each feed, convert, check and write it atomically.

Unit of work = one *feed* ("osv:PyPI", "debian-dsa", "alpine-secdb", "kev", ...):
one download set, one transaction, one feed_state row. A feed that fails (bad
container, too many bad records, network) leaves its previous data untouched and
is recorded as `failed` in feed_state; the other feeds still update.

Incremental: unchanged files are not even parsed (conditional GET, or same sha256
as last time); inside a changed file, records whose fingerprint (OSV `modified`,
else a hash of the converted record) is unchanged are not rewritten; records that
disappeared from the feed's own file are deleted. A record that turns bad keeps
its previously stored version (with a warning) rather than vanishing.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, delete, insert, select
from sqlalchemy import update as sql_update
from sqlalchemy.exc import SQLAlchemyError

from keelwatch import config
from keelwatch.errors import FeedError
from keelwatch.store.db import Store, pack
from keelwatch.store.models import AdvisoryPackage, AdvisoryRow, EpssRow, FeedState, KevRow
from keelwatch.vulndb.feeds import alpine, debian, epss, kev, osv
from keelwatch.vulndb.feeds.base import BadRecord, Report, check_advisory, name_key
from keelwatch.vulndb.feeds.fetch import Fetched, Fetcher
from keelwatch.vulndb.model import Advisory

SOURCES = ("osv", "debian-tracker", "debian-dsa", "debian-dla", "alpine-secdb", "kev", "epss")
BATCH = 1000
_IN_CHUNK = 500


@dataclass
class FeedResult:
    feed: str
    source: str
    status: str  # updated | unchanged | skipped | failed
    records: int = 0
    added: int = 0
    changed: int = 0
    removed: int = 0
    warnings: list[str] = field(default_factory=list)
    message: str = ""
    seconds: float = 0.0


@dataclass
class _Unit:
    """One feed to update: where its files are and how to import them."""

    feed: str
    source: str
    files: list[tuple[str, list[str]]]  # (publisher URL, mirror candidates)
    importer: Callable[[Connection, list[Fetched], Report], tuple[int, int, int, int, str]]
    optional_files: bool = False  # e.g. Alpine branches that may not exist
    local_path: Path | None = None  # a local OSV file/dir given with --from


def _chunks(items: list[Any], size: int = _IN_CHUNK) -> Iterator[list[Any]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def _fingerprint(adv: Advisory) -> str:
    if adv.source == "osv" and adv.modified:
        return f"m:{adv.modified}"
    body = {k: v for k, v in adv.raw.items() if k != "modified"}
    return "h:" + hashlib.sha1(json.dumps(body, sort_keys=True).encode(), usedforsecurity=False).hexdigest()


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
        for ids in _chunks(replace):
            conn.execute(
                delete(AdvisoryPackage).where(
                    AdvisoryPackage.source == source, AdvisoryPackage.advisory_id.in_(ids)
                )
            )
            conn.execute(delete(AdvisoryRow).where(AdvisoryRow.source == source, AdvisoryRow.id.in_(ids)))
        if rows:
            conn.execute(insert(AdvisoryRow), rows)
        if pkg_rows:
            conn.execute(insert(AdvisoryPackage), pkg_rows)
        rows.clear()
        pkg_rows.clear()
        replace.clear()

    for adv in advisories:
        if adv.id in seen:
            report.bad(adv.id, "duplicate id in this feed; first kept")
            continue
        try:
            keys = check_advisory(adv, report)
        except BadRecord as exc:
            report.bad(adv.id, str(exc))
            if adv.id in existing and existing[adv.id][0] == origin:
                seen.add(adv.id)
                report.warn(f"{report.feed}: kept the previously stored version of {adv.id}")
            continue
        seen.add(adv.id)
        fp = _fingerprint(adv)
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
        for eco, name in dict.fromkeys(keys):
            pkg_rows.append(
                {
                    "source": source,
                    "advisory_id": adv.id,
                    "ecosystem": eco,
                    "name": name,
                    "name_key": name_key(eco, name),
                }
            )
        if len(rows) >= BATCH:
            flush()
    report.finish(len(seen))
    flush()
    gone = [i for i, (org, _fp) in existing.items() if org == origin and i not in seen]
    for ids in _chunks(gone):
        conn.execute(
            delete(AdvisoryPackage).where(
                AdvisoryPackage.source == source, AdvisoryPackage.advisory_id.in_(ids)
            )
        )
        conn.execute(delete(AdvisoryRow).where(AdvisoryRow.source == source, AdvisoryRow.id.in_(ids)))
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


# --- importers: (conn, fetched files, report) -> (records, added, changed, removed, snapshot) ---


def _newest(advisories: Iterable[Advisory], newest: list[str]) -> Iterator[Advisory]:
    """Pass advisories through, remembering the newest `modified`: the data's own age."""
    for adv in advisories:
        newest[0] = max(newest[0], adv.modified)
        yield adv


def _osv_importer(origin: str) -> Callable[..., tuple[int, int, int, int, str]]:
    def run(conn: Connection, files: list[Fetched], report: Report) -> tuple[int, int, int, int, str]:
        newest = [""]
        counts = write_advisories(
            conn, "osv", origin, _newest(osv.read_path(files[0].path, report), newest), report
        )
        # a mirror's file time says little; the newest record says how current the data is
        return (*counts, newest[0] or files[0].snapshot)

    return run


def _tracker(conn: Connection, files: list[Fetched], report: Report) -> tuple[int, int, int, int, str]:
    snap = files[0].snapshot
    return (
        *write_advisories(
            conn, "debian-tracker", "", debian.read_tracker(files[0].path, report, snap), report
        ),
        snap,
    )


def _dsa_list(source: str) -> Callable[..., tuple[int, int, int, int, str]]:
    def run(conn: Connection, files: list[Fetched], report: Report) -> tuple[int, int, int, int, str]:
        newest = [""]
        advisories = _newest(debian.read_list(files[0].path, report, source), newest)
        counts = write_advisories(conn, source, "", advisories, report)
        return (*counts, newest[0] or files[0].snapshot)

    return run


def _alpine(conn: Connection, files: list[Fetched], report: Report) -> tuple[int, int, int, int, str]:
    snap = max((f.snapshot for f in files), default="")
    parts = []
    for f in files:
        branch, repo = Path(f.location).parent.name, Path(f.location).stem
        parts.append((branch, repo, f.path))
    return (*write_advisories(conn, "alpine-secdb", "", alpine.read_files(parts, report, snap), report), snap)


def _kev(conn: Connection, files: list[Fetched], report: Report) -> tuple[int, int, int, int, str]:
    entries, snapshot = kev.read_kev(files[0].path, report)
    report.finish(len(entries))
    count = _replace_table(conn, KevRow, (vars_of(e) for e in entries))
    return count, count, 0, 0, snapshot


def _epss(conn: Connection, files: list[Fetched], report: Report) -> tuple[int, int, int, int, str]:
    with epss.EpssFile(files[0].path, report) as scores:
        count = _replace_table(conn, EpssRow, (vars_of(s) for s in scores))
        report.finish(count)
        return count, count, 0, 0, scores.date


def vars_of(obj: Any) -> dict[str, Any]:
    return {name: getattr(obj, name) for name in obj.__slots__}


# --- planning ---------------------------------------------------------------------------


def _vulndb_settings() -> dict[str, Any]:
    return dict(config.load_settings().raw.get("vulndb", {}))


def plan(sources: list[str] | None, fetcher: Fetcher) -> tuple[list[_Unit], list[FeedResult]]:
    """The feeds to update for `sources` (all when None), and the ones skipped up front."""
    explicit = bool(sources)
    wanted = list(dict.fromkeys(sources or SOURCES))
    unknown = [s for s in wanted if s not in SOURCES]
    if unknown:
        raise FeedError(f"unknown source {unknown[0]!r} (known: {', '.join(SOURCES)})")
    settings = _vulndb_settings()
    units: list[_Unit] = []
    skipped: list[FeedResult] = []
    local_dir = fetcher.mirror if fetcher.mirror and not fetcher.is_url else None
    for source in wanted:
        if source == "osv":
            ecosystems = list(settings.get("osv_ecosystems") or osv.DEFAULT_ECOSYSTEMS)
            zips = {eco: [f"{eco}/all.zip", f"osv/{eco}/all.zip"] for eco in ecosystems}
            is_file = Path(local_dir).is_file() if local_dir else False
            if local_dir and (is_file or not any(fetcher.local(c) for c in zips.values())):
                # not the bucket layout: a document or a directory of OSV files
                if explicit or is_file:
                    units.append(_local_osv(Path(local_dir)))
                else:
                    skipped.append(FeedResult("osv", "osv", "skipped", message="not in mirror"))
                continue
            for eco, cands in zips.items():
                if local_dir and fetcher.local(cands) is None:
                    skipped.append(FeedResult(f"osv:{eco}", "osv", "skipped", message="not in mirror"))
                    continue
                units.append(
                    _Unit(
                        f"osv:{eco}", "osv", [(f"{osv.DEFAULT_BASE}{eco}/all.zip", cands)], _osv_importer(eco)
                    )
                )
            continue
        if local_dir and Path(local_dir).is_file() and not (explicit and len(wanted) == 1):
            skipped.append(FeedResult(source, source, "skipped", message="--from is a single file"))
            continue
        unit = _unit(source, settings, local_dir)
        if local_dir and not explicit and not any(fetcher.local(c) for _u, c in unit.files):
            skipped.append(FeedResult(source, source, "skipped", message="not in mirror"))
            continue
        units.append(unit)
    return units, skipped


def _local_osv(path: Path) -> _Unit:
    origin = f"local:{path.resolve()}"
    return _Unit(f"osv:{path.name}", "osv", [], _osv_importer(origin), local_path=path)


def _unit(source: str, settings: dict[str, Any], local_dir: str | None) -> _Unit:
    if source == "debian-tracker":
        return _Unit(
            source,
            source,
            [(debian.TRACKER_URL, ["tracker/data/json", "debian/tracker.json", "tracker.json"])],
            _tracker,
        )
    if source in ("debian-dsa", "debian-dla"):
        kind = source.rsplit("-", 1)[1].upper()
        cands = [f"data/{kind}/list", f"debian/{kind}-list", f"{kind}-list"]
        return _Unit(source, source, [(f"{debian.LISTS_BASE}data/{kind}/list", cands)], _dsa_list(source))
    if source == "alpine-secdb":
        branches = list(settings.get("alpine_branches") or ())
        if not branches and local_dir:
            roots = [Path(local_dir), Path(local_dir) / "alpine-secdb"]
            branches = sorted(
                {p.name for r in roots if r.is_dir() for p in r.iterdir() if alpine.is_branch(p.name)}
            )
        branches = branches or list(alpine.DEFAULT_BRANCHES)
        files = [
            (f"{alpine.DEFAULT_BASE}{b}/{repo}.json", [f"{b}/{repo}.json", f"alpine-secdb/{b}/{repo}.json"])
            for b in branches
            for repo in alpine.REPOS
        ]
        if local_dir and Path(local_dir).is_file():
            files = files[:1]  # the one file given; its `distroversion` names the branch
        return _Unit(source, source, files, _alpine, optional_files=True)
    if source == "kev":
        cands = [
            "sites/default/files/feeds/known_exploited_vulnerabilities.json",
            "kev/known_exploited_vulnerabilities.json",
            "known_exploited_vulnerabilities.json",
        ]
        return _Unit(source, source, [(kev.DEFAULT_URL, cands)], _kev)
    cands = ["epss_scores-current.csv.gz", "epss/epss_scores-current.csv.gz"]
    return _Unit(source, source, [(epss.DEFAULT_URL, cands)], _epss)


# --- running ----------------------------------------------------------------------------


def _state(conn: Connection, feed: str) -> FeedState | None:
    row = conn.execute(select(FeedState.__table__).where(FeedState.feed == feed)).mappings().first()
    return FeedState(**row) if row else None


def _save_state(conn: Connection, feed: str, values: dict[str, Any]) -> None:
    if conn.execute(select(FeedState.feed).where(FeedState.feed == feed)).first():
        conn.execute(sql_update(FeedState).where(FeedState.feed == feed).values(**values))
    else:
        conn.execute(insert(FeedState).values(feed=feed, **values))


def _fetch_all(unit: _Unit, fetcher: Fetcher, prev: FeedState | None) -> list[Fetched]:
    if unit.local_path is not None:
        from keelwatch.vulndb.feeds.fetch import _sha256

        path = unit.local_path
        sha = _sha256(path) if path.is_file() else ""
        mtime = datetime.fromtimestamp(path.stat().st_mtime, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        return [
            Fetched(
                path,
                str(path),
                sha,
                not_modified=bool(sha) and prev is not None and sha == prev.sha256,
                snapshot=mtime,
            )
        ]
    previous_files = (prev.files or {}) if prev else {}
    fetched = []
    for url, cands in unit.files:
        got = fetcher.get(url, cands, previous_files.get(cands[0]), required=not unit.optional_files)
        if got is not None:
            fetched.append((url, cands, got))
    if not fetched:
        raise FeedError(f"{unit.feed}: no files found")
    if not all(got.not_modified for _u, _c, got in fetched):
        # something changed: the import needs every file, so fetch the 304 ones in full
        fetched = [
            (url, cands, got if got.has_body else fetcher.get(url, cands, None) or got)
            for url, cands, got in fetched
        ]
    return [got for _u, _c, got in fetched]


def run_unit(
    store: Store,
    unit: _Unit,
    fetcher: Fetcher,
    force: bool = False,
    progress: Callable[[str], None] | None = None,
) -> FeedResult:
    """Update one feed in one transaction; failures are recorded, never half-applied."""
    started = time.monotonic()
    report = Report(unit.feed)
    with store.read() as conn:
        prev = _state(conn, unit.feed)
    try:
        files = _fetch_all(unit, fetcher, prev)
        ok_before = prev is not None and prev.status == "ok"
        if (
            not force
            and ok_before
            and all(f.not_modified for f in files)
            and len(files) == len(prev.files or {})
        ):
            with store.write(lock=unit.feed) as conn:
                _save_state(conn, unit.feed, {"updated_at": datetime.now(UTC), "message": "not modified"})
            return FeedResult(
                unit.feed, unit.source, "unchanged", prev.record_count, seconds=time.monotonic() - started
            )
        with store.write(lock=unit.feed) as conn:
            if progress:
                progress(f"{unit.feed}: importing")
            records, added, changed, removed, snapshot = unit.importer(conn, files, report)
            _save_state(
                conn,
                unit.feed,
                {
                    "source": unit.source,
                    "snapshot_at": snapshot or None,
                    "updated_at": datetime.now(UTC),
                    "record_count": records,
                    "etag": files[0].etag if len(files) == 1 else None,
                    "last_modified": files[0].last_modified if len(files) == 1 else None,
                    "sha256": files[0].sha256 if len(files) == 1 else None,
                    "files": {f.key or f.location: f.validators() for f in files},
                    "location": ", ".join(f.location for f in files)[:4000],
                    "status": "ok",
                    "message": "",
                    "warnings": len(report.warnings),
                },
            )
    except (FeedError, SQLAlchemyError, ValueError, TypeError, KeyError, AttributeError) as exc:
        # FeedError is the expected kind; the others mean input this code did not foresee
        # (or a value the database refuses): still one failed feed, never a half-import.
        message = str(exc) if isinstance(exc, FeedError) else f"{unit.feed}: rejected: {exc!r}"[:500]
        try:  # the previous data stays as it was; only the status says the update failed
            with store.write(lock=unit.feed) as conn:
                _save_state(conn, unit.feed, {"source": unit.source, "status": "failed", "message": message})
        except SQLAlchemyError:
            pass  # the store itself is failing: the result below still reports it
        return FeedResult(
            unit.feed,
            unit.source,
            "failed",
            warnings=report.warnings,
            message=message,
            seconds=time.monotonic() - started,
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
    )


def update(
    store: Store,
    sources: list[str] | None = None,
    mirror: str | None = None,
    force: bool = False,
    progress: Callable[[str], None] | None = None,
) -> list[FeedResult]:
    """Update the given sources (all by default) from the publishers or from `mirror`."""
    with Fetcher(mirror, config.data_home() / "tmp") as fetcher:
        units, results = plan(sources, fetcher)
        for unit in units:
            results.append(run_unit(store, unit, fetcher, force, progress))
    return results
