"""Which feeds `db update` runs, where their files are, and how their files are read.

Pure: no database here. A feed ("osv:PyPI", "debian-dsa", "alpine-secdb", "kev", ...)
is one `FeedUnit`: its files (publisher URL + mirror candidates) and a `read` that
turns the fetched files into `FeedData` (the records, streamed, and the snapshot date
the data proves). Writing that data is the store's job (`store.advisories`), running
the whole update is the use case's (`app.feeds`).

Snapshot dates come from the data, never from a local copy's mtime (a copy made today
of 2020 data is 2020 data): OSV's newest `modified`, the DSA/DLA lists' newest advisory
date, KEV's `dateReleased`, EPSS's `score_date`. Alpine secdb and the Debian tracker
JSON carry no date: a download uses the publisher's Last-Modified (else the fetch
time), a local copy the first day of its newest CVE year (`base.cve_year_floor`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from keelwatch.errors import FeedError
from keelwatch.vulndb.feeds import alpine, debian, epss, kev, osv
from keelwatch.vulndb.feeds.base import Report, cve_year_floor
from keelwatch.vulndb.feeds.fetch import Fetched, Fetcher
from keelwatch.vulndb.model import Advisory

NOT_IN_MIRROR = "not in mirror"  # a feed the --from mirror does not carry: skipped, not failed
SOURCES = ("osv", "debian-tracker", "debian-dsa", "debian-dla", "alpine-secdb", "kev", "epss")


@dataclass
class FeedResult:
    """How one feed's update went; `skipped` lists every bad record as "id: reason"."""

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
    skipped: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    unreachable: str = ""  # the host that could not be reached at all (likely offline)


@dataclass
class FeedData:
    """One feed's records, ready to write: consumed once, while the reader is open."""

    kind: Literal["advisories", "kev", "epss"]
    source: str
    origin: str  # advisories only: which file of the source they replace ("" = all of it)
    records: Iterable[Any]  # Advisory | KevEntry | EpssScore
    snapshot: Callable[[], str]  # the data's own date; final once `records` is consumed


Reader = Callable[[list[Fetched], Report], AbstractContextManager[FeedData]]


@dataclass
class FeedUnit:
    """One feed to update: where its files are and how to read them."""

    feed: str
    source: str
    files: list[tuple[str, list[str]]]  # (publisher URL, mirror candidates)
    read: Reader
    optional_files: bool = False  # e.g. Alpine branches that may not exist
    local_path: Path | None = None  # a local OSV file/dir given with --from


class _Dated:
    """Pass advisories through, noting the dates they prove: newest `modified`, newest CVE year."""

    def __init__(self, advisories: Iterable[Advisory]) -> None:
        self._advisories = advisories
        self.newest = ""
        self._ids: set[str] = set()

    def __iter__(self) -> Iterator[Advisory]:
        for adv in self._advisories:
            self.newest = max(self.newest, adv.modified)
            self._ids.update(alias for alias in adv.aliases if alias.startswith("CVE-"))
            yield adv

    def cve_floor(self) -> str:
        return cve_year_floor(self._ids)


def _osv_reader(origin: str) -> Reader:
    @contextmanager
    def read(files: list[Fetched], report: Report) -> Iterator[FeedData]:
        dated = _Dated(osv.read_path(files[0].path, report))
        # a mirror's file time says little; the newest record says how current the data is
        yield FeedData("advisories", "osv", origin, dated, lambda: dated.newest or files[0].snapshot)

    return read


@contextmanager
def _tracker(files: list[Fetched], report: Report) -> Iterator[FeedData]:
    snap = files[0].snapshot
    dated = _Dated(debian.read_tracker(files[0].path, report, snap))
    yield FeedData("advisories", "debian-tracker", "", dated, lambda: snap or dated.cve_floor())


def _dsa_list(source: str) -> Reader:
    @contextmanager
    def read(files: list[Fetched], report: Report) -> Iterator[FeedData]:
        dated = _Dated(debian.read_list(files[0].path, report, source))
        yield FeedData("advisories", source, "", dated, lambda: dated.newest or files[0].snapshot)

    return read


@contextmanager
def _alpine(files: list[Fetched], report: Report) -> Iterator[FeedData]:
    parts = [(Path(f.location).parent.name, Path(f.location).stem, f.path) for f in files]
    snap = max((f.snapshot for f in files), default="")
    dated = _Dated(alpine.read_files(parts, report, snap))
    yield FeedData("advisories", "alpine-secdb", "", dated, lambda: dated.newest)


@contextmanager
def _kev(files: list[Fetched], report: Report) -> Iterator[FeedData]:
    entries, snapshot = kev.read_kev(files[0].path, report)
    report.finish(len(entries))
    yield FeedData("kev", "kev", "", entries, lambda: snapshot)


@contextmanager
def _epss(files: list[Fetched], report: Report) -> Iterator[FeedData]:
    with epss.EpssFile(files[0].path, report) as scores:
        yield FeedData("epss", "epss", "", scores, lambda: scores.date)


def plan(
    sources: list[str] | None, fetcher: Fetcher, settings: dict[str, Any]
) -> tuple[list[FeedUnit], list[FeedResult]]:
    """The feeds to update for `sources` (all when None), and the ones skipped up front."""
    explicit = bool(sources)
    wanted = list(dict.fromkeys(sources or SOURCES))
    unknown = [s for s in wanted if s not in SOURCES]
    if unknown:
        raise FeedError(f"unknown source {unknown[0]!r} (known: {', '.join(SOURCES)})")
    units: list[FeedUnit] = []
    skipped: list[FeedResult] = []
    local_dir = fetcher.mirror if fetcher.mirror and not fetcher.is_url else None
    for source in wanted:
        if source == "osv":
            _plan_osv(fetcher, settings, local_dir, explicit, units, skipped)
            continue
        if local_dir and Path(local_dir).is_file() and not (explicit and len(wanted) == 1):
            skipped.append(FeedResult(source, source, "skipped", message="--from is a single file"))
            continue
        unit = _unit(source, settings, local_dir)
        if local_dir and not explicit and not any(fetcher.local(c) for _u, c in unit.files):
            skipped.append(FeedResult(source, source, "skipped", message=NOT_IN_MIRROR))
            continue
        units.append(unit)
    return units, skipped


def _plan_osv(
    fetcher: Fetcher,
    settings: dict[str, Any],
    local_dir: str | None,
    explicit: bool,
    units: list[FeedUnit],
    skipped: list[FeedResult],
) -> None:
    ecosystems = list(settings.get("osv_ecosystems") or osv.DEFAULT_ECOSYSTEMS)
    zips = {eco: [f"{eco}/all.zip", f"osv/{eco}/all.zip"] for eco in ecosystems}
    is_file = Path(local_dir).is_file() if local_dir else False
    if local_dir and (is_file or not any(fetcher.local(c) for c in zips.values())):
        # not the bucket layout: a document or a directory of OSV files
        if explicit or is_file:
            path = Path(local_dir)
            origin = f"local:{path.resolve()}"
            units.append(FeedUnit(f"osv:{path.name}", "osv", [], _osv_reader(origin), local_path=path))
        else:
            skipped.append(FeedResult("osv", "osv", "skipped", message=NOT_IN_MIRROR))
        return
    for eco, cands in zips.items():
        if local_dir and fetcher.local(cands) is None:
            skipped.append(FeedResult(f"osv:{eco}", "osv", "skipped", message=NOT_IN_MIRROR))
            continue
        units.append(
            FeedUnit(f"osv:{eco}", "osv", [(f"{osv.DEFAULT_BASE}{eco}/all.zip", cands)], _osv_reader(eco))
        )


def _unit(source: str, settings: dict[str, Any], local_dir: str | None) -> FeedUnit:
    if source == "debian-tracker":
        return FeedUnit(
            source,
            source,
            [(debian.TRACKER_URL, ["tracker/data/json", "debian/tracker.json", "tracker.json"])],
            _tracker,
        )
    if source in ("debian-dsa", "debian-dla"):
        kind = source.rsplit("-", 1)[1].upper()
        cands = [f"data/{kind}/list", f"debian/{kind}-list", f"{kind}-list"]
        return FeedUnit(source, source, [(f"{debian.LISTS_BASE}data/{kind}/list", cands)], _dsa_list(source))
    if source == "alpine-secdb":
        return _alpine_unit(settings, local_dir)
    if source == "kev":
        cands = [
            "sites/default/files/feeds/known_exploited_vulnerabilities.json",
            "kev/known_exploited_vulnerabilities.json",
            "known_exploited_vulnerabilities.json",
        ]
        return FeedUnit(source, source, [(kev.DEFAULT_URL, cands)], _kev)
    cands = ["epss_scores-current.csv.gz", "epss/epss_scores-current.csv.gz"]
    return FeedUnit(source, source, [(epss.DEFAULT_URL, cands)], _epss)


def _alpine_unit(settings: dict[str, Any], local_dir: str | None) -> FeedUnit:
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
    return FeedUnit("alpine-secdb", "alpine-secdb", files, _alpine, optional_files=True)


def fetch_all(unit: FeedUnit, fetcher: Fetcher, previous_files: dict[str, Any]) -> list[Fetched]:
    """Every file of `unit`; the unchanged ones (304) are fetched in full if any other changed."""
    if unit.local_path is not None:
        return [fetcher.get_local(unit.local_path, previous_files.get(str(unit.local_path)))]
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
