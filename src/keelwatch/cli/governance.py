"""`keelwatch base …`: the catalogue of approved base images and its workflow."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from keelwatch.cli import gateopts
from keelwatch.cli.common import (
    TableOrJson,
    actor,
    catalogue,
    console,
    dump_json,
    layer_progress,
    opened_store,
    write_output,
)
from keelwatch.errors import KeelwatchError
from keelwatch.termtext import compact_table, plain

base_app = typer.Typer(
    help="The catalogue of base images: register, describe, approve, audit.", no_args_is_help=True
)

Reason = Annotated[str, typer.Option("--reason", "-r", help="why (kept in the audit log)")]
Format = TableOrJson
WIDE = 140  # from this width on, tables add the columns that do not fit 80
Insecure = Annotated[bool, typer.Option("--insecure", help="allow plain HTTP to a registry on localhost")]
Platform = Annotated[str, typer.Option("--platform")]


def _entry_dict(e: Any) -> dict[str, Any]:
    return {
        "ref": e.ref,
        "digest": e.digest,
        "state": e.state,
        "os": f"{e.os_id} {e.os_version}".strip(),
        "maintainer": e.maintainer,
        "owning_team": e.owning_team,
        "support_status": e.support_status,
        "eol_date": e.eol_date.isoformat() if e.eol_date else None,
        "version": e.version,
        "source": e.source,
        "revision": e.revision,
        "vendor": e.vendor,
        "created": e.created,
        "registered_at": e.registered_at.isoformat() if e.registered_at else None,
        "notes": e.notes,
    }


@base_app.command("add")
def add(
    refs: Annotated[list[str], typer.Argument(help="image references (registry refs or oci: layouts)")],
    maintainer: Annotated[str | None, typer.Option()] = None,
    owning_team: Annotated[str | None, typer.Option("--owning-team")] = None,
    platform: Platform = "linux/amd64",
    insecure: Insecure = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q")] = False,
) -> None:
    """Register base images as candidates (scanned and stored; metadata read from annotations/labels)."""
    from keelwatch.app.scanning import scan_and_store

    who = actor()
    fields = {k: v for k, v in {"maintainer": maintainer, "owning_team": owning_team}.items() if v}
    lines: list[str] = []
    with opened_store() as store, layer_progress(quiet) as progress:
        cat = catalogue(store)
        for ref in refs:
            stored = scan_and_store(store, ref, platform=platform, insecure=insecure, progress=progress)
            entry, created = cat.register(stored.result, ref, who, fields, stored.scan_id)
            state = "registered as candidate" if created else f"already in the catalogue ({entry.state})"
            lines.append(f"{ref} {entry.digest}: {state}")
    for line in lines:  # after the progress bar is gone: a live bar on stderr would garble stdout
        console.print(line, markup=False)


@base_app.command("list")
def list_entries(
    state: Annotated[str | None, typer.Option(help="only this state")] = None,
    fmt: Format = "table",
) -> None:
    """List the catalogue."""
    with opened_store() as store:
        entries = catalogue(store).list(state)
    if fmt == "json":
        write_output(dump_json([_entry_dict(e) for e in entries]), None)
        return
    wide = console.width >= WIDE  # at 80 columns: what tells the entries apart; the rest with -f json
    headers = ["REF", "STATE", "OS", "VERSION", "TEAM", "DIGEST"]
    table = compact_table(title="base-image catalogue")
    for column in headers + (["MAINTAINER", "SOURCE@REVISION"] if wide else []):
        table.add_column(column, overflow="fold")
    for e in entries:
        row = [e.ref, e.state, f"{e.os_id} {e.os_version}", e.version, e.owning_team, _short(e.digest)]
        if wide:
            row += [e.maintainer, f"{e.source}@{e.revision}" if e.source else ""]
        table.add_row(*row)
    console.print(table)


def _short(digest: str) -> str:
    return digest.split(":", 1)[-1][:12]


@base_app.command("show")
def show(ref: str, fmt: Format = "json") -> None:
    """Everything the catalogue knows of one base image."""
    with opened_store() as store:
        entry = catalogue(store).require(ref)
    write_output(dump_json(_entry_dict(entry)), None)


@base_app.command("edit")
def edit(
    ref: str,
    maintainer: Annotated[str | None, typer.Option()] = None,
    owning_team: Annotated[str | None, typer.Option("--owning-team")] = None,
    support_status: Annotated[str | None, typer.Option("--support-status")] = None,
    eol_date: Annotated[str | None, typer.Option("--eol-date", help="YYYY-MM-DD")] = None,
    notes: Annotated[str | None, typer.Option()] = None,
    reason: Reason = "",
) -> None:
    """Edit maintainer, owning team, support status, end-of-life date or notes."""
    fields = {
        k: v
        for k, v in {
            "maintainer": maintainer,
            "owning_team": owning_team,
            "support_status": support_status,
            "eol_date": eol_date,
            "notes": notes,
        }.items()
        if v is not None
    }
    if not fields:
        raise KeelwatchError(
            "nothing to edit: give at least one of --maintainer, --owning-team, --support-status, "
            "--eol-date, --notes"
        )
    with opened_store() as store:
        entry = catalogue(store).edit(ref, actor(), fields, reason)
    console.print(f"{entry.ref} {entry.digest}: updated {', '.join(fields)}", markup=False)


def _transition(action: str):  # type: ignore[no-untyped-def]
    def command(
        ref: str,
        reason: Reason = "",
        policy: Annotated[Path | None, typer.Option("--policy", "-p", help="check this policy first")] = None,
        insecure: Insecure = False,
        platform: Platform = "linux/amd64",
        unknown_as: gateopts.UnknownAs = "high",
        allow_stale: gateopts.AllowStale = False,
        allow_uncovered: gateopts.AllowUncovered = False,
        allow_incomplete: gateopts.AllowIncomplete = False,
    ) -> None:
        from keelwatch.app.approval import transition

        gate = gateopts.gate_options(None, unknown_as, allow_stale, allow_uncovered, allow_incomplete)
        with opened_store() as store:
            done = transition(
                store,
                ref,
                action,
                actor(),
                reason,
                policy=policy,
                insecure=insecure,
                platform=platform,
                gate=gate,
            )
        gateopts.finish_warnings(done.warnings)
        console.print(f"{done.entry.ref} {done.entry.digest}: {done.entry.state}", markup=False)

    command.__doc__ = f"{action.capitalize()} a base image (recorded in the audit log)."
    return command


for _action in ("approve", "reject", "deprecate", "revoke", "resubmit"):
    base_app.command(_action)(_transition(_action))


@base_app.command("audit")
def audit(ref: Annotated[str | None, typer.Argument()] = None, fmt: Format = "table") -> None:
    """The append-only audit log (of one image, or all)."""
    with opened_store() as store:
        events = catalogue(store).audit(ref)
    rows = [
        {
            "at": e.at.isoformat(),
            "actor": e.actor,
            "team": e.team,
            "action": e.action,
            "ref": e.ref,
            "digest": e.subject,
            "from": e.from_state,
            "to": e.to_state,
            "reason": e.reason,
            "details": e.details,
        }
        for e in events
    ]
    if fmt == "json":
        write_output(dump_json(rows), None)
        return
    wide = console.width >= WIDE
    table = compact_table(title="audit log")
    for column in ["AT", "ACTOR", "ACTION", "REF", "STATE", "REASON"] + (["TEAM"] if wide else []):
        table.add_column(column, overflow="fold")
    for r in rows:
        moved = f"{r['from']} -> {r['to']}" if r["from"] else r["to"]
        row = [r["at"][:16].replace("T", " "), r["actor"], r["action"], r["ref"], moved, r["reason"]]
        table.add_row(*row, *([r["team"]] if wide else []))
    console.print(table)


@base_app.command("similar")
def similar(
    threshold: Annotated[float, typer.Option(help="minimum similarity score 0..1")] = 0.85,
    fmt: Format = "table",
) -> None:
    """Near-duplicate base images in the catalogue: merge candidates, with their differences."""
    from keelwatch.app.similar import similar_bases

    with opened_store() as store:
        pairs = similar_bases(store, catalogue(store), threshold)
    if fmt == "json":
        write_output(dump_json([p.to_dict() for p in pairs]), None)
        return
    if not pairs:
        console.print(f"no near-duplicates at score >= {threshold}")
    for p in pairs:
        console.print(
            f"[bold]{plain(p.a)}[/] ~ [bold]{plain(p.b)}[/]: score {p.score:.2f} "
            f"(packages {p.package_similarity:.2f}, "
            f"versions {p.version_similarity:.2f}, names {p.name_similarity:.2f})"
        )
        if p.only_a:
            console.print(f"  only in {p.a}: {', '.join(p.only_a)}", markup=False)
        if p.only_b:
            console.print(f"  only in {p.b}: {', '.join(p.only_b)}", markup=False)


@base_app.command("advise")
def advise(
    ref: str,
    platform: Platform = "linux/amd64",
    insecure: Insecure = False,
    fmt: Format = "table",
    quiet: Annotated[bool, typer.Option("--quiet", "-q")] = False,
) -> None:
    """Approved bases this image could move to, ranked by the inherited findings they would remove."""
    from keelwatch.app.advice import advise_image

    with opened_store() as store, layer_progress(quiet) as progress:
        advice = advise_image(store, ref, platform=platform, insecure=insecure, progress=progress)
    if fmt == "json":
        write_output(dump_json([a.to_dict() for a in advice]), None)
        return
    if not advice:
        console.print("no approved base of the same OS family would remove any inherited finding")
    for a in advice:
        console.print(
            f"[bold]{plain(a.from_line)}[/]  fixes {len(a.fixes)} inherited finding(s), introduces "
            f"{len(a.introduces)}"
        )
        if a.fixes:
            console.print("  fixes: " + ", ".join(sorted({f.id for f in a.fixes})[:10]), markup=False)


def register(app: typer.Typer) -> None:
    app.add_typer(base_app, name="base")
