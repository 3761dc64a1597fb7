"""Helpers shared by the command groups: the store, the acting user, output and progress."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer

from keelwatch import config
from keelwatch.errors import KeelwatchError
from keelwatch.governance.workflow import Actor
from keelwatch.termtext import console_for

console = console_for(sys.stdout)
err_console = console_for(sys.stderr)


def settings() -> config.Settings:
    return config.load_settings()


def actor() -> Actor:
    s = settings()
    return Actor(s.actor or "", s.team or "")


@contextmanager
def opened_store() -> Iterator[Any]:
    from keelwatch.store.db import open_store

    store = open_store()
    try:
        yield store
    finally:
        store.dispose()


def catalogue(store: Any) -> Any:
    from keelwatch.app.catalogue import Catalogue

    return Catalogue(store, settings().expert_team)


def write_output(text: str, output: Path | None) -> None:
    """Print, or write to `output` safely (see keelwatch.cli.outfile: atomic, never replaces a device)."""
    if output is None:
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
        return
    from keelwatch.cli.outfile import write_text

    write_text(text, output)


@contextmanager
def table_console(output: Path | None) -> Iterator[Any]:
    """Where a table is printed: stdout, or with `-o FILE` a buffer written once, safely, at the end."""
    if output is None:
        yield console
        return
    import io

    from keelwatch.termtext import NATURAL_WIDTH, SafeConsole

    buffer = io.StringIO()
    yield SafeConsole(file=buffer, width=NATURAL_WIDTH, color_system=None)
    write_output(buffer.getvalue(), output)


def dump_json(data: Any) -> str:
    return json.dumps(data, indent=2, sort_keys=False, default=str)


@contextmanager
def layer_progress(quiet: bool) -> Iterator[Any]:
    """A Rich progress bar for layers on stderr, or None when quiet / not a terminal."""
    if quiet or not sys.stderr.isatty():
        yield None
        return
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn

    with Progress(
        TextColumn("[bold]layer {task.fields[layer]}"),
        BarColumn(),
        DownloadColumn(),
        console=err_console,
        transient=True,
    ) as bar:
        task = bar.add_task("scan", total=None, layer="-")

        def update(index: int, total: int, done: int) -> None:
            bar.update(task, completed=done, layer=f"{index + 1}/{total}")

        yield update


def format_choice(*allowed: str) -> Callable[[str], str]:
    """A `--format` callback: any case and the Syft/Trivy aliases (`cyclonedx-json`), else one error line."""

    def choose(value: str) -> str:
        from keelwatch.sbom import format_name

        name = format_name(value) or value.strip().lower()
        if name not in allowed:
            raise KeelwatchError(f"--format: unknown format {value!r} (one of {', '.join(allowed)})")
        return name

    return choose


TableOrJson = Annotated[
    str, typer.Option("--format", "-f", help="table or json", callback=format_choice("table", "json"))
]


def prepare_output(output: Path | None, quiet: bool) -> None:
    """Before the long part of a command: refuse an output we cannot write safely, warn on `-o json`."""
    if output is None:
        return
    from keelwatch.cli.outfile import check_output

    check_output(output)
    warn_output_named_like_a_format(output, quiet)


def warn_output_named_like_a_format(output: Path | None, quiet: bool) -> None:
    """`-o json` writes a file named `json`: almost always meant `-f json`, so say so."""
    from keelwatch.sbom import format_name

    if output is not None and not quiet and output.parent == Path() and format_name(output.name):
        err_console.print(
            f"[yellow]warning:[/] writing to a file named {output.name!r}; "
            f"for the {format_name(output.name)} format use -f {output.name}",
            highlight=False,
        )


def terminal_view(output: Path | None) -> dict[str, Any]:
    """Table layout for where the text goes: the terminal's width and colours, or one line per row."""
    if output is not None or not sys.stdout.isatty():
        return {"width": None, "color": False}
    import shutil

    return {"width": shutil.get_terminal_size().columns, "color": "NO_COLOR" not in os.environ}


def ignore_files_or_default(given: list[Path] | None, quiet: bool) -> list[Path]:
    """The ignore files given, else `.keelwatchignore` in the working directory (as Trivy's .trivyignore)."""
    if given:
        return list(given)
    from keelwatch.vulndb.suppress import discover_ignore_file

    found = discover_ignore_file(Path.cwd())
    if found is None:
        return []
    if not quiet:
        err_console.print(f"[yellow]note:[/] using ignore file {found.name}", highlight=False)
    return [found]
