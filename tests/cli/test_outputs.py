"""`--output` as root on a build machine: devices, FIFOs, stdout, planted symlinks, directories, modes.

Every case goes through the real writer (keelwatch.cli.outfile) or the real console entry point;
nothing of the system is touched: the "device" is a /dev/null clone made with mknod in tmp.
"""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from imagebuilder import FileEntry, make_layer, write_oci_layout
from keelwatch.cli.outfile import OutputError, write_text

from ._support import run_cli as keelwatch


@pytest.fixture
def image(tmp_path: Path) -> Path:
    entries = [FileEntry("etc/os-release", Path("/etc/os-release").read_bytes())]
    layout = tmp_path / "img"
    write_oci_layout(layout, [make_layer(entries)], tag="1.0")
    return layout


@pytest.fixture
def umask_022() -> Iterator[None]:
    old = os.umask(0o022)
    yield
    os.umask(old)


def test_character_device_is_written_through_not_replaced(tmp_path: Path) -> None:
    null = tmp_path / "null"
    try:
        os.mknod(null, stat.S_IFCHR | 0o666, os.makedev(1, 3))
    except PermissionError:
        pytest.skip("mknod needs root")
    write_text("report\n", null)
    st = null.lstat()
    assert stat.S_ISCHR(st.st_mode) and st.st_rdev == os.makedev(1, 3)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".null.")]


def test_fifo_is_written_through(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    try:
        write_text("through the pipe\n", fifo)
        assert os.read(reader, 1000) == b"through the pipe\n"
    finally:
        os.close(reader)
    assert stat.S_ISFIFO(fifo.lstat().st_mode)


def test_symlink_planted_in_sticky_dir_is_refused(tmp_path: Path, sticky_dir: Path, plant) -> None:  # type: ignore[no-untyped-def]
    victim = tmp_path / "victim"
    victim.write_text("precious\n")
    link = plant(sticky_dir / "report.json", victim)
    with pytest.raises(OutputError, match="symlink owned by another user"):
        write_text("{}", link)
    assert victim.read_text() == "precious\n"
    assert link.is_symlink()


def test_own_symlink_in_sticky_dir_is_followed(tmp_path: Path, sticky_dir: Path) -> None:
    shared = sticky_dir
    target = tmp_path / "real.json"
    target.write_text("old")
    (shared / "report.json").symlink_to(target)
    write_text("new", shared / "report.json")
    assert target.read_text() == "new"
    assert (shared / "report.json").is_symlink()


def test_new_file_mode_follows_umask(tmp_path: Path, umask_022: None) -> None:
    out = tmp_path / "sbom.json"
    write_text("{}", out)
    assert stat.S_IMODE(out.stat().st_mode) == 0o644


def test_replaced_file_keeps_its_mode(tmp_path: Path) -> None:
    out = tmp_path / "sbom.json"
    out.write_text("old")
    out.chmod(0o640)
    write_text("new", out)
    assert out.read_text() == "new" and stat.S_IMODE(out.stat().st_mode) == 0o640


def test_output_directory_is_one_line_exit_2(image: Path, tmp_path: Path, keelwatch_home: Path) -> None:
    proc = keelwatch("scan", f"oci:{image}", "--no-vulns", "-q", "-o", str(tmp_path), home=keelwatch_home)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.startswith("error: --output") and "directory" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


def test_output_dev_stdout_writes_to_stdout(image: Path, keelwatch_home: Path) -> None:
    proc = keelwatch(
        "scan", f"oci:{image}", "--no-vulns", "-q", "-f", "json", "-o", "/dev/stdout", home=keelwatch_home
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["image"]


def test_output_dash_is_stdout(image: Path, keelwatch_home: Path) -> None:
    proc = keelwatch("scan", f"oci:{image}", "--no-vulns", "-q", "-f", "json", "-o", "-", home=keelwatch_home)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["image"]


def test_unwritable_output_is_refused_before_the_work(tmp_path: Path, keelwatch_home: Path) -> None:
    policy = tmp_path / "p.yaml"
    policy.write_text("name: p\nrules: []\n")
    proc = keelwatch(
        "check", "oci:/nonexistent", "--policy", str(policy), "-o", str(tmp_path), home=keelwatch_home
    )
    assert proc.returncode == 2 and proc.stderr.startswith(f"error: --output {tmp_path}: is a directory")


def test_planted_directory_symlink_in_sticky_dir_is_refused(tmp_path: Path, sticky_dir: Path, plant) -> None:  # type: ignore[no-untyped-def]
    """`-o /tmp/evil/passwd` where another user made /tmp/evil a link to a directory of theirs choosing."""
    shared = sticky_dir
    victim_dir = tmp_path / "etc"
    victim_dir.mkdir()
    (victim_dir / "passwd").write_text("root:x:0:0\n")
    plant(shared / "evil", victim_dir)
    with pytest.raises(OutputError, match="symlink owned by another user"):
        write_text("{}", shared / "evil" / "passwd")
    with pytest.raises(OutputError, match="symlink owned by another user"):
        write_text("{}", shared / "evil" / "new-file")
    assert (victim_dir / "passwd").read_text() == "root:x:0:0\n" and not (victim_dir / "new-file").exists()


def test_relative_and_chained_links_are_followed(tmp_path: Path) -> None:
    (tmp_path / "real").mkdir()
    (tmp_path / "a").symlink_to("real")
    (tmp_path / "b").symlink_to(tmp_path / "a")
    write_text("x", tmp_path / "b" / ".." / "b" / "out")
    assert (tmp_path / "real" / "out").read_text() == "x"


def test_fifo_nobody_reads_is_one_line_not_a_hang(image: Path, tmp_path: Path, keelwatch_home: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    proc = keelwatch(
        "scan",
        f"oci:{image}",
        "--no-vulns",
        "--no-store",
        "-q",
        "-o",
        str(fifo),
        home=keelwatch_home,
        timeout=60,
    )
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.strip() == f"error: --output {fifo}: a FIFO with no process reading it"
    assert stat.S_ISFIFO(fifo.lstat().st_mode)


@pytest.mark.parametrize(
    ("command", "code", "marker"),
    [
        (["lineage", "{ref}"], 0, "this image"),
        (["diff", "{ref}", "{ref}"], 0, "layers shared 1"),
        (["check", "{ref}", "--policy", "{policy}"], 1, "approved-base"),
    ],
)
def test_table_commands_write_their_table_to_the_output(
    command: list[str], code: int, marker: str, image: Path, tmp_path: Path, keelwatch_home: Path
) -> None:
    policy = tmp_path / "policy.yaml"
    policy.write_text(
        "apiVersion: keelwatch/v1\nkind: Policy\nname: p\nversion: 1\n"
        "rules:\n  - id: approved-base\n    type: approved_base\n"
    )
    out = tmp_path / "report.txt"
    args = [a.format(ref=f"oci:{image}:1.0", policy=policy) for a in command]
    proc = keelwatch(*args, "-q", "-o", str(out), home=keelwatch_home)
    assert proc.returncode == code, proc.stderr
    assert proc.stdout == ""
    assert marker in out.read_text()
