"""`keelwatch db update` and `keelwatch db status`: the vulnerability data in the store."""

from __future__ import annotations

from datetime import UTC, datetime

import typer

from keelwatch.errors import FeedError

db_app = typer.Typer(help="Vulnerability data: update feeds, show their state.", no_args_is_help=True)


@db_app.command("update")
def update_cmd(
    source: list[str] = typer.Option(
        None, "--source", "-s", help="Feed to update (repeatable); default all."
    ),
    from_: str = typer.Option(
        None, "--from", help="Mirror directory or URL (publishers' layout), or OSV files."
    ),
    force: bool = typer.Option(False, "--force", help="Re-import even if the files are unchanged."),
) -> None:
    """Fetch and import feeds; each feed is replaced atomically or left as it was."""
    from keelwatch.store.db import open_store
    from keelwatch.vulndb.feeds.update import update

    with open_store() as store:
        results = update(
            store, source or None, from_, force=force, progress=lambda m: typer.echo(m, err=True)
        )
    failed = []
    for r in results:
        if r.status == "updated":
            detail = f"{r.records} records (+{r.added} ~{r.changed} -{r.removed})"
        elif r.status == "unchanged":
            detail = f"{r.records} records, not modified"
        else:
            detail = r.message
        typer.echo(f"{r.feed:<22} {r.status:<9} {detail}  [{r.seconds:.1f}s]")
        for warning in r.warnings:
            typer.echo(f"  warning: {warning}", err=True)
        if r.status == "failed":
            failed.append(r)
    if failed:
        raise FeedError("; ".join(f"{r.feed}: {r.message}" for r in failed))


def _age_days(value: str | None, fallback: datetime | None) -> float | None:
    when = None
    if value:
        try:
            when = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            when = None
    when = when or fallback
    if when is None:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return (datetime.now(UTC) - when).total_seconds() / 86400


@db_app.command("status")
def status_cmd() -> None:
    """Each feed's record count, snapshot time and age; warns about stale data."""
    from sqlalchemy import select

    from keelwatch.config import load_settings
    from keelwatch.store.db import open_store
    from keelwatch.store.models import FeedState

    max_age = load_settings().max_data_age_days
    with open_store() as store, store.session() as session:
        states = session.scalars(select(FeedState).order_by(FeedState.feed)).all()
        url = store.url.render_as_string(hide_password=True)
    typer.echo(f"store: {url}")
    if not states:
        typer.echo("no vulnerability data yet: run `keelwatch db update`")
        return
    typer.echo(f"{'feed':<22} {'status':<7} {'records':>8}  {'snapshot':<20}  age")
    for s in states:
        age = _age_days(s.snapshot_at, s.updated_at)
        age_text = f"{age:.1f}d" if age is not None else "?"
        typer.echo(
            f"{s.feed:<22} {s.status:<7} {s.record_count:>8}  {(s.snapshot_at or '-')[:19]:<20}  {age_text}"
        )
        if s.status != "ok":
            typer.echo(f"  warning: last update failed: {s.message}", err=True)
        if age is not None and age > max_age:
            typer.echo(f"  warning: {s.feed} data is {age:.0f} days old (limit {max_age})", err=True)


def register(app: typer.Typer) -> None:
    """Add this module's commands to the main app."""
    app.add_typer(db_app, name="db")
