"""Fixtures of the CLI tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from imagebuilder import FileEntry, make_layer, write_oci_layout


@pytest.fixture
def debian_image(tmp_path: Path) -> Path:
    """This machine's os-release and dpkg status in one layer."""
    entries = [
        FileEntry("etc/os-release", Path("/etc/os-release").read_bytes()),
        FileEntry("var/lib/dpkg/status", Path("/var/lib/dpkg/status").read_bytes()),
    ]
    layout = tmp_path / "img"
    write_oci_layout(layout, [make_layer(entries)], tag="1.0")
    return layout
