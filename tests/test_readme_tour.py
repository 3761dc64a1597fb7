"""The README's tour runs as written: every command of its ```sh blocks, in order, in one bash script.

The script runs in a copy of the files the tour reads (examples/, README.md) with `uv run`
replaced by this test's own environment. An expected non-zero exit is written in the README as
`CMD || test $? -eq N`; here that becomes a check that CMD exits exactly N (a command that
starts passing, or fails another way, fails the test), so the README cannot drift from the tool.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
# Wheels and the npm tree cached between runs, as tests/test_examples.py and `make run` keep them.
DOWNLOADS = [REPO / ".keelwatch-run" / "downloads", REPO / ".keelwatch-run" / "images" / ".downloads"]
EXPECTED_EXIT = re.compile(r"^(?P<cmd>.*?)\s*\|\|\s*test \$\? -eq (?P<code>[0-9]+)\s*$")

pytestmark = pytest.mark.slow


def tour_commands(readme: str) -> list[str]:
    """The shell commands of the ```sh blocks under `## A tour`, continuation lines joined."""
    section = readme.split("\n## A tour", 1)[1].split("\n## ", 1)[0]
    commands: list[str] = []
    for block in re.findall(r"^```sh\n(.*?)^```", section, flags=re.M | re.S):
        joined = re.sub(r"\s*\\\n\s*", " ", block)
        for line in joined.splitlines():
            line = re.sub(r"\s+#.*$", "", line).strip()  # comments: a `#` after a space
            if line and not line.startswith("#"):
                commands.append(line)
    return commands


def strict(command: str) -> str:
    """`CMD || test $? -eq N` -> exactly N, or the script stops."""
    match = EXPECTED_EXIT.match(command)
    if match is None:
        return command
    code = match["code"]
    stop = f'{{ echo "exit $rc, not {code}" >&2; exit 1; }}'
    return f"rc=0; {match['cmd']} || rc=$?; [ $rc -eq {code} ] || {stop}"


def script(commands: list[str]) -> str:
    venv = Path(sys.executable).parent
    lines = ["set -euo pipefail"]
    for command in commands:
        command = re.sub(r"\buv run keelwatch\b", str(venv / "keelwatch"), command)
        command = re.sub(r"\buv run python\b", sys.executable, command)
        assert "uv run" not in command, command
        lines += [f"echo '+ {command.replace(chr(39), '')}' >&2", strict(command)]
    return "\n".join(lines) + "\n"


def test_tour_extraction_is_strict() -> None:
    """The extraction sees every command and turns an expected exit into an exact check."""
    readme = (
        "intro\n## A tour\n```sh\na --x \\\n  --y   # note\nb || test $? -eq 3\n```\n## Next\n```sh\nc\n```\n"
    )
    assert tour_commands(readme) == ["a --x --y", "b || test $? -eq 3"]
    for command, code, ok in (("true", 3, False), ("exit 3", 3, True), ("exit 1", 3, False)):
        body = f"set -euo pipefail\n{strict(f'(bash -c {command!r}) || test $? -eq {code}')}\necho done\n"
        done = subprocess.run(["bash", "-c", body], capture_output=True, text=True)
        assert (done.returncode == 0 and done.stdout == "done\n") is ok, (command, done)


@pytest.mark.timeout(900)  # builds the example images and runs ~30 commands on a shared machine
def test_readme_tour_runs_as_written(tmp_path: Path) -> None:
    commands = tour_commands((REPO / "README.md").read_text())
    assert commands[0] == "export KEELWATCH_HOME=.keelwatch-run/home"
    assert any("db update" in c for c in commands) and any(" check " in c for c in commands)
    first_scan = next(i for i, c in enumerate(commands) if " scan " in c)
    assert any("db update" in c for c in commands[:first_scan]), "data is loaded before the first scan"
    work = tmp_path / "clone"
    shutil.copytree(REPO / "examples", work / "examples", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(REPO / "README.md", work / "README.md")
    cache = work / ".keelwatch-run" / "images" / ".downloads"  # build_images.py's default cache
    for seed in DOWNLOADS:
        if seed.is_dir():
            shutil.copytree(seed, cache, dirs_exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("KEELWATCH_")}
    env.update({"COLUMNS": "80", "TERM": "dumb", "HOME": str(tmp_path / "home")})
    (work / "tour.sh").write_text(script(commands))
    done = subprocess.run(["bash", "tour.sh"], cwd=work, env=env, capture_output=True, text=True, timeout=850)
    assert done.returncode == 0, done.stderr[-4000:]
    # what the tour promises, seen in its output
    assert "CVE-2018-18074" in done.stdout  # requests 2.19.1, from the offline bundle
    assert "app-python-plugin (level 4)" in done.stdout  # the lineage, once the bases are scanned
    assert (work / ".keelwatch-run" / "app.cdx.json").stat().st_size > 0
    assert (work / ".keelwatch-run" / "home" / "keelwatch.db").is_file()
