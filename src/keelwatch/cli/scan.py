"""`keelwatch scan REF`: catalogue an image, match it against the stored vulnerability data,
and print (or write) it as a table, JSON, an SBOM or SARIF.

The scan is kept in the store (so `rescan` can re-match it when data changes, and lineage
knows the image) unless `--no-store`. Errors from resolving or reading the image are
KeelwatchErrors: keelwatch.cli.main prints them as one line and exits 2. `--fail-on`
is the CI gate of keelwatch.app.gate: exit 1 on an unsuppressed finding at or above that
severity, 3 when the data cannot judge the image (none, stale, an uncovered ecosystem). Output to
--output is written atomically, so a failed scan never leaves a half-written file behind.
"""

from __future__ import annotations

from pathlib import Path

import typer

from keelwatch.cli.common import format_choice
from keelwatch.cli.gateopts import AllowIncomplete, AllowStale, AllowUncovered, FailOn, MaxAge, UnknownAs

FORMATS = ("table", "json", "cyclonedx", "spdx", "sarif")


def scan(
    ref: str = typer.Argument(
        ...,
        metavar="REF",
        help="oci:PATH[:TAG], oci-archive:PATH, docker-archive:PATH, dir:PATH, a local PATH or registry ref",
    ),
    fmt: str = typer.Option(
        "table",
        "--format",
        "-f",
        callback=format_choice(*FORMATS),
        help="table, json, cyclonedx (cyclonedx-json), spdx (spdx-json) or sarif; any case",
    ),
    packages: bool = typer.Option(False, "--packages", help="table: list the packages after the findings"),
    output: Path | None = typer.Option(None, "--output", "-o", help="write to FILE instead of stdout"),
    platform: str = typer.Option(
        "linux/amd64", "--platform", help="platform to pick from a multi-arch index"
    ),
    insecure: bool = typer.Option(
        False, "--insecure", help="allow plain-HTTP registries on loopback addresses"
    ),
    no_cache: bool = typer.Option(False, "--no-cache", help="do not use or fill the layer catalogue cache"),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="no progress bar, no notes"),
    no_vulns: bool = typer.Option(False, "--no-vulns", help="packages only: skip vulnerability matching"),
    no_store: bool = typer.Option(False, "--no-store", help="do not keep this scan in the store"),
    severity: str | None = typer.Option(
        None,
        "--severity",
        help="show findings at or above this severity; a comma list (any case) shows exactly those "
        "levels; `unknown` shows the unscored ones",
    ),
    fail_on: FailOn = None,
    unknown_as: UnknownAs = "high",
    max_age: MaxAge = None,
    allow_stale: AllowStale = False,
    allow_uncovered: AllowUncovered = False,
    allow_incomplete: AllowIncomplete = False,
    vex: list[Path] | None = typer.Option(None, "--vex", help="OpenVEX document (repeatable)"),
    ignore_file: list[Path] | None = typer.Option(
        None,
        "--ignore-file",
        help="ignore file: YAML or one ID per line (repeatable); default ./.keelwatchignore if present",
    ),
) -> None:
    """Scan an image: its packages (deb, apk, rpm, python, npm) and their vulnerabilities."""
    from keelwatch.cli import gateopts
    from keelwatch.cli.common import (
        err_console,
        ignore_files_or_default,
        layer_progress,
        prepare_output,
        terminal_view,
        write_output,
    )
    from keelwatch.errors import KeelwatchError
    from keelwatch.sbom import render
    from keelwatch.termtext import plain

    gate = gateopts.gate_options(fail_on, unknown_as, allow_stale, allow_uncovered, allow_incomplete)
    shown_levels = gateopts.levels("--severity", severity) if severity is not None else None
    prepare_output(output, quiet)
    if no_vulns and fmt == "sarif":
        raise KeelwatchError("--format sarif reports findings: it cannot be combined with --no-vulns")
    if no_vulns and fail_on is not None:
        raise KeelwatchError("--fail-on judges findings: it cannot be combined with --no-vulns")
    from keelwatch.app.findings import load_suppressor, with_severities
    from keelwatch.app.gate import judge
    from keelwatch.app.image_scan import scan_image

    suppressor = load_suppressor(vex or [], ignore_files_or_default(ignore_file, quiet))
    with layer_progress(quiet) as progress:
        scanned = scan_image(
            ref,
            platform=platform,
            insecure=insecure,
            use_cache=not no_cache,
            progress=progress,
            keep=not no_store,
            match=not no_vulns,
            suppressor=suppressor,
            max_age_days=gateopts.max_age(max_age),
        )
    found = scanned.findings
    view = {"packages": packages, **terminal_view(output)} if fmt == "table" else {}
    if found is None:
        write_output(render(scanned.result, fmt, findings=None, **view), output)
        return
    # gaps in the data are warnings (-q never hides them); with a gate, its verdict says them
    gaps = found.coverage_notes if fail_on is None else []
    for line in found.messages + gaps:
        warning = line in found.warnings or line in gaps
        if warning or not quiet:  # -q silences notes, never warnings
            kind = "warning" if warning else "note"
            err_console.print(f"[yellow]{kind}:[/] {plain(line)}", highlight=False, soft_wrap=True)
    shown = found.findings if shown_levels is None else with_severities(found.findings, shown_levels)
    write_output(render(scanned.result, fmt, findings=shown, **view), output)
    if fail_on is None:
        return
    gateopts.finish(judge(found, gate))


def register(app: typer.Typer) -> None:
    """Add this module's commands to the main app."""
    app.command("scan")(scan)
