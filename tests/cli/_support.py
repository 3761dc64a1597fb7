"""Running the real console entry point in a child process, with its own home and nothing else."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ENTRY = "from keelwatch.cli import main; main()"


def run_cli(
    *args: str, home: Path, env: dict[str, str] | None = None, cwd: Path | None = None, timeout: int = 120
) -> subprocess.CompletedProcess[str]:
    """`keelwatch ARGS` as a user runs it: a clean environment, KEELWATCH_HOME set, output captured."""
    full = {"KEELWATCH_HOME": str(home), "PATH": "/usr/bin:/bin", **(env or {})}
    return subprocess.run(
        [sys.executable, "-c", ENTRY, *args],
        capture_output=True,
        text=True,
        env=full,
        cwd=cwd,
        timeout=timeout,
    )
