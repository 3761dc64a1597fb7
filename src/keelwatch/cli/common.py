"""Helpers shared by the command groups: the store, the acting user, output and progress."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from keelwatch import config
from keelwatch.governance.workflow import Actor
from keelwatch.termtext import SafeConsole

console = SafeConsole()
err_console = SafeConsole(stderr=True)


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
