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


def test_policy_gates_approval(tmp_path: Path, shared_data: Path) -> None:
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
    # a findings rule needs data: without any, the approval cannot be judged and is refused
    blind = run("base", "approve", ref, "--policy", str(lenient), "--reason", "golden", home=home)
    assert blind.returncode == 2 and "approval refused: cannot judge this image" in blind.stderr
    assert run("db", "update", "--source", "kev", "--from", str(shared_data), home=home).returncode == 0
    # the real KEV catalogue is loaded, but nothing covers Debian 12 packages: allowed explicitly
    approved = run(
        "base", "approve", ref, "--policy", str(lenient), "--reason", "golden", "--allow-uncovered", home=home
    )
    assert approved.returncode == 0, approved.stderr
    assert "warning: not-covered" in approved.stderr
    audit = json.loads(run("base", "audit", ref, "--format", "json", home=home).stdout)
    assert [e["action"] for e in audit] == ["register", "approve"]
    assert audit[-1]["details"]["policy"] == {"name": "lenient", "status": "pass"}


def test_approval_judges_the_digest_it_approves(tmp_path: Path, shared_data: Path) -> None:
    """TOCTOU: the layout registered is rewritten in place before `approve --policy`.

    The check would see the new image while the catalogue approves the old digest: refused.
    """
    layout = tmp_path / "base"
    release = FileEntry("etc/os-release", Path("/etc/os-release").read_bytes())
    status = Path("/var/lib/dpkg/status").read_bytes()
    write_oci_layout(layout, [make_layer([release, FileEntry("var/lib/dpkg/status", status)])], tag="12")
    ref = f"oci:{layout}"
    home = tmp_path / "home"
    assert run("db", "update", "--source", "kev", "--from", str(shared_data), home=home).returncode == 0
    added = run("base", "add", "-q", ref, home=home)
    assert added.returncode == 0, added.stderr
    registered = added.stdout.split()[1].rstrip(":")
    # the same path now holds another image (half the packages: another digest)
    half = status.split(b"\n\n")
    rewritten = b"\n\n".join(half[: len(half) // 2]) + b"\n"
    write_oci_layout(layout, [make_layer([release, FileEntry("var/lib/dpkg/status", rewritten)])], tag="12")
    policy = tmp_path / "lenient.yaml"
    policy.write_text("apiVersion: keelwatch/v1\nkind: Policy\nname: lenient\nrules:\n  - {type: no_kev}\n")
    done = run(
        "base", "approve", ref, "--policy", str(policy), "--reason", "ok", "--allow-uncovered", home=home
    )
    assert done.returncode == 2
    assert (
        done.stderr.startswith("error: approval refused:")
        and f"not the registered {registered}" in done.stderr
    )
    audit = json.loads(run("base", "audit", ref, "--format", "json", home=home).stdout)
    assert [e["action"] for e in audit] == ["register"]
    shown = json.loads(run("base", "show", registered, home=home).stdout)
    assert shown["state"] == "candidate"
