"""Packages must not hide from the scan: the set keelwatch reports is what dpkg in the running
container sees, whether the database is a sparse file, a symlink, or under a symlinked directory.

Layers here are real tars: GNU tar writes the sparse ones (`--sparse`, every format it has),
Python's tarfile reads them back as the oracle; the dpkg database is this machine's.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path
from typing import Any

import pytest

from imagebuilder import FileEntry, make_layer, write_oci_layout
from keelwatch.oci.layers import LayerReader

hostile = sys.modules["keelwatch_test_hostile"]
STATUS = "var/lib/dpkg/status"
OS_RELEASE = Path("/etc/os-release").read_bytes()
GNU_TAR = shutil.which("tar")
SPARSE_FORMATS = [("gnu", None), ("posix", "0.0"), ("posix", "0.1"), ("posix", "1.0")]


def _debs(ref: str, home: Path) -> tuple[set[tuple[str, str]], list[str]]:
    proc = hostile.keelwatch("scan", ref, "--no-vulns", "--no-store", "-q", "-f", "json", home=home)
    assert proc.returncode == 0, proc.stderr
    out: dict[str, Any] = json.loads(proc.stdout)
    return {(p["name"], p["version"]) for p in out["packages"] if p["type"] == "deb"}, out["warnings"]


@pytest.fixture
def normal(tmp_path, real_status, keelwatch_home) -> set[tuple[str, str]]:
    """The package set of the same database stored the usual way."""
    layout = tmp_path / "normal"
    write_oci_layout(layout, [make_layer([FileEntry(STATUS, real_status)])], tag="t")
    debs, _ = _debs(f"oci:{layout}:t", keelwatch_home)
    assert len(debs) > 10
    return debs


def _gnu_sparse_tar(root: Path, fmt: str, version: str | None, out: Path) -> bytes:
    cmd = [str(GNU_TAR), "--sparse", f"--format={fmt}", "-C", str(root), "-cf", str(out), "."]
    if version:
        cmd.insert(2, f"--sparse-version={version}")
    subprocess.run(cmd, check=True)
    return out.read_bytes()


def _sparse_root(tmp_path: Path, content: bytes) -> Path:
    """A tree whose dpkg status is `content` followed by a 4 MiB hole (zeros never written)."""
    root = tmp_path / "root"
    (root / "var/lib/dpkg").mkdir(parents=True)
    (root / "etc").mkdir()
    (root / "etc/os-release").write_bytes(OS_RELEASE)
    with (root / STATUS).open("wb") as fh:
        fh.write(content)
        fh.truncate(len(content) + (4 << 20))  # dpkg's parser skips the NULs, as keelwatch's does
    return root


@pytest.mark.skipif(GNU_TAR is None, reason="GNU tar writes the sparse layers")
@pytest.mark.parametrize(("fmt", "version"), SPARSE_FORMATS)
def test_sparse_dpkg_database_is_read(tmp_path, keelwatch_home, real_status, normal, fmt, version) -> None:
    root = _sparse_root(tmp_path, real_status)
    tar = _gnu_sparse_tar(root, fmt, version, tmp_path / "layer.tar")
    with tarfile.open(tmp_path / "layer.tar") as t:
        assert t.getmember(f"./{STATUS}").issparse()  # really a sparse member
    layout = tmp_path / "sparse"
    write_oci_layout(layout, [make_layer(tar)], tag="t")
    debs, _ = _debs(f"oci:{layout}:t", keelwatch_home)
    assert debs == normal


@pytest.mark.skipif(GNU_TAR is None, reason="GNU tar writes the sparse layers")
@pytest.mark.parametrize(("fmt", "version"), SPARSE_FORMATS)
def test_sparse_members_match_tarfile(tmp_path, fmt, version) -> None:
    """Many holes and data segments: the streaming reader gives what tarfile extracts."""
    root = tmp_path / "root"
    root.mkdir()
    with (root / "holes").open("wb") as fh:
        for i in range(40):  # 40 segments, 64 KiB holes between: extension blocks in old GNU
            fh.seek(i * (128 << 10))
            fh.write(bytes([65 + i % 26]) * 5000)
    (root / "plain").write_bytes(b"after the sparse member\n")
    _gnu_sparse_tar(root, fmt, version, tmp_path / "l.tar")
    with tarfile.open(tmp_path / "l.tar") as t:
        want = {"/" + m.name[2:]: t.extractfile(m).read() for m in t.getmembers() if m.isfile()}  # type: ignore[union-attr]
        assert t.getmember("./holes").issparse()
    with (tmp_path / "l.tar").open("rb") as fh:
        reader = LayerReader(fh)
        got = {e.path: reader.read(64 << 20) for e in reader if e.type == "file"}
    assert got == want and not reader.warnings


def _link(path: str, target: str) -> FileEntry:
    return FileEntry(path, type="symlink", linkname=target)


def _dir(path: str) -> FileEntry:
    return FileEntry(path, type="dir")


@pytest.mark.parametrize(
    "layers",
    [
        pytest.param(  # the database itself is a link, to a name no pattern knows
            lambda s: [
                [_dir("var/lib/dpkg"), FileEntry("var/lib/dpkg/status.real", s), _link(STATUS, "status.real")]
            ],  # fmt: skip
            id="file-link-same-layer",
        ),
        pytest.param(  # the link in an upper layer, absolute, to a file of the base layer
            lambda s: [
                [FileEntry("srv/db/dpkg-status", s)],
                [_dir("var/lib/dpkg"), _link(STATUS, "/srv/db/dpkg-status")],
            ],
            id="file-link-across-layers",
        ),
        pytest.param(  # a parent directory is a link
            lambda s: [
                [FileEntry("opt/dpkgdb/status", s)],
                [_dir("var/lib"), _link("var/lib/dpkg", "../../opt/dpkgdb")],
            ],
            id="dir-link-across-layers",
        ),
        pytest.param(  # a grandparent is a link, and the database a link below it
            lambda s: [
                [
                    _dir("var"),
                    _link("var/lib", "/data/lib"),
                    FileEntry("data/lib/dpkg/db-file", s),
                    _link("data/lib/dpkg/status", "db-file"),
                ]
            ],  # fmt: skip
            id="dir-and-file-links",
        ),
        pytest.param(  # `..` past the root stays inside the image, as in the kernel
            lambda s: [
                [
                    FileEntry("db/status", s),
                    _dir("var/lib/dpkg"),
                    _link(STATUS, "../../../../../../../db/status"),
                ]
            ],
            id="dotdot-clamped-at-root",
        ),
    ],
)
def test_dpkg_database_behind_symlinks(tmp_path, keelwatch_home, real_status, normal, layers) -> None:
    layout = tmp_path / "linked"
    entries = [[FileEntry("etc/os-release", OS_RELEASE), *layer] for layer in layers(real_status)]
    write_oci_layout(layout, [make_layer(e) for e in entries], tag="t")
    debs, warnings = _debs(f"oci:{layout}:t", keelwatch_home)
    assert debs == normal, warnings


def test_symlink_loops_and_escapes_are_warnings_not_packages(tmp_path, keelwatch_home, real_status) -> None:
    layout = tmp_path / "loop"
    layers = [
        [
            FileEntry("etc/os-release", OS_RELEASE),
            _dir("var/lib/dpkg"),
            _link(STATUS, "loop-a"),
            _link("var/lib/dpkg/loop-a", "status"),
        ],  # fmt: skip
        [
            _dir("usr/lib/apk/db"),
            _link("lib", "usr/lib"),
            _link("usr/lib/apk/db/installed", "/etc/../../etc/shadow"),
        ],
    ]
    write_oci_layout(layout, [make_layer(e) for e in layers], tag="t")
    before = hostile.snapshot(tmp_path, skip=keelwatch_home)
    debs, warnings = _debs(f"oci:{layout}:t", keelwatch_home)
    assert debs == set()
    assert any("/var/lib/dpkg/status: symlink loop" in w for w in warnings), warnings
    assert any("/lib/apk/db/installed: a symlink to /etc/shadow" in w for w in warnings), warnings
    assert hostile.snapshot(tmp_path, skip=keelwatch_home) == before
