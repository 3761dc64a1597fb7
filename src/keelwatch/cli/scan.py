"""`keelwatch scan REF`: catalogue an image, match it against the stored vulnerability data,
and print (or write) it as a table, JSON, an SBOM or SARIF.

The scan is kept in the store (so `rescan` can re-match it when data changes, and lineage
knows the image) unless `--no-store`. Errors from resolving or reading the image are
KeelwatchErrors: keelwatch.cli.main prints them as one line and exits 2. `--fail-on`
exits 1 when an unsuppressed finding is at or above that severity (a CI gate). Output to
--output is written atomically, so a failed scan never leaves a half-written file behind.
"""

from __future__ import annotations

from pathlib import Path

import typer

from keelwatch.cli.common import format_choice

SEVERITIES = ("negligible", "low", "medium", "high", "critical")
FORMATS = ("table", "json", "cyclonedx", "spdx", "sarif")


def scan(
    ref: str = typer.Argument(
        ..., metavar="REF", help="oci:PATH[:TAG], docker-archive:PATH, dir:PATH or a registry reference"
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
    severity: str | None = typer.Option(None, "--severity", help="show findings at or above this severity"),
    fail_on: str | None = typer.Option(
        None, "--fail-on", help="exit 1 on a finding at or above this severity"
    ),
    vex: list[Path] | None = typer.Option(None, "--vex", help="OpenVEX document (repeatable)"),
    ignore_file: list[Path] | None = typer.Option(
        None,
        "--ignore-file",
        help="ignore file: YAML or one ID per line (repeatable); default ./.keelwatchignore if present",
    ),
) -> None:
    """Scan an image: its packages (deb, apk, rpm, python, npm) and their vulnerabilities."""
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

    for name, value in (("--severity", severity), ("--fail-on", fail_on)):
        if value is not None and value not in SEVERITIES:
            raise KeelwatchError(f"{name}: unknown severity {value!r} (one of {', '.join(SEVERITIES)})")
    prepare_output(output, quiet)
    if no_vulns and fmt == "sarif":
        raise KeelwatchError("--format sarif reports findings: it cannot be combined with --no-vulns")
    from keelwatch.app.findings import load_suppressor
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
        )
    findings = None
    if scanned.findings is not None:
        for line in scanned.findings.messages:
            warning = line in scanned.findings.warnings
            if warning or not quiet:  # -q silences notes, never warnings
                label = "warning" if warning else "note"
                err_console.print(f"[yellow]{label}:[/] {plain(line)}", highlight=False)
        findings = scanned.findings.findings
    result = scanned.result
    shown = findings
    if findings is not None and severity is not None:
        floor = SEVERITIES.index(severity)
        shown = [
            f
            for f in findings
            if f.severity.level in SEVERITIES and SEVERITIES.index(f.severity.level) >= floor
        ]
    view = {"packages": packages, **terminal_view(output)} if fmt == "table" else {}
    write_output(render(result, fmt, findings=shown, **view), output)
    if fail_on is not None and findings:
        floor = SEVERITIES.index(fail_on)
        gate = [
            f
            for f in findings
            if not f.suppressed
            and f.severity.level in SEVERITIES
            and SEVERITIES.index(f.severity.level) >= floor
        ]
        if gate:
            err_console.print(f"{len(gate)} finding(s) at or above {fail_on}: failing (--fail-on {fail_on})")
            raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    """Add this module's commands to the main app."""
    app.command("scan")(scan)
