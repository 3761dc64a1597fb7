"""Names and labels with control characters never reach the terminal raw (`base audit`, `base list`, scan)."""

from __future__ import annotations

import json
from pathlib import Path

from imagebuilder import FileEntry, make_layer, write_oci_layout
from keelwatch.termtext import SafeTable, printable

from ._support import run_cli

EVIL = "\x1b]0;pwned\x07eve\x1b[2J\u202egnp.exe [bold]x[/bold]"


def test_printable_escapes_controls_and_bidi() -> None:
    assert printable(EVIL) == "\\x1b]0;pwned\\x07eve\\x1b[2J\\u202egnp.exe [bold]x[/bold]"
    assert printable("line\nnext\ttab") == "line\\nnext\\ttab"
    assert printable("plain ünïcode café") == "plain ünïcode café"


def test_safe_table_cells_are_not_markup() -> None:
    from io import StringIO

    from rich.console import Console

    table = SafeTable(title="t")
    table.add_column("c")
    table.add_row("[bold]x[/bold] [link=https://evil]y[/link]")
    buf = StringIO()
    Console(file=buf, width=200).print(table)
    assert "[bold]x[/bold] [link=https://evil]y[/link]" in buf.getvalue()


def test_base_audit_and_list_escape_actor_and_labels(tmp_path: Path, keelwatch_home: Path) -> None:
    layout = tmp_path / "base"
    write_oci_layout(
        layout,
        [make_layer([FileEntry("etc/os-release", b'ID=debian\nPRETTY_NAME="\x1b[31mDebian\x1b[0m"\n')])],
        tag="12",
        labels={"org.opencontainers.image.authors": EVIL},
    )
    env = {"KEELWATCH_ACTOR": EVIL, "KEELWATCH_TEAM": "platform-experts", "COLUMNS": "400"}
    ref = f"oci:{layout}"
    added = run_cli("base", "add", "-q", ref, home=keelwatch_home, env=env)
    assert added.returncode == 0, added.stderr
    for args in (("base", "audit"), ("base", "list"), ("scan", ref, "-q", "--no-store", "--no-vulns")):
        proc = run_cli(*args, home=keelwatch_home, env=env)
        assert proc.returncode == 0, proc.stderr
        out = proc.stdout + proc.stderr
        assert "\x1b" not in out and "\x07" not in out and "\u202e" not in out, (args, out)
        if args != ("scan", ref, "-q", "--no-store", "--no-vulns"):
            assert "\\x1b]0;pwned\\x07eve" in out, out
    assert "\\x1b[31mDebian" in run_cli("scan", ref, "-q", "--no-store", home=keelwatch_home).stdout


def test_error_line_is_escaped(tmp_path: Path, keelwatch_home: Path) -> None:
    proc = run_cli("scan", f"oci:{tmp_path}/\x1b[2Jnope", home=keelwatch_home)
    assert proc.returncode == 2 and "\x1b" not in proc.stderr and "\\x1b[2Jnope" in proc.stderr


def test_notes_quote_names_literally_and_warnings_survive_quiet(tmp_path: Path, keelwatch_home: Path) -> None:
    layout = tmp_path / "img"
    write_oci_layout(layout, [make_layer([FileEntry("etc/os-release", b"ID=debian\n")])], tag="1")
    vex = tmp_path / "[bold]vex[red].json"
    statement = {"vulnerability": {"name": "CVE-2000-1"}, "status": "not_affected"}  # no justification
    vex.write_text(json.dumps({"statements": [statement]}))
    proc = run_cli("scan", f"oci:{layout}", "-q", "--no-store", "--vex", str(vex), home=keelwatch_home)
    assert proc.returncode == 0, proc.stderr
    assert f"warning: {vex} statement 0: not_affected without justification" in proc.stderr
