"""`keelwatch scan` end to end through the real console entry point: formats, --output, exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from imagebuilder import FileEntry, make_layer
from keelwatch.model import ScanResult

from ._support import run_cli as keelwatch


@pytest.fixture
def image(debian_image: Path) -> Path:
    return debian_image


def test_json_to_output_file(image: Path, tmp_path: Path, keelwatch_home: Path) -> None:
    out = tmp_path / "scan.json"
    proc = keelwatch("scan", f"oci:{image}", "--format", "json", "--output", str(out), home=keelwatch_home)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == ""
    result = ScanResult.from_dict(json.loads(out.read_text()))
    assert result.image.os.id == "debian"
    assert len([p for p in result.packages if p.type == "deb"]) > 10
    assert not [p.name for p in out.parent.iterdir() if p.name.startswith(".scan.json.")]  # no temp left


@pytest.mark.parametrize("fmt", ["table", "cyclonedx", "spdx"])
def test_formats_to_stdout(image: Path, fmt: str, keelwatch_home: Path) -> None:
    packages = ["--packages"] if fmt == "table" else []  # the table lists findings first, packages on request
    proc = keelwatch(
        "scan", f"oci:{image}", "-f", fmt, "--quiet", "--no-cache", *packages, home=keelwatch_home
    )
    assert proc.returncode == 0, proc.stderr
    assert "base-files" in proc.stdout
    if fmt != "table":
        json.loads(proc.stdout)


@pytest.mark.parametrize(
    "ref",
    ["oci:/nonexistent/layout", "no such ref!", "docker-archive:/nonexistent.tar", "oci:{image}:missing-tag"],
)
def test_bad_reference_is_one_line_and_exit_2(ref: str, image: Path, keelwatch_home: Path) -> None:
    proc = keelwatch("scan", ref.format(image=image), home=keelwatch_home)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), proc.stderr
    assert "Traceback" not in proc.stderr


def test_corrupt_blob_fails_and_writes_nothing(image: Path, tmp_path: Path, keelwatch_home: Path) -> None:
    index = json.loads((image / "index.json").read_text())
    manifest = json.loads(
        (image / "blobs" / "sha256" / index["manifests"][0]["digest"].split(":")[1]).read_text()
    )
    blob = image / "blobs" / "sha256" / manifest["layers"][0]["digest"].split(":")[1]
    data = bytearray(blob.read_bytes())
    data[len(data) // 2] ^= 0xFF
    blob.write_bytes(bytes(data))
    out = tmp_path / "out.json"
    proc = keelwatch("scan", f"oci:{image}", "-f", "json", "-o", str(out), home=keelwatch_home)
    assert proc.returncode == 2
    assert len(proc.stderr.strip().splitlines()) == 1
    assert not out.exists()


def test_output_into_missing_directory(image: Path, tmp_path: Path, keelwatch_home: Path) -> None:
    proc = keelwatch("scan", f"oci:{image}", "-o", str(tmp_path / "nope" / "x.json"), home=keelwatch_home)
    assert proc.returncode == 2
    assert proc.stderr.startswith("error: --output")


def test_platform_selects_from_index(tmp_path: Path, keelwatch_home: Path) -> None:
    from imagebuilder import OciLayoutWriter

    status = Path("/var/lib/dpkg/status").read_bytes()
    release = FileEntry("etc/os-release", Path("/etc/os-release").read_bytes())
    amd = make_layer([release, FileEntry("var/lib/dpkg/status", status)])
    # the arm64 variant: only the first installed package
    first = next(s for s in status.split(b"\n\n") if b"Status: install ok installed" in s) + b"\n"
    arm = make_layer([release, FileEntry("var/lib/dpkg/status", first)])
    writer = OciLayoutWriter(tmp_path / "multi")
    children = [
        writer.add_image([amd], platform="linux/amd64", tag=None),
        writer.add_image([arm], platform="linux/arm64/v8", tag=None),
    ]
    writer.add_index(children, tag="latest")
    counts = {}
    for platform in ("linux/amd64", "linux/arm64/v8"):
        out = tmp_path / f"{platform.replace('/', '-')}.json"
        proc = keelwatch(
            "scan",
            f"oci:{tmp_path / 'multi'}",
            "--platform",
            platform,
            "-f",
            "json",
            "-o",
            str(out),
            home=keelwatch_home,
        )
        assert proc.returncode == 0, proc.stderr
        result = ScanResult.from_dict(json.loads(out.read_text()))
        assert result.image.platform == platform
        counts[platform] = len(result.packages)
    assert counts["linux/arm64/v8"] == 1 < counts["linux/amd64"]
    proc = keelwatch("scan", f"oci:{tmp_path / 'multi'}", "--platform", "linux/s390x", home=keelwatch_home)
    assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1
