"""`keelwatch diff` as a table: both names on their own lines, one table per kind of change."""

from __future__ import annotations

from pathlib import Path

from imagebuilder import FileEntry, make_layer, write_oci_layout

from ._support import run_cli

METADATA = b"Metadata-Version: 2.1\nName: requests\nVersion: 2.19.1\n"


def test_diff_table_names_packages_and_metadata(tmp_path: Path) -> None:
    base = make_layer([FileEntry("etc/os-release", b"ID=debian\nVERSION_ID=12\n")])
    added = make_layer(
        [FileEntry("usr/lib/python3/dist-packages/requests-2.19.1.dist-info/METADATA", METADATA)]
    )
    a, b = tmp_path / "a", tmp_path / "b"
    write_oci_layout(a, [base], tag="1", labels={"org.opencontainers.image.title": "a"})
    write_oci_layout(b, [base, added], tag="1", labels={"org.opencontainers.image.title": "b"})
    done = run_cli("diff", "-q", f"oci:{a}", f"oci:{b}", home=tmp_path / "home", env={"COLUMNS": "80"})
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[:2] == [f"A  oci:{a}", f"B  oci:{b}"]
    assert any(line.split() == ["added", "python", "requests", "2.19.1"] for line in lines), done.stdout
    assert any(line.split() == ["label:title", "a", "b"] for line in lines), done.stdout
    assert "packages added 1, removed 0, changed 0;" in done.stdout


def test_lineage_table_has_no_empty_note_column(tmp_path: Path) -> None:
    """At 80 columns the names need the room: the note column shows only when a row has a note."""
    layout = tmp_path / "img"
    write_oci_layout(layout, [make_layer([FileEntry("etc/os-release", b"ID=debian\n")])], tag="1")
    done = run_cli("lineage", "-q", f"oci:{layout}", home=tmp_path / "home", env={"COLUMNS": "80"})
    assert done.returncode == 0, done.stderr
    header = next(line for line in done.stdout.splitlines() if line.startswith("level"))
    assert header.split() == ["level", "image", "digest", "source", "layers"]
