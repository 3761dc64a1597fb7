"""`keelwatch scan REF`: catalogue an image, match it against the stored vulnerability data,
and print (or write) it as a table, JSON, an SBOM or SARIF.

The scan is kept in the store (so `rescan` can re-match it when data changes, and lineage
knows the image) unless `--no-store`. Errors from resolving or reading the image are
KeelwatchErrors: keelwatch.cli.main prints them as one line and exits 2. `--fail-on`
exits 1 when an unsuppressed finding is at or above that severity (a CI gate). Output to
--output is written atomically, so a failed scan never leaves a half-written file behind.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

import typer

SEVERITIES = ("negligible", "low", "medium", "high", "critical")


class Format(StrEnum):
    table = "table"
    json = "json"
    cyclonedx = "cyclonedx"
    spdx = "spdx"
    sarif = "sarif"


def scan(
    ref: str = typer.Argument(
        ..., metavar="REF", help="oci:PATH[:TAG], docker-archive:PATH, dir:PATH or a registry reference"
    ),
    fmt: Format = typer.Option(Format.table, "--format", "-f", help="output format"),
    output: Path | None = typer.Option(None, "--output", "-o", help="write to FILE instead of stdout"),
    platform: str = typer.Option(
        "linux/amd64", "--platform", help="platform to pick from a multi-arch index"
    ),
    insecure: bool = typer.Option(
        False, "--insecure", help="allow plain-HTTP registries on loopback addresses"
    ),
    no_cache: bool = typer.Option(False, "--no-cache", help="do not use or fill the layer catalogue cache"),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="no progress bar"),
    no_vulns: bool = typer.Option(False, "--no-vulns", help="packages only: skip vulnerability matching"),
    no_store: bool = typer.Option(False, "--no-store", help="do not keep this scan in the store"),
    severity: str | None = typer.Option(None, "--severity", help="show findings at or above this severity"),
    fail_on: str | None = typer.Option(
        None, "--fail-on", help="exit 1 on a finding at or above this severity"
    ),
    vex: list[Path] | None = typer.Option(None, "--vex", help="OpenVEX document (repeatable)"),
    ignore_file: list[Path] | None = typer.Option(
        None, "--ignore-file", help="ignore file (YAML; repeatable)"
    ),
) -> None:
    """Scan an image: its packages (deb, apk, rpm, python, npm) and their vulnerabilities."""
    from keelwatch.cli.common import err_console, layer_progress, write_output
    from keelwatch.cli.outfile import check_output
    from keelwatch.errors import KeelwatchError
    from keelwatch.sbom import render

    for name, value in (("--severity", severity), ("--fail-on", fail_on)):
        if value is not None and value not in SEVERITIES:
            raise KeelwatchError(f"{name}: unknown severity {value!r} (one of {', '.join(SEVERITIES)})")
    if output is not None:
        check_output(output)
    if no_vulns and fmt is Format.sarif:
        raise KeelwatchError("--format sarif reports findings: it cannot be combined with --no-vulns")
    from keelwatch.app.findings import load_suppressor
    from keelwatch.app.image_scan import scan_image

    suppressor = load_suppressor(vex or [], ignore_file or [])
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
            err_console.print(f"[yellow]note:[/] {line}", highlight=False)
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
    write_output(render(result, fmt.value, findings=shown), output)
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
