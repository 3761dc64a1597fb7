"""Reference implementations used as test oracles, each driven in one batch per call.

- dpkg: the real `dpkg --compare-versions`, many pairs in one bash loop;
- rpm: rpm.labelCompare / rpm.ver from Debian's python3-rpm, run by the SYSTEM
  python as one long-running process fed JSON lines;
- Maven: ComparableVersion from the maven-artifact 3.9 jar, one `java` process;
- node-semver: the copy bundled with npm, one `node` process.

A missing tool skips the test on a developer machine but fails it in CI.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
FIXTURES = HERE.parent / "fixtures" / "versions"
IN_CI = os.environ.get("CI") == "true"
SYSTEM_PYTHON = "/usr/bin/python3"


def _register_strategies() -> None:
    """Make `import versions_strategies` work for the test modules under --import-mode=importlib."""
    if "versions_strategies" in sys.modules:
        return
    spec = importlib.util.spec_from_file_location("versions_strategies", HERE / "versions_strategies.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["versions_strategies"] = module
    spec.loader.exec_module(module)


_register_strategies()


def missing(what: str) -> None:
    """Skip locally, fail in CI (no test may be skipped for a missing tool there)."""
    if IN_CI:
        pytest.fail(f"{what} is required in CI")
    pytest.skip(f"{what} not available")


@pytest.fixture(scope="session")
def fixtures_dir() -> Path:
    return FIXTURES


_DPKG_LOOP = r"""
while IFS=$'\t' read -r a b; do
  dpkg --compare-versions -- "$a" lt "$b" 2>/dev/null
  rc=$?
  if [ $rc -eq 0 ]; then echo -1; continue; fi
  if [ $rc -ne 1 ]; then echo E; continue; fi
  if dpkg --compare-versions -- "$a" eq "$b" 2>/dev/null; then echo 0; else echo 1; fi
done
"""


@pytest.fixture(scope="session")
def dpkg_oracle() -> Callable[[list[tuple[str, str]]], list[int | None]]:
    """pairs -> dpkg's verdicts (-1/0/1, None when dpkg rejects either version)."""
    if shutil.which("dpkg") is None:
        missing("dpkg")

    def run(pairs: list[tuple[str, str]]) -> list[int | None]:
        data = "".join(f"{a}\t{b}\n" for a, b in pairs)
        out = subprocess.run(
            ["bash", "-c", _DPKG_LOOP], input=data, capture_output=True, text=True, check=True, timeout=300
        ).stdout.split()
        assert len(out) == len(pairs)
        return [None if o == "E" else int(o) for o in out]

    return run


class _RpmOracle:
    def __init__(self) -> None:
        self.proc = subprocess.Popen(
            [SYSTEM_PYTHON, str(HERE / "rpm_oracle.py")],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            bufsize=1,
        )

    def ask(self, request: list) -> object:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(json.dumps(request) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError("rpm oracle died")
        return json.loads(line)

    def label_compare(self, a: tuple, b: tuple) -> int:
        return int(self.ask(["label", list(a), list(b)]))  # type: ignore[arg-type]

    def parse(self, evr: str) -> list:
        return self.ask(["parse", evr])  # type: ignore[return-value]

    def close(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        self.proc.wait(timeout=30)


@pytest.fixture(scope="session")
def rpm_oracle():
    if not Path(SYSTEM_PYTHON).exists() or subprocess.run([SYSTEM_PYTHON, "-c", "import rpm"]).returncode:
        missing("system python3 with the rpm module (Debian python3-rpm)")
    oracle = _RpmOracle()
    yield oracle
    oracle.close()


def _maven_jar() -> Path | None:
    repo = Path(os.environ.get("HOME", "/root")) / ".m2/repository/org/apache/maven/maven-artifact"
    for base in (repo, Path("/root/.m2/repository/org/apache/maven/maven-artifact")):
        jars = sorted(base.glob("3.9.*/maven-artifact-3.9.*.jar"))
        if jars:
            return jars[-1]
    return None


@pytest.fixture(scope="session")
def maven_oracle() -> Callable[[list[tuple[str, str]]], list[int]]:
    """pairs -> ComparableVersion(a).compareTo(b) signs, from the real maven-artifact 3.9 jar."""
    jar = _maven_jar()
    if jar is None or shutil.which("java") is None:
        missing("java and maven-artifact 3.9.x in ~/.m2")

    def run(pairs: list[tuple[str, str]]) -> list[int]:
        data = "".join(f"{a}\t{b}\n" for a, b in pairs)
        with tempfile.TemporaryDirectory() as tmp:  # keeps javac's in-memory compile off the tree
            out = subprocess.run(
                ["java", "-cp", str(jar), str(HERE / "MavenCompare.java")],
                input=data.encode(),
                capture_output=True,
                check=True,
                timeout=300,
                cwd=tmp,
            ).stdout.decode()
        results = [int(x) for x in out.split()]
        assert len(results) == len(pairs)
        return results

    return run


def _node_semver() -> Path | None:
    if shutil.which("node") is None:
        return None
    candidates = []
    npm = shutil.which("npm")
    if npm:
        root = subprocess.run([npm, "root", "-g"], capture_output=True, text=True).stdout.strip()
        if root:
            candidates.append(Path(root) / "npm" / "node_modules" / "semver")
    candidates.append(Path("/usr/lib/node_modules/npm/node_modules/semver"))
    for c in candidates:
        if (c / "package.json").is_file():
            return c
    return None


@pytest.fixture(scope="session")
def node_semver_oracle() -> Callable[[list[tuple[str, str]]], list[tuple[bool, bool, int | None]]]:
    """pairs -> (valid a, valid b, compare) from node-semver (the copy npm ships), strict mode."""
    path = _node_semver()
    if path is None:
        missing("node with npm's bundled node-semver")

    def run(pairs: list[tuple[str, str]]) -> list[tuple[bool, bool, int | None]]:
        data = "".join(json.dumps([a, b]) + "\n" for a, b in pairs)
        out = subprocess.run(
            ["node", str(HERE / "semver_oracle.js"), str(path)],
            input=data,
            capture_output=True,
            text=True,
            check=True,
            timeout=300,
        ).stdout.splitlines()
        assert len(out) == len(pairs)
        return [tuple(json.loads(line)) for line in out]  # type: ignore[misc]

    return run
