"""Hostile files and outputs a user (or an attacker) hands the CLI: one clear line, exit 2, nothing touched.

Each case runs the real console entry point in a child process, from a working directory of its
own, and asserts: exit code 2, exactly one `error:` line on stderr naming the file, no traceback,
and that nothing outside keelwatch's data directory changed (the working directory and every file
the test created stay as they were).
"""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Callable
from pathlib import Path

import pytest

from imagebuilder import FileEntry, make_layer, write_oci_layout

from ._support import run_cli

BOMB = "".join(
    f"{b}: &{b} [{', '.join([f'*{a}'] * 9)}]\n" for a, b in zip("abcdefgh", "bcdefghi", strict=True)
)
ALIAS_BOMB = 'a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]\n' + BOMB


def snapshot(root: Path, skip: Path) -> dict[str, tuple[int, int, int]]:
    """Every path under `root` except the tool's home: (mode, size, mtime_ns), symlinks not followed."""
    seen: dict[str, tuple[int, int, int]] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if Path(dirpath, d) != skip]
        for name in [*dirnames, *filenames]:
            st = os.lstat(Path(dirpath, name))
            seen[str(Path(dirpath, name))] = (st.st_mode, st.st_size, st.st_mtime_ns)
    return seen


@pytest.fixture
def image(tmp_path: Path) -> Path:
    layout = tmp_path / "img"
    write_oci_layout(layout, [make_layer([FileEntry("etc/os-release", b"ID=debian\n")])], tag="1")
    return layout


@pytest.fixture
def hostile(tmp_path: Path, keelwatch_home: Path) -> Callable[..., str]:
    """Run keelwatch; assert exit 2, one error line, no traceback, nothing outside home changed."""
    work = tmp_path / "work"
    work.mkdir(exist_ok=True)

    def run(*args: str, env: dict[str, str] | None = None, home: Path | None = None) -> str:
        before = snapshot(tmp_path, keelwatch_home)
        proc = run_cli(*args, home=home or keelwatch_home, env=env, cwd=work, timeout=60)
        assert proc.returncode == 2, (proc.returncode, proc.stderr[-2000:])
        assert "Traceback" not in proc.stderr
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: "), proc.stderr[-2000:]
        assert len(lines[0]) < 400
        assert snapshot(tmp_path, keelwatch_home) == before
        return lines[0]

    return run


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def _vex(statements: object) -> str:
    return json.dumps({"@context": "https://openvex.dev/ns/v0.2.0", "statements": statements})


@pytest.mark.parametrize(
    ("doc", "problem"),
    [
        (_vex([["not", "an", "object"]]), "expected an object"),
        (_vex([{"vulnerability": ["CVE-1"], "status": "fixed"}]), "'vulnerability' must be an object"),
        (_vex([{"vulnerability": {"name": "CVE-1", "aliases": 7}, "status": "fixed"}]), "must be a list"),
        (_vex([{"vulnerability": {"name": ["CVE-1"]}, "status": "fixed"}]), "must be a string"),
        (_vex([{"vulnerability": {"name": "CVE-1"}, "status": "fixed", "products": 3}]), "'products'"),
        (_vex([{"vulnerability": {"name": "CVE-1"}, "status": ["fixed"]}]), "'status' must be a string"),
        ("[" * 100_000, "nested deeper"),
        ('{"statements": [' + "[" * 200 + "]" * 200 + "]}", "nested deeper"),
        ('{"statements": [], "n": ' + "9" * 5000 + "}", "not valid JSON"),
    ],
)
def test_malformed_vex(doc: str, problem: str, image: Path, tmp_path: Path, hostile) -> None:  # type: ignore[no-untyped-def]
    vex = _write(tmp_path / "vex.json", doc)
    line = hostile("scan", f"oci:{image}", "-q", "--no-store", "--vex", str(vex))
    assert str(vex) in line and problem in line


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("- " * 400 + "x\n", "nested"),
        ("[" * 100_000, "nested too deeply"),
        ("- id: CVE-1\n  reason: !!python/object/apply:os.system ['touch pwned']\n", "Python tags"),
        (ALIAS_BOMB + "ignore:\n  - id: CVE-1\n    reason: *i\n", "alias bomb"),
        ("- id: CVE-1\n  package: [a, b]\n", "'package' must be"),
        ("- id: [CVE-1]\n", "needs an 'id'"),
    ],
)
def test_malformed_ignore_file(text: str, problem: str, image: Path, tmp_path: Path, hostile) -> None:  # type: ignore[no-untyped-def]
    ignore = _write(tmp_path / "ignore.yaml", text)
    line = hostile("scan", f"oci:{image}", "-q", "--no-store", "--ignore-file", str(ignore))
    assert str(ignore) in line and problem in line


def test_ignore_file_that_is_a_fifo_does_not_hang(image: Path, tmp_path: Path, hostile) -> None:  # type: ignore[no-untyped-def]
    fifo = tmp_path / "ignore.fifo"
    os.mkfifo(fifo)
    line = hostile("scan", f"oci:{image}", "-q", "--no-store", "--ignore-file", str(fifo))
    assert str(fifo) in line and "not a regular file" in line


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        (ALIAS_BOMB + "name: x\nrules: []\ndescription: *i\n", "alias bomb"),
        ("name: !!python/object/new:os.system [id]\nrules: []\n", "Python tags"),
        ("name: x\nrules: " + "[" * 2000 + "]" * 2000 + "\n", "nested"),
    ],
)
def test_malformed_policy(text: str, problem: str, tmp_path: Path, hostile) -> None:  # type: ignore[no-untyped-def]
    policy = _write(tmp_path / "policy.yaml", text)
    line = hostile("check", "oci:/nonexistent", "--policy", str(policy))
    assert str(policy) in line and problem in line


@pytest.mark.parametrize(
    ("toml", "problem"),
    [
        ('identity = "erin"\n', "[identity] must be a table"),
        ('[vulndb]\nmax_age_days = "seven"\n', "[vulndb] max_age_days must be a whole number"),
        ("[vulndb]\nmax_age_days = true\n", "max_age_days"),
        ("[store]\nurl = 5\n", "[store] url must be a string"),
        ("[vulndb]\nosv_ecosystems = [1, 2]\n", "osv_ecosystems must be a list of strings"),
        ("[governance]\nrequire_policy_on_approve = 'yes'\n", "true or false"),
        ("x = " + "[" * 5000 + "]" * 5000 + "\n", "invalid settings file"),
        ("x = = 1\n", "invalid settings file"),
    ],
)
def test_config_with_wrong_types(toml: str, problem: str, keelwatch_home: Path, hostile) -> None:  # type: ignore[no-untyped-def]
    keelwatch_home.mkdir(parents=True, exist_ok=True)
    config = _write(keelwatch_home / "config.toml", toml)
    line = hostile("db", "status")
    assert str(config) in line and problem in line


def test_keelwatch_home_is_a_file(tmp_path: Path, hostile) -> None:  # type: ignore[no-untyped-def]
    home = _write(tmp_path / "home-file", "not a directory\n")
    line = hostile("db", "status", home=home)
    assert "KEELWATCH_HOME" in line and str(home) in line and "not a directory" in line


def test_dockerfile_that_is_a_device(image: Path, hostile) -> None:  # type: ignore[no-untyped-def]
    line = hostile("lineage", f"oci:{image}", "--dockerfile", "/dev/zero")
    assert "/dev/zero" in line and "not a regular file" in line


def test_output_is_a_directory(image: Path, tmp_path: Path, hostile) -> None:  # type: ignore[no-untyped-def]
    line = hostile("scan", f"oci:{image}", "-q", "--no-vulns", "--no-store", "-o", str(tmp_path / "work"))
    assert "is a directory" in line


def test_output_symlink_planted_in_sticky_dir(
    image: Path, tmp_path: Path, sticky_dir: Path, plant, hostile
) -> None:  # type: ignore[no-untyped-def]
    victim = _write(tmp_path / "victim", "precious\n")
    link = plant(sticky_dir / "sbom.json", victim)
    line = hostile("scan", f"oci:{image}", "-q", "--no-vulns", "--no-store", "-o", str(link))
    assert "symlink owned by another user" in line
    assert victim.read_text() == "precious\n"


def test_output_to_a_device_leaves_the_device(image: Path, tmp_path: Path, keelwatch_home: Path) -> None:
    null = tmp_path / "null"
    try:
        os.mknod(null, stat.S_IFCHR | 0o666, os.makedev(1, 3))
    except PermissionError:
        pytest.skip("mknod needs root")
    proc = run_cli(
        "scan", f"oci:{image}", "-q", "--no-vulns", "--no-store", "-o", str(null), home=keelwatch_home
    )
    assert proc.returncode == 0, proc.stderr
    assert stat.S_ISCHR(null.lstat().st_mode)


@pytest.mark.parametrize("flag", ["--vex", "--ignore-file"])
def test_device_or_directory_given_as_a_suppression_file(
    flag: str, image: Path, tmp_path: Path, hostile
) -> None:  # type: ignore[no-untyped-def]
    for path, kind in (("/dev/zero", "a device"), (str(tmp_path), "a directory")):
        line = hostile("scan", f"oci:{image}", "-q", "--no-store", flag, path)
        assert path in line and kind in line


def test_oversized_ignore_file(image: Path, tmp_path: Path, hostile) -> None:  # type: ignore[no-untyped-def]
    big = tmp_path / "ignore"
    big.write_text("CVE-2000-0001\n" * 1_300_000)  # 18 MB
    line = hostile("scan", f"oci:{image}", "-q", "--no-store", "--ignore-file", str(big))
    assert str(big) in line and "too large" in line


def test_settings_file_that_is_a_fifo(tmp_path: Path, hostile) -> None:  # type: ignore[no-untyped-def]
    fifo = tmp_path / "config.toml"
    os.mkfifo(fifo)
    line = hostile("db", "status", env={"KEELWATCH_CONFIG": str(fifo)})
    assert str(fifo) in line and "a FIFO" in line


@pytest.mark.parametrize("text", ["[1, 2]\n", "name: 5\nrules: {a: 1}\n", "just a string\n"])
def test_policy_of_the_wrong_shape(text: str, tmp_path: Path, hostile) -> None:  # type: ignore[no-untyped-def]
    policy = _write(tmp_path / "policy.yaml", text)
    line = hostile("check", "oci:/nonexistent", "--policy", str(policy))
    assert str(policy) in line


@pytest.mark.parametrize(
    ("flag", "text"),
    [
        ("--ignore-file", "ignore:\n  - id: CVE-1\n    expires: 2020-13-45\n"),
        ("--ignore-file", "ignore:\n  - id: CVE-1\n    reason: " + "9" * 5000 + "\n"),
        ("--policy", "name: x\nrules: []\nversion: " + "9" * 5000 + "\n"),
        ("--policy", "name: x\nrules: []\ncreated: !!timestamp 2024-02-30\n"),
    ],
)
def test_yaml_scalar_its_type_cannot_hold(flag: str, text: str, image: Path, tmp_path: Path, hostile) -> None:  # type: ignore[no-untyped-def]
    """A date with month 13 or an integer of 5,000 digits: PyYAML raises ValueError while building."""
    path = _write(tmp_path / "doc.yaml", text)
    command = (
        ["check", f"oci:{image}"] if flag == "--policy" else ["scan", f"oci:{image}", "-q", "--no-store"]
    )
    line = hostile(*command, flag, str(path))
    assert str(path) in line and "invalid YAML value" in line
