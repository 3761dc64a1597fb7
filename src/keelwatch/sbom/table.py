"""`scan --format table`: a Rich table of packages under a short image header."""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

from rich.console import Console
from rich.table import Table

from keelwatch.model import ScanResult


def _short(digest: str | None) -> str:
    return digest[:19] if digest else "-"


def header(result: ScanResult) -> list[str]:
    img = result.image
    os_name = img.os.pretty_name or " ".join(p for p in (img.os.id, img.os.version_id) if p) or "unknown"
    return [
        f"image    {img.ref}",
        f"digest   {img.digest or '-'}",
        f"platform {img.platform or '-'}   os {os_name}   layers {len(img.layers)}",
        f"packages {len(result.packages)}",
    ]


def render(result: ScanResult, *, findings: Sequence[Any] | None = None, width: int = 120) -> str:
    """Packages sorted by type, name, version; the layer column is `index (diff_id prefix)`."""
    table = Table(show_edge=False, pad_edge=False, box=None, header_style="bold")
    for col in ("NAME", "VERSION", "TYPE", "LAYER"):
        table.add_column(col, overflow="fold")
    for p in sorted(result.packages, key=lambda p: (p.type, p.name.lower(), p.version)):
        layer = "-" if p.layer_index is None else f"{p.layer_index} ({_short(p.layer_diff_id)})"
        table.add_row(p.name, p.version, p.type, layer)
    buf = io.StringIO()
    console = Console(file=buf, width=width, force_terminal=False, color_system=None, highlight=False)
    for line in header(result):
        console.print(line, markup=False)
    for warning in result.warnings:
        console.print(f"warning  {warning}", markup=False)
    console.print()
    console.print(table)
    return buf.getvalue()
