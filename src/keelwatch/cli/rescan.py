"""`keelwatch rescan`: re-match stored scans against the current vulnerability data.

The engine is keelwatch.app.rescan; this module only parses options and prints, and
imports nothing heavy until the command runs (every command pays for what is imported here).
"""

from __future__ import annotations

from typing import Any

import typer

from keelwatch.errors import KeelwatchError


def _table(report: Any) -> str:
    lines = [f"{'SCAN':>6}  {'FINDINGS':>8}  {'NEW':>5}  {'FIXED':>5}  {'CRIT':>4}  {'HIGH':>4}  IMAGE"]
    for d in report.images:
        new = "-" if d.first_match else str(len(d.new))
        fixed = "-" if d.first_match else str(len(d.fixed))
        lines.append(
            f"{d.scan_id:>6}  {d.findings:>8}  {new:>5}  {fixed:>5}  "
            f"{d.by_severity.get('critical', 0):>4}  {d.by_severity.get('high', 0):>4}  {d.ref}"
        )
    lines.append(
        f"{len(report.images)} images, {report.distinct_packages} distinct packages, "
        f"{report.evaluations} distinct lookups evaluated"
    )
    return "\n".join(lines)


def register(app: typer.Typer) -> None:
    """Add `rescan` to the main app."""

    @app.command("rescan")
    def rescan_cmd(
        scan_ids: list[int] = typer.Argument(None, help="Stored scan ids to re-match."),  # noqa: B008
        all_scans: bool = typer.Option(False, "--all", help="Re-match every stored scan."),
        fmt: str = typer.Option("table", "--format", help="table or json."),
    ) -> None:
        """Re-match stored scans against current vulnerability data (no image pulls)."""
        from keelwatch.cli.common import dump_json, format_choice, opened_store, write_output

        fmt = format_choice("table", "json")(fmt)
        if all_scans == bool(scan_ids):
            raise KeelwatchError("give either --all or one or more scan ids")
        from keelwatch.app.rescan import rescan

        with opened_store() as store:
            report = rescan(store, None if all_scans else list(scan_ids))
        if fmt == "json":
            doc = {
                "images": [d.to_dict() for d in report.images],
                "distinct_packages": report.distinct_packages,
                "warnings": report.warnings,
            }
            write_output(dump_json(doc), None)
        else:
            write_output(_table(report), None)
        for w in report.warnings[:20]:
            typer.echo(f"warning: {w}", err=True)
