"""Run `keelwatch` as a user would, on hostile input, and check it failed cleanly.

Shared by the hostile-input tests of tests/oci and tests/scan (loaded by path from their
conftest, as tests/registry.py is). A hostile input must end with exit 2 and ONE line
`error: ...` on stderr (no traceback), within a time bound (no hang), and must change
nothing outside keelwatch's own directories: `snapshot` records every path, size and
mtime of the given trees so a test can compare before and after.
"""

from __future__ import annotations

import functools
import os
import subprocess
import sys
from pathlib import Path

ENTRY = "from keelwatch.cli import main; main()"
TIMEOUT = 60  # seconds: a hang is a failure, not a stuck test run


def run_cli(
    *args: str, home: Path, env: dict[str, str] | None = None, cwd: Path | None = None, timeout: int = 120
) -> subprocess.CompletedProcess[str]:
    """`keelwatch ARGS` as a user runs it: the real console entry point in a child process, a clean
    environment with its own KEELWATCH_HOME, output captured. tests/cli uses it too (_support.py)."""
    full = {"KEELWATCH_HOME": str(home), "PATH": "/usr/bin:/bin", **(env or {})}
    return subprocess.run(
        [sys.executable, "-c", ENTRY, *args],
        capture_output=True,
        text=True,
        env=full,
        cwd=cwd,
        timeout=timeout,
    )


# Hostile inputs get the shorter bound: a hang is a failure, not a stuck test run.
keelwatch = functools.partial(run_cli, timeout=TIMEOUT)


def snapshot(*roots: Path, skip: Path | None = None) -> dict[str, tuple[int, int, int]]:
    """path -> (mode, size, mtime_ns) of everything under `roots` (not following links)."""
    out: dict[str, tuple[int, int, int]] = {}
    for root in roots:
        for dirpath, dirnames, filenames in os.walk(root):
            if skip is not None:
                dirnames[:] = [d for d in dirnames if Path(dirpath, d) != skip]
            for name in [*dirnames, *filenames]:
                st = os.lstat(Path(dirpath, name))
                out[str(Path(dirpath, name))] = (st.st_mode, st.st_size, st.st_mtime_ns)
    return out


def assert_one_line_error(proc: subprocess.CompletedProcess[str], *needles: str) -> str:
    """Exit 2, one `error:` line naming the problem, no traceback; returns the line."""
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 2, (proc.returncode, proc.stderr[-2000:])
    assert "Traceback" not in proc.stderr, proc.stderr[-2000:]
    assert len(lines) == 1 and lines[0].startswith("error: "), proc.stderr[-2000:]
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


def scan_fails_cleanly(ref: str, *needles: str, home: Path, watch: Path) -> str:
    """`keelwatch scan REF` fails with one line and leaves everything under `watch` unchanged."""
    before = snapshot(watch, skip=home)
    proc = keelwatch("scan", ref, "--no-vulns", "--no-store", "-q", "-f", "json", home=home, cwd=watch)
    line = assert_one_line_error(proc, *needles)
    assert snapshot(watch, skip=home) == before
    return line
