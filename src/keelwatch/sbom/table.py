"""`scan --format table`: a Rich table of packages under a short image header."""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

from keelwatch.model import ScanResult
from keelwatch.termtext import SafeConsole, SafeTable
from keelwatch.vulndb.severity import LEVELS


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
        *_lineage_lines(result),
    ]


def _lineage_lines(result: ScanResult) -> list[str]:
    lineage = result.lineage
    if not lineage:
        return []
    chain = [f"{a['name']} (level {a['level']})" for a in lineage.get("ancestors", [])]
    lines = [f"lineage  level {lineage.get('level')}: " + " -> ".join([*chain, "this image"])]
    lines.extend(f"note     {note}" for note in lineage.get("notes", []))
    return lines


def render(result: ScanResult, *, findings: Sequence[Any] | None = None, width: int = 120) -> str:
    """Packages sorted by type, name, version; the layer column is `index (diff_id prefix)`."""
    table = SafeTable(show_edge=False, pad_edge=False, box=None, header_style="bold")
    for col in ("NAME", "VERSION", "TYPE", "LAYER"):
        table.add_column(col, overflow="fold")
    for p in sorted(result.packages, key=lambda p: (p.type, p.name.lower(), p.version)):
        layer = "-" if p.layer_index is None else f"{p.layer_index} ({_short(p.layer_diff_id)})"
        table.add_row(p.name, p.version, p.type, layer)
    buf = io.StringIO()
    console = SafeConsole(file=buf, width=width, force_terminal=False, color_system=None, highlight=False)
    for line in header(result):
        console.print(line, markup=False)
    for warning in result.warnings:
        console.print(f"warning  {warning}", markup=False)
    console.print()
    console.print(table)
    if findings is not None:
        console.print()
        _findings_table(console, result, findings)
    return buf.getvalue()


def _findings_table(console: SafeConsole, result: ScanResult, findings: Sequence[Any]) -> None:
    """Most urgent first: severity, known exploited, EPSS; suppressed ones last and marked."""
    active = [f for f in findings if not f.suppressed]
    if not findings:
        console.print("findings 0", markup=False)
        return
    counts = ", ".join(
        f"{level} {n}" for level in LEVELS if (n := sum(1 for f in active if f.severity.level == level))
    )
    console.print(f"findings {len(active)} ({counts or 'none'}), suppressed {len(findings) - len(active)}")
    table = SafeTable(show_edge=False, pad_edge=False, box=None, header_style="bold")
    for col in ("ID", "SEVERITY", "PACKAGE", "INSTALLED", "FIXED IN", "KEV", "EPSS", "FROM", "FIX"):
        table.add_column(col, overflow="fold")

    def urgency(f: Any) -> tuple[Any, ...]:
        return (
            f.suppressed,
            -f.severity.rank,
            not f.kev.flag,
            -(f.epss.score if f.epss else 0),
        )

    for f in sorted(findings, key=urgency):
        table.add_row(
            f.id + (" (suppressed)" if f.suppressed else ""),
            f.severity.level,
            f.package.name,
            f.package.version,
            ", ".join(f.fixed_versions) or "no fix yet",
            "yes" if f.kev.flag else "",
            f"{f.epss.score:.3f}" if f.epss else "",
            _origin(f),
            f.remediation.command or f.remediation.advice,
        )
    console.print(table)


def _origin(finding: Any) -> str:
    """Lineage level that brought the package in (layer index when the lineage is unknown)."""
    if finding.origin_level is not None:
        return "this image" if finding.origin == "from this image" else f"level {finding.origin_level}"
    return "-" if finding.layer_index is None else f"layer {finding.layer_index}"
