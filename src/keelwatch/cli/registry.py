"""`keelwatch registry …`: keep keelwatch in step with a whole registry.

`registry sync` records where every tag points (tag history for lineage's outdated-base
check) and scans only digests not seen before; with `--register-bases` it also registers
every image under the base namespace as a catalogue candidate, which is how a whole
namespace gets into the catalogue. `registry history` shows one tag's digests over time.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any

import typer

from keelwatch.cli.common import (
    TableOrJson,
    actor,
    catalogue,
    console,
    dump_json,
    err_console,
    opened_store,
    settings,
)
from keelwatch.errors import KeelwatchError
from keelwatch.oci.image import DEFAULT_PLATFORM
from keelwatch.termtext import cell, compact_table

registry_app = typer.Typer(
    help="Whole registries: sync tags and digests, scan what is new, register base namespaces.",
    no_args_is_help=True,
)


@contextmanager
def _tag_progress(quiet: bool) -> Iterator[Any]:
    """A Rich progress bar over the tags on stderr, or None when quiet / not a terminal."""
    if quiet or not sys.stderr.isatty():
        yield None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(
        TextColumn("[bold]sync"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.fields[ref]}"),
        console=err_console,
        transient=True,
    ) as bar:
        task = bar.add_task("sync", total=None, ref="listing repositories")

        def update(done: int, total: int, ref: str) -> None:
            bar.update(task, completed=done, total=total, ref=ref)

        yield update


@registry_app.command("sync")
def sync(
    registry: Annotated[str, typer.Argument(help="registry host[:port], e.g. registry.example.com")],
    namespace: Annotated[
        str, typer.Option("--namespace", "-n", help="only repositories under this prefix, e.g. base/")
    ] = "",
    register_bases: Annotated[
        bool,
        typer.Option(
            "--register-bases",
            help="register every image under the base namespace as a catalogue candidate",
        ),
    ] = False,
    base_namespace: Annotated[
        str | None,
        typer.Option(
            "--base-namespace", help="where base images live (default: config governance.base_namespace)"
        ),
    ] = None,
    insecure: Annotated[
        bool, typer.Option("--insecure", help="plain HTTP; only for registries on localhost")
    ] = False,
    platform: Annotated[
        str, typer.Option("--platform", help="os/arch or os/arch/variant to pick from an index")
    ] = DEFAULT_PLATFORM,
    page_size: Annotated[
        int | None, typer.Option("--page-size", min=1, help="entries per catalog/tags page")
    ] = None,
    fmt: TableOrJson = "table",
    quiet: Annotated[bool, typer.Option("--quiet", "-q")] = False,
) -> None:
    """Walk the registry's catalog and tags: record tag -> digest, scan only new digests.

    Exit 2 when a tag failed (the others are synced); skipped tags (signatures and other
    artifacts, a platform an index lacks) are not failures.
    """
    from keelwatch.app.registry_sync import sync_registry
    from keelwatch.governance.workflow import check_permission

    if fmt not in ("table", "json"):
        raise KeelwatchError(f"unknown format {fmt!r} (choose from table, json)")
    conf = settings()
    bases = base_namespace or conf.raw.get("governance", {}).get("base_namespace", "base/")
    who = actor() if register_bases else None
    if who is not None:
        check_permission("register", who, conf.expert_team)  # fail before walking the registry
    with opened_store() as store, _tag_progress(quiet or fmt == "json") as progress:
        report = sync_registry(
            store,
            catalogue(store),
            registry,
            namespace=namespace,
            insecure=insecure,
            platform=platform,
            register_bases=register_bases,
            base_namespace=bases,
            actor=who,
            page_size=page_size,
            progress=progress,
        )
    if fmt == "json":
        typer.echo(dump_json(report.to_dict()))
    else:
        _print_report(report)
    if report.failed:
        raise typer.Exit(2)


def _print_report(report: Any) -> None:
    summary = report.to_dict()
    interesting = [o for o in report.outcomes if o.status != "known" or o.moved or o.registered or o.message]
    if interesting:
        table = compact_table(title=f"registry {report.registry}")
        for column in ("tag", "status", "digest", "note"):
            table.add_column(column, overflow="fold")
        colours = {"scanned": "green", "known": "white", "skipped": "dim", "failed": "red"}
        for o in interesting:
            notes = []
            if o.moved:
                notes.append(f"moved from {o.previous[:19]}")
            if o.registered:
                notes.append("registered as candidate")
            if o.message:
                notes.append(o.message)
            colour = colours.get(o.status, "white")
            table.add_row(o.ref, cell(o.status, colour), (o.digest or "")[:19], "; ".join(notes))
        console.print(table)
    console.print(
        f"{summary['repositories']} repositories, {summary['tags']} tags ({summary['new_tags']} new), "
        f"{summary['new_digests']} new digests scanned, {summary['moved_tags']} moved tags, "
        f"{summary['registered']} registered, {summary['skipped']} skipped, {summary['failed']} failed"
    )


@registry_app.command("history")
def history(
    ref: Annotated[str, typer.Argument(help="registry/repository:tag")],
    fmt: TableOrJson = "table",
) -> None:
    """Which digests a tag pointed at, first and last seen (from syncs and scans)."""
    with opened_store() as store:
        records = catalogue(store).tag_history(ref)
    rows = [
        {"digest": r.digest, "first_seen": r.first_seen.isoformat(), "last_seen": r.last_seen.isoformat()}
        for r in records
    ]
    if fmt == "json":
        typer.echo(dump_json(rows))
        return
    if not rows:
        console.print(f"{ref}: never seen (run `keelwatch registry sync` or scan it)", markup=False)
        return
    table = compact_table(title=f"tag history of {ref}")
    for column in ("digest", "first seen", "last seen"):
        table.add_column(column)
    for r in rows:
        table.add_row(r["digest"], r["first_seen"][:19], r["last_seen"][:19])
    console.print(table)


def register(app: typer.Typer) -> None:
    app.add_typer(registry_app, name="registry")
