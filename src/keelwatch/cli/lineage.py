"""`keelwatch lineage`, `keelwatch check` and `keelwatch diff`: base-image governance per image."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from keelwatch.cli import gateopts
from keelwatch.cli.common import (
    catalogue,
    dump_json,
    format_choice,
    ignore_files_or_default,
    layer_progress,
    opened_store,
    prepare_output,
    table_console,
    write_output,
)
from keelwatch.termtext import cell, compact_table

Platform = Annotated[str, typer.Option("--platform", help="os/arch or os/arch/variant to pick from an index")]
Insecure = Annotated[bool, typer.Option("--insecure", help="allow plain HTTP to a registry on localhost")]
Format = Annotated[str, typer.Option("--format", "-f", help="table or json")]
Output = Annotated[Path | None, typer.Option("--output", "-o", help="write to FILE instead of stdout")]


def lineage(
    ref: str,
    platform: Platform = "linux/amd64",
    insecure: Insecure = False,
    fmt: Format = "table",
    dockerfile: Annotated[
        Path | None, typer.Option(help="compare with this Dockerfile's declared base")
    ] = None,
    build_arg: Annotated[list[str] | None, typer.Option(help="KEY=VALUE for the Dockerfile's ARGs")] = None,
    output: Output = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q")] = False,
) -> None:
    """Show an image's base-image lineage: parent, grandparent… with the level of every layer."""
    from keelwatch.app.lineage import FleetLineage
    from keelwatch.app.scanning import scan_and_store
    from keelwatch.lineage.dockerfile import parse_dockerfile

    fmt = format_choice("table", "json")(fmt)
    prepare_output(output, quiet)
    with opened_store() as store, layer_progress(quiet) as progress:
        cat = catalogue(store)
        stored = scan_and_store(store, ref, platform=platform, insecure=insecure, progress=progress)
        result = FleetLineage(store, cat).resolve(stored.result)
    declared = None
    if dockerfile is not None:
        from keelwatch.userfile import read_text

        text = read_text(dockerfile, what="Dockerfile", limit=1024 * 1024)
        args = dict(a.split("=", 1) for a in (build_arg or []) if "=" in a)
        declared = parse_dockerfile(text, args, str(dockerfile)).image
        parent = result.parent
        detected = parent.name if parent else None
        if declared != detected and not (declared and detected and detected.endswith(declared)):
            result.notes.append(
                f"Dockerfile declares FROM {declared or 'scratch'}, detected base is {detected}"
            )
    if fmt == "json":
        data = result.to_dict()
        data["declared_base"] = declared
        write_output(dump_json(data), output)
        return
    table = compact_table(title=f"lineage of {result.image} (level {result.level})")
    rows = [
        [
            str(a.level),
            a.name,
            (a.key or "")[:19],
            a.source,
            str(a.layer_count or "?"),
            f"outdated: tag now {a.current_digest}" if a.outdated else ("" if a.scanned else "not scanned"),
        ]
        for a in result.ancestors
    ]
    digest = (stored.result.image.digest or "")[:19]
    rows.append([str(result.level), result.image, digest, "this image", str(len(result.layer_levels)), ""])
    notes = any(row[-1] for row in rows)  # no empty column at 80 columns: names need the room
    for column in ("level", "image", "digest", "source", "layers", "note")[: 6 if notes else 5]:
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(*(row if notes else row[:5]))
    with table_console(output) as out:
        out.print(table)
        if result.aliases:
            out.print(cell("also known as:"), cell(", ".join(result.aliases)))
        for note in result.notes:
            out.print(cell("note:", "yellow"), cell(note))


def check(
    ref: str,
    policy: Annotated[Path, typer.Option("--policy", "-p", help="policy file (YAML)")],
    platform: Platform = "linux/amd64",
    insecure: Insecure = False,
    fmt: Annotated[str, typer.Option("--format", "-f", help="table, json or sarif")] = "table",
    output: Output = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q")] = False,
    vex: Annotated[list[Path] | None, typer.Option("--vex", help="OpenVEX document (repeatable)")] = None,
    ignore_file: Annotated[
        list[Path] | None, typer.Option("--ignore-file", help="ignore file (YAML; repeatable)")
    ] = None,
    unknown_as: gateopts.UnknownAs = "high",
    max_age: gateopts.MaxAge = None,
    allow_stale: gateopts.AllowStale = False,
    allow_uncovered: gateopts.AllowUncovered = False,
    allow_incomplete: gateopts.AllowIncomplete = False,
) -> None:
    """Check an image against a policy; exit 1 on any failing rule, 3 when the data cannot judge it."""
    from keelwatch.app.checks import check_image
    from keelwatch.app.findings import load_suppressor
    from keelwatch.policy.loader import load_policy
    from keelwatch.policy.sarif import report_to_sarif

    fmt = format_choice("table", "json", "sarif")(fmt)
    prepare_output(output, quiet)
    gate = gateopts.gate_options(None, unknown_as, allow_stale, allow_uncovered, allow_incomplete)
    loaded = load_policy(policy)
    suppressor = load_suppressor(vex or [], ignore_files_or_default(ignore_file, quiet))
    with opened_store() as store, layer_progress(quiet) as progress:
        outcome = check_image(
            store,
            ref,
            loaded,
            platform=platform,
            insecure=insecure,
            progress=progress,
            suppressor=suppressor,
            gate=gate,
            max_age_days=gateopts.max_age(max_age),
        )
    report = outcome.report
    if fmt == "json":
        data = {**report.to_dict(), "vulnerability_data": outcome.findings.coverage.to_dict()}
        write_output(dump_json(data), output)
    elif fmt == "sarif":
        write_output(dump_json(report_to_sarif(report, str(policy))), output)
    else:
        with table_console(output) as out:
            _print_report(report, out)
    gateopts.finish(outcome.verdict)


def _print_report(report, out) -> None:  # type: ignore[no-untyped-def]
    colours = {"pass": "green", "warn": "yellow", "fail": "red", "skip": "dim"}
    table = compact_table(
        title=f"policy {report.policy} v{report.version} on {report.image}: {report.status.upper()}"
    )
    for column in ("rule", "status", "message"):
        table.add_column(column, overflow="fold")
    for r in report.results:
        colour = colours.get(r.status, "white")
        table.add_row(r.rule, cell(r.status, colour), r.message)
    out.print(table)


def diff(
    a: str,
    b: str,
    platform: Platform = "linux/amd64",
    insecure: Insecure = False,
    fmt: Format = "table",
    output: Output = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q")] = False,
) -> None:
    """Compare two images: packages, findings, layers and metadata."""
    from keelwatch.app.findings import findings_of
    from keelwatch.app.lineage import FleetLineage
    from keelwatch.app.scanning import scan_and_store
    from keelwatch.compare.diff import diff_images

    fmt = format_choice("table", "json")(fmt)
    prepare_output(output, quiet)
    with opened_store() as store, layer_progress(quiet) as progress:
        cat = catalogue(store)
        sa = scan_and_store(store, a, platform=platform, insecure=insecure, progress=progress).result
        sb = scan_and_store(store, b, platform=platform, insecure=insecure, progress=progress).result
        fleet = FleetLineage(store, cat)
        result = diff_images(
            sa, sb, findings_of(store, sa, fleet=fleet).active, findings_of(store, sb, fleet=fleet).active
        )
    if fmt == "json":
        write_output(dump_json(result.to_dict()), output)
        return
    with table_console(output) as out:
        _print_diff(a, b, result, out)


def _print_diff(a: str, b: str, result, out) -> None:  # type: ignore[no-untyped-def]
    """Names on their own lines (paths are long), then one table per kind of change."""
    out.print(cell(f"A  {a}"))
    out.print(cell(f"B  {b}"))
    packages = compact_table(title="packages")
    for column in ("change", "type", "name", "before", "after"):
        packages.add_column(column, overflow="fold")
    for p in result.added:
        packages.add_row(cell("added", "green"), p.type, p.name, "", p.version)
    for p in result.removed:
        packages.add_row(cell("removed", "red"), p.type, p.name, p.version, "")
    for c in result.changed:
        packages.add_row(cell("changed", "yellow"), c.type, c.name, c.before, c.after)
    if packages.row_count:
        out.print(packages)
    findings = compact_table(title="findings")
    for column in ("change", "id", "severity", "package", "version"):
        findings.add_column(column, overflow="fold")
    for change, colour, found in (
        ("fixed", "green", result.findings_fixed),
        ("new", "red", result.findings_introduced),
    ):
        for f in found:
            findings.add_row(
                cell(change, colour), f.id, f.severity.rank.label, f.package.name, f.package.version
            )
    if findings.row_count:
        out.print(findings)
    out.print(
        f"packages added {len(result.added)}, removed {len(result.removed)}, changed {len(result.changed)}; "
        f"findings fixed {len(result.findings_fixed)}, new {len(result.findings_introduced)}; "
        f"layers shared {result.shared_layers}, only in A {len(result.layers_only_a)}, "
        f"only in B {len(result.layers_only_b)}"
    )
    if result.metadata:
        metadata = compact_table(title="metadata")
        for column in ("key", "A", "B"):
            metadata.add_column(column, overflow="fold")
        for key, (before, after) in result.metadata.items():
            short = key.replace("org.opencontainers.image.", "")
            metadata.add_row(
                short, "" if before is None else str(before), "" if after is None else str(after)
            )
        out.print(metadata)


def register(app: typer.Typer) -> None:
    app.command("lineage")(lineage)
    app.command("check")(check)
    app.command("diff")(diff)
