"""The help of every command renders; `--version`; an unexpected crash is exit 2 with one line."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from keelwatch.cli import _register_all, app


def _all_commands() -> list[list[str]]:
    _register_all()
    root = typer.main.get_command(app)
    paths: list[list[str]] = [[]]

    def walk(group: object, prefix: list[str]) -> None:
        for name, sub in getattr(group, "commands", {}).items():
            paths.append([*prefix, name])
            walk(sub, [*prefix, name])

    walk(root, [])
    return paths


COMMANDS = _all_commands()


def test_every_command_is_listed() -> None:
    names = {" ".join(c) for c in COMMANDS}
    assert {"scan", "lineage", "check", "diff", "registry sync", "base audit", "db update"} <= names


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c) or "keelwatch")
def test_help_renders(command: list[str]) -> None:
    result = CliRunner().invoke(app, [*command, "--help"], terminal_width=80)
    assert result.exit_code == 0, result.output + repr(result.exception)
    assert "Usage:" in result.output


def test_platform_help_is_shown_literally() -> None:
    result = CliRunner().invoke(app, ["lineage", "--help"], terminal_width=200)
    assert "os/arch/variant" in result.output


MAIN = "from keelwatch.cli import main; main()"


def _run(*args: str, code: str = MAIN) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=60)


def test_version() -> None:
    from importlib.metadata import version

    proc = _run("--version")
    assert proc.returncode == 0 and proc.stdout.strip() == f"keelwatch {version('keelwatch')}"


@pytest.mark.parametrize(
    ("args", "problem"),
    [
        (["rescan", "abc"], "'scan_ids'"),
        (["rescan", "9" * 5000], "'scan_ids'"),
        (["base", "edit", "x", "--eol", "1"], "No such option: --eol"),
        (["nosuch"], "No such command 'nosuch'"),
        (["scan"], "Missing argument 'REF'"),
        (["scan", "x", "--severity"], "--severity"),
    ],
)
def test_usage_error_is_one_line_exit_2(args: list[str], problem: str) -> None:
    """Click draws a boxed usage screen of five lines or more; a CI log wants one line."""
    proc = _run(*args)
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and problem in lines[0], proc.stderr
    assert "(see `keelwatch " in lines[0] and "╭" not in proc.stderr


def test_no_command_still_shows_the_help() -> None:
    proc = _run()
    assert proc.returncode == 2 and "Usage: " in proc.stdout and "scan" in proc.stdout


CRASHING = """
from keelwatch.cli import app, main

@app.command("boom")
def boom() -> None:
    raise RuntimeError("something nobody foresaw\\nsecond line")

main()
"""


def test_unexpected_crash_is_exit_2_one_line(tmp_path: Path) -> None:
    proc = _run("boom", code=CRASHING)
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: unexpected RuntimeError: something nobody foresaw")
    assert "--debug" in lines[0]


def test_debug_shows_the_traceback_of_a_user_error_too(tmp_path: Path) -> None:
    proc = _run("--debug", "scan", f"oci:{tmp_path}/missing")
    assert proc.returncode == 2 and "Traceback (most recent call last)" in proc.stderr
    assert proc.stderr.strip().splitlines()[-1].startswith("error: ")
    quiet = _run("scan", f"oci:{tmp_path}/missing")
    assert quiet.returncode == 2 and len(quiet.stderr.strip().splitlines()) == 1


def test_debug_shows_the_traceback() -> None:
    proc = _run("--debug", "boom", code=CRASHING)
    assert proc.returncode == 2
    assert "Traceback (most recent call last)" in proc.stderr
    assert proc.stderr.strip().splitlines()[-1].startswith("error: unexpected RuntimeError")


def test_ctrl_c_is_exit_130_not_a_gate_failure(tmp_path: Path) -> None:
    """A scan blocked on a registry that never answers, interrupted: exit 130, one line, not 1."""
    import signal
    import socket
    import time

    with socket.socket() as silent:  # the kernel accepts connections; nobody ever answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        port = silent.getsockname()[1]
        env = {"KEELWATCH_HOME": str(tmp_path / "home"), "PATH": "/usr/bin:/bin"}
        args = ["scan", f"127.0.0.1:{port}/app:1", "--insecure", "-q", "--no-store", "--no-vulns"]
        proc = subprocess.Popen(
            [sys.executable, "-c", MAIN, *args], stderr=subprocess.PIPE, text=True, env=env
        )
        wchan = Path(f"/proc/{proc.pid}/wchan")
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not wchan.read_text().startswith("poll_schedule_timeout"):
            time.sleep(0.1)  # until it waits for the registry's answer (the kernel's name for that wait)
        assert wchan.read_text().startswith("poll_schedule_timeout")
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert err.strip().splitlines() == ["error: interrupted"]


def test_closed_stdout_pipe_is_not_a_gate_failure(tmp_path: Path) -> None:
    """`keelwatch ... | head`: the reader leaves; no traceback, and not exit 1 (a failed gate)."""
    env = {"KEELWATCH_HOME": str(tmp_path / "home"), "PATH": "/usr/bin:/bin"}
    proc = subprocess.Popen(
        [sys.executable, "-c", MAIN, "--help"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env
    )
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=60) == 141 and err == ""
