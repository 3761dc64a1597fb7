"""`keelwatch db update` and `keelwatch db status`: the vulnerability data in the store.

A thin shell over `keelwatch.app.feeds`: one summary line per feed (counts, skipped
records as a count with the list on request), download progress with bytes on stderr
only when it is a terminal and not `-q`.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import typer

from keelwatch.errors import FeedError

db_app = typer.Typer(help="Vulnerability data: update feeds, show their state.", no_args_is_help=True)


@dataclass
class _Progress:
    """What `db update` shows while it works: byte bars per download (TTY only) and step notes."""

    on_bytes: Any = None  # (url, done, total) -> None
    note: Any = None  # (message) -> None


@contextmanager
def _progress(quiet: bool) -> Iterator[_Progress]:
    """Rich bars with notes above them on a terminal; plain note lines otherwise; nothing with -q."""
    if quiet:
        yield _Progress()
        return
    if not sys.stderr.isatty():  # a log, not a display: step notes as plain lines, no bars
        yield _Progress(note=lambda message: typer.echo(message, err=True))
        return
    from rich.console import Console
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TransferSpeedColumn

    tasks: dict[str, Any] = {}
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        console=Console(stderr=True),
        transient=True,
    ) as bars:

        def on_bytes(url: str, done: int, total: int | None) -> None:
            if url not in tasks:
                name = "/".join(url.split("?", 1)[0].rstrip("/").rsplit("/", 2)[-2:])  # e.g. PyPI/all.zip
                tasks[url] = bars.add_task(name, total=total)
            bars.update(tasks[url], completed=done, total=total)

        yield _Progress(on_bytes, lambda message: bars.console.print(message, markup=False, highlight=False))


def _summary(r: Any) -> str:
    if r.status == "updated":
        detail = f"{r.records} records (+{r.added} ~{r.changed} -{r.removed})"
    elif r.status == "unchanged":
        detail = f"{r.records} records, not modified"
    else:
        detail = r.message
    if r.skipped:
        detail += f", {len(r.skipped)} skipped"
    return f"{r.feed:<22} {r.status:<9} {detail}  [{r.seconds:.1f}s]"


def _save_skipped(results: list[Any]) -> Path:
    """Every skipped record of this run, one per line, in the data directory (overwritten each run)."""
    from keelwatch.config import data_home

    path = data_home() / "db-update-skipped.txt"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(f"{r.feed}\t{s}\n" for r in results for s in r.skipped), encoding="utf-8")
    return path


def _failure(failed: list[Any]) -> FeedError:
    """One short line for the whole run: the shared reason, or a count and the first one."""
    hosts = list(dict.fromkeys(r.unreachable for r in failed))
    if all(hosts):  # nothing could be reached: offline, say so once
        others = f" (and {len(hosts) - 1} other hosts)" if len(hosts) > 1 else ""
        return FeedError(f"cannot reach {hosts[0]}{others}: no network? use --from DIR")
    reasons = list(dict.fromkeys(r.message for r in failed))
    if len(reasons) == 1:
        return FeedError(reasons[0][:300])
    return FeedError(f"{len(failed)} feeds failed; first: {failed[0].feed}: {reasons[0]}"[:300])


@db_app.command("update")
def update_cmd(
    source: list[str] = typer.Option(
        None, "--source", "-s", help="Feed to update (repeatable); default all."
    ),
    from_: str = typer.Option(
        None, "--from", help="Mirror directory or URL (publishers' layout), or OSV files."
    ),
    force: bool = typer.Option(False, "--force", help="Re-import even if the files are unchanged."),
    show_skipped: bool = typer.Option(
        False, "--show-skipped", help="List every skipped (invalid) record with its reason."
    ),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress and no notes; summary lines only."),
) -> None:
    """Fetch and import feeds; each feed is replaced atomically or left as it was."""
    from keelwatch.app.feeds import update_feeds
    from keelwatch.store.db import open_store
    from keelwatch.vulndb.feeds.plan import NOT_IN_MIRROR

    with open_store() as store, _progress(quiet) as shown:
        results = update_feeds(
            store, source or None, from_, force=force, progress=shown.note, download_progress=shown.on_bytes
        )
    absent = [r.feed for r in results if r.status == "skipped" and r.message == NOT_IN_MIRROR]
    if absent:  # one line, not one per feed the mirror does not carry
        typer.echo(f"{'not in mirror':<22} {len(absent)} feeds: {', '.join(absent)}")
    for r in results:
        if r.feed in absent:
            continue
        typer.echo(_summary(r))
        if show_skipped:
            for s in r.skipped:
                typer.echo(f"  skipped {s}")
        if not quiet:
            for note in r.notes:
                typer.echo(f"  note: {note}", err=True)
    skipped = sum(len(r.skipped) for r in results)
    listed = _save_skipped(results)  # rewritten every run, so it never shows an older run's list
    if skipped and not show_skipped:
        typer.echo(f"{skipped} invalid records skipped; listed in {listed} (or --show-skipped)")
    failed = [r for r in results if r.status == "failed"]
    if failed:
        raise _failure(failed)


def _shown_status(status: str, age: float | None, max_age: float) -> str:
    """The feed's state as a gate sees it: a successful update of old (or undated) data is stale."""
    if status == "ok" and (age is None or age > max_age):
        return "stale"
    return status


@db_app.command("status")
def status_cmd() -> None:
    """Each feed's record count, snapshot date and age; warns about stale or undated data."""
    from keelwatch.app.feeds import feed_status
    from keelwatch.config import load_settings
    from keelwatch.store.db import open_store

    max_age = load_settings().max_data_age_days
    with open_store() as store:
        states = feed_status(store)
        url = store.url.render_as_string(hide_password=True)
    typer.echo(f"store: {url}")
    if not states:
        typer.echo("no vulnerability data yet: run `keelwatch db update`")
        return
    typer.echo(f"{'feed':<22} {'status':<7} {'records':>8}  {'snapshot':<20}  age")
    for s in states:
        age = s.age_days()
        age_text = f"{age:.1f}d" if age is not None else "?"
        shown = _shown_status(s.status, age, max_age)
        typer.echo(f"{s.feed:<22} {shown:<7} {s.records:>8}  {(s.snapshot_at or '-')[:19]:<20}  {age_text}")
        if s.status != "ok":
            typer.echo(f"  warning: last update failed: {s.message}", err=True)
        if age is None:
            typer.echo(f"  warning: {s.feed} data carries no date; treat it as stale", err=True)
        elif age > max_age:
            typer.echo(f"  warning: {s.feed} data is {age:.0f} days old (limit {max_age})", err=True)


def register(app: typer.Typer) -> None:
    """Add this module's commands to the main app."""
    app.add_typer(db_app, name="db")
