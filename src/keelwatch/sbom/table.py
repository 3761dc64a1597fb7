"""`scan --format table`: findings first (most urgent on top), packages on request, under a short header.

As Trivy and Grype users expect: what to fix comes first, severity and KEV in colour on a
terminal, cells folded to the terminal's width, and no wrapping at all when piped.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from typing import Any

from keelwatch.model import ScanResult
from keelwatch.termtext import NATURAL_WIDTH, SafeConsole, SafeTable, cell, compact_table
from keelwatch.vulndb.severity import LEVELS, Level


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
        *_data_lines(result),
    ]


def _data_lines(result: ScanResult) -> list[str]:
    """The data the findings come from and its coverage: "findings 0" means nothing without it."""
    data = result.vulnerability_data
    if data is None:
        return []
    feeds = [
        f"{f['feed']} ({(f.get('snapshot') or '?')[:10]}, {f.get('age_days', '?')} days old)"
        for f in data.get("feeds", [])
    ]
    coverage = [f"{e['ecosystem']} {e['status']}" for e in data.get("ecosystems", [])]
    return [
        f"data     {', '.join(feeds) or 'none loaded'}",
        f"coverage {', '.join(coverage) or '-'} (max age {data.get('max_age_days')} days)",
    ]


def _lineage_lines(result: ScanResult) -> list[str]:
    lineage = result.lineage
    if not lineage:
        return []
    chain = [f"{a['name']} (level {a['level']})" for a in lineage.get("ancestors", [])]
    lines = [f"lineage  level {lineage.get('level')}: " + " -> ".join([*chain, "this image"])]
    lines.extend(f"note     {note}" for note in lineage.get("notes", []))
    return lines


WIDE = 120  # from this terminal width on, the findings table shows the upgrade command
SEVERITY_STYLES = {Level.CRITICAL: "bold red", Level.HIGH: "red", Level.MEDIUM: "yellow", Level.LOW: "cyan"}


def render(
    result: ScanResult,
    *,
    findings: Sequence[Any] | None = None,
    packages: bool | None = None,
    width: int | None = None,
    color: bool = False,
) -> str:
    """Findings first (most urgent on top), then packages when asked for or when nothing was matched.

    `width` is the terminal's (cells fold to fit); None when piped or written to a file, so
    one-line results stay one line. `color` styles severity and KEV (a terminal only).
    """
    buf = io.StringIO()
    console = SafeConsole(
        file=buf,
        width=width or NATURAL_WIDTH,
        force_terminal=color,
        color_system="standard" if color else None,
        highlight=False,
        legacy_windows=False,
    )
    console.print(_header_grid([*header(result), *(f"warning  {w}" for w in result.warnings)]))
    if findings is not None:
        console.print()
        _findings_table(console, result, findings)
    if packages or (packages is None and findings is None):
        console.print()
        console.print(_packages_table(result))
    elif findings is not None and result.packages:
        console.print(f"({len(result.packages)} packages: add --packages to list them)", markup=False)
    return "\n".join(line.rstrip() for line in buf.getvalue().split("\n"))


def _header_grid(lines: list[str]) -> SafeTable:
    """`label  value` lines as two columns, so a long value folds under itself, not under the label."""
    grid = SafeTable.grid(padding=(0, 1))
    grid.add_column(no_wrap=True)
    grid.add_column(overflow="fold")
    for line in lines:
        label, _, value = line.partition(" ")
        grid.add_row(label, value.lstrip(" "))
    return grid


def _packages_table(result: ScanResult) -> SafeTable:
    """Packages sorted by type, name, version; the layer column is `index (diff_id prefix)`."""
    table = compact_table()
    for col in ("NAME", "VERSION", "TYPE", "LAYER"):
        table.add_column(col, overflow="fold")
    for p in sorted(result.packages, key=lambda p: (p.type, p.name.lower(), p.version)):
        layer = "-" if p.layer_index is None else f"{p.layer_index} ({_short(p.layer_diff_id)})"
        table.add_row(p.name, p.version, p.type, layer)
    return table


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
    rows = sorted(findings, key=_urgency)
    columns: list[tuple[str, Callable[[Any], Any]]] = [
        ("ID", lambda f: f.id + (" (suppressed)" if f.suppressed else "")),
        (
            "SEVERITY",
            lambda f: cell(
                f.severity.level, "dim" if f.suppressed else SEVERITY_STYLES.get(f.severity.rank, "")
            ),
        ),
        ("PACKAGE", lambda f: f.package.name),
        ("INSTALLED", lambda f: f.package.version),
        ("FIXED IN", lambda f: ", ".join(f.fixed_versions) or "no fix yet"),
        ("KEV", lambda f: cell("yes", "bold red") if f.kev.flag else ""),
    ]
    if any(f.epss for f in rows):
        columns.append(("EPSS", lambda f: f"{f.epss.score:.3f}" if f.epss else ""))
    columns.append(("FROM", _origin))
    if console.width >= WIDE:  # upgrade commands fold badly; narrow terminals get them with -f json
        columns.append(("FIX", lambda f: f.remediation.command or f.remediation.advice))
    table = compact_table()
    for name, _ in columns:
        table.add_column(name, overflow="fold", no_wrap=name in ("ID", "SEVERITY", "KEV"))
    for f in rows:
        table.add_row(*(get(f) for _, get in columns))
    console.print(table)


def _urgency(f: Any) -> tuple[Any, ...]:
    """Most urgent first: severity, known exploited, EPSS; suppressed ones last."""
    return (f.suppressed, -f.severity.rank, not f.kev.flag, -(f.epss.score if f.epss else 0))


def _origin(finding: Any) -> str:
    """Lineage level that brought the package in (layer index when the lineage is unknown)."""
    if finding.origin_level is not None:
        return "this image" if finding.origin == "from this image" else f"level {finding.origin_level}"
    return "-" if finding.layer_index is None else f"layer {finding.layer_index}"
