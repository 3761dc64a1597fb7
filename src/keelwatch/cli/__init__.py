"""The `keelwatch` command line: a thin shell over the core packages.

Each command group lives in its own module with a `register(app)` function, so
groups can grow independently. Exit codes: 0 success, 1 a gate failed
(`--fail-on`, a failing policy), 2 an error (printed as one line, no traceback).
"""

from __future__ import annotations

import sys

import typer

from keelwatch.errors import KeelwatchError

app = typer.Typer(
    name="keelwatch",
    help="Govern container base images and decide which containers to secure first.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _register_all() -> None:
    from keelwatch.cli import db, governance, lineage, push, registry, rescan, scan

    for module in (scan, push, db, rescan, lineage, governance, registry):
        module.register(app)


def main() -> None:
    """Console-script entry point: one-line errors, non-zero exit."""
    _register_all()
    try:
        app()
    except KeelwatchError as exc:
        typer.echo(f"error: {exc}", err=True)
        sys.exit(2)
