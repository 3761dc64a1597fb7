"""Fixtures of the CLI tests."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from imagebuilder import FileEntry, make_layer, write_oci_layout

from ._support import run_cli


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


@pytest.fixture(scope="module")
def pypi_home(tmp_path_factory: pytest.TempPathFactory, shared_data: Path) -> Path:
    """A keelwatch home holding the real OSV PyPI export of ../shared/data, imported by `db update`."""
    home = tmp_path_factory.mktemp("kwhome")
    done = run_cli("db", "update", "--source", "osv", "--from", str(shared_data), home=home, timeout=300)
    assert done.returncode == 0, done.stderr
    return home
