"""`keelwatch base approve --policy`: a failing policy refuses approval, a passing one is recorded."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from imagebuilder import FileEntry, make_layer, write_oci_layout

ENTRY = "from keelwatch.cli import main; main()"


def run(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    env = {
        "KEELWATCH_HOME": str(home),
        "PATH": "/usr/bin:/bin",
        "KEELWATCH_ACTOR": "erin",
        "KEELWATCH_TEAM": "platform-experts",
    }
    return subprocess.run(
        [sys.executable, "-c", ENTRY, *args], capture_output=True, text=True, env=env, timeout=300
    )


def test_policy_gates_approval(tmp_path: Path) -> None:
    layout = tmp_path / "debian-base"
    entries = [
        FileEntry("etc/os-release", Path("/etc/os-release").read_bytes()),
        FileEntry("var/lib/dpkg/status", Path("/var/lib/dpkg/status").read_bytes()),
    ]
    write_oci_layout(layout, [make_layer(entries)], tag="12")
    ref = f"oci:{layout}"
    home = tmp_path / "home"
    assert run("base", "add", "-q", ref, home=home).returncode == 0
    strict = tmp_path / "strict.yaml"
    strict.write_text(
        "apiVersion: keelwatch/v1\nkind: Policy\nname: strict\nrules:\n"
        "  - {id: meta, type: required_metadata, keys: [maintainer, revision]}\n"
    )
    refused = run("base", "approve", ref, "--policy", str(strict), home=home)
    assert refused.returncode == 2 and "approval refused: policy strict fails (meta)" in refused.stderr
    lenient = tmp_path / "lenient.yaml"
    lenient.write_text("apiVersion: keelwatch/v1\nkind: Policy\nname: lenient\nrules:\n  - {type: no_kev}\n")
    approved = run("base", "approve", ref, "--policy", str(lenient), "--reason", "golden", home=home)
    assert approved.returncode == 0, approved.stderr
    audit = json.loads(run("base", "audit", ref, "--format", "json", home=home).stdout)
    assert [e["action"] for e in audit] == ["register", "approve"]
    assert audit[-1]["details"]["policy"] == {"name": "lenient", "status": "pass"}
