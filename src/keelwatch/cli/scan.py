"""`keelwatch scan REF`: catalogue an image and print (or write) it as a table, JSON or an SBOM.

Errors from resolving or reading the image are KeelwatchErrors: keelwatch.cli.main prints
them as one line and exits 2. Output to --output is written atomically, so a failed scan
never leaves a half-written file behind.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

import typer


class Format(StrEnum):
    table = "table"
    json = "json"
    cyclonedx = "cyclonedx"
    spdx = "spdx"


def scan(
    ref: str = typer.Argument(
        ..., metavar="REF", help="oci:PATH[:TAG], docker-archive:PATH, dir:PATH or a registry reference"
    ),
    fmt: Format = typer.Option(Format.table, "--format", "-f", help="output format"),
    output: Path | None = typer.Option(None, "--output", "-o", help="write to FILE instead of stdout"),
    platform: str = typer.Option(
        "linux/amd64", "--platform", help="platform to pick from a multi-arch index"
    ),
    insecure: bool = typer.Option(False, "--insecure", help="allow plain-HTTP registries"),
    no_cache: bool = typer.Option(False, "--no-cache", help="do not use or fill the layer catalogue cache"),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="no progress bar"),
) -> None:
    """Scan an image for installed packages (deb, apk, rpm, python, npm)."""
    from keelwatch.cli.common import layer_progress, write_output
    from keelwatch.errors import KeelwatchError
    from keelwatch.sbom import render
    from keelwatch.scan import scan_reference

    if output is not None and not output.resolve().parent.is_dir():
        raise KeelwatchError(f"--output: directory {output.resolve().parent} does not exist")
    with layer_progress(quiet) as progress:
        result = scan_reference(
            ref, platform=platform, insecure=insecure, use_cache=not no_cache, progress=progress
        )
    write_output(render(result, fmt.value), output)


def register(app: typer.Typer) -> None:
    """Add this module's commands to the main app."""
    app.command("scan")(scan)
