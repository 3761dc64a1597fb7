"""Fixtures of the CLI tests."""

from __future__ import annotations

import os
from collections.abc import Callable
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


@pytest.fixture
def sticky_dir(tmp_path: Path) -> Path:
    """A world-writable sticky directory like /tmp, made by the test."""
    shared = tmp_path / "shared-tmp"
    shared.mkdir()
    shared.chmod(0o1777)
    return shared


@pytest.fixture
def plant() -> Callable[[Path, Path], Path]:
    """`plant(link, target)`: a symlink owned by another user (needs root to chown it)."""
    if os.geteuid() != 0:
        pytest.skip("planting a link as another user needs root")

    def make(link: Path, target: Path) -> Path:
        link.symlink_to(target)
        os.lchown(link, 4321, 4321)
        return link

    return make
