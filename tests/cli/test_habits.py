"""Habits of Trivy, Grype and Syft users: format aliases, `-o json`, `-q`, ignore files, the scan table."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from imagebuilder import FileEntry, make_layer, write_oci_layout
from keelwatch.model import Package
from keelwatch.sbom.table import render as render_table
from keelwatch.scan import scan_reference
from keelwatch.vulndb.findings import Finding, Kev, PackageRef
from keelwatch.vulndb.severity import Severity

from ._support import run_cli

ANSI = re.compile(r"\x1b\[[0-9;]*m")


@pytest.fixture
def image(debian_image: Path) -> Path:
    return debian_image


@pytest.mark.parametrize(
    ("given", "key"), [("cyclonedx-json", "bomFormat"), ("SPDX-JSON", "spdxVersion"), ("JSON", "packages")]
)
def test_format_aliases_any_case(given: str, key: str, image: Path, keelwatch_home: Path) -> None:
    proc = run_cli("scan", f"oci:{image}", "-q", "--no-store", "--no-vulns", "-f", given, home=keelwatch_home)
    assert proc.returncode == 0, proc.stderr
    assert key in json.loads(proc.stdout)


def test_unknown_format_is_one_line(image: Path, keelwatch_home: Path) -> None:
    proc = run_cli("scan", f"oci:{image}", "-f", "xml", home=keelwatch_home)
    assert proc.returncode == 2 and proc.stderr.strip().splitlines() == [
        "error: --format: unknown format 'xml' (one of table, json, cyclonedx, spdx, sarif)"
    ]
    proc = run_cli("base", "list", "-f", "JSON", home=keelwatch_home)
    assert proc.returncode == 0 and json.loads(proc.stdout) == []


def test_output_named_like_a_format_warns(image: Path, tmp_path: Path, keelwatch_home: Path) -> None:
    work = tmp_path / "work"
    work.mkdir()
    proc = run_cli(
        "scan", f"oci:{image}", "--no-store", "--no-vulns", "-o", "json", home=keelwatch_home, cwd=work
    )
    assert proc.returncode == 0, proc.stderr
    assert "writing to a file named 'json'" in proc.stderr and "-f json" in proc.stderr
    assert (work / "json").is_file()


def test_default_ignore_file_is_used_and_quiet_silences_notes(
    image: Path, tmp_path: Path, keelwatch_home: Path
) -> None:
    work = tmp_path / "work"
    work.mkdir()
    (work / ".keelwatchignore").write_text("# accepted\nCVE-2018-18074\n")
    loud = run_cli("scan", f"oci:{image}", "--no-store", home=keelwatch_home, cwd=work)
    assert loud.returncode == 0, loud.stderr
    assert "note: using ignore file .keelwatchignore" in loud.stderr
    quiet = run_cli("scan", f"oci:{image}", "--no-store", "-q", home=keelwatch_home, cwd=work)
    assert quiet.returncode == 0 and "note" not in quiet.stderr, quiet.stderr
    (work / ".keelwatchignore").write_text("- id: [not, a, string]\n")
    broken = run_cli("scan", f"oci:{image}", "--no-store", "-q", home=keelwatch_home, cwd=work)
    assert broken.returncode == 2 and ".keelwatchignore" in broken.stderr


def _finding(result, level: str, kev: bool = False) -> Finding:  # type: ignore[no-untyped-def]
    pkg = next(p for p in result.packages if p.type == "deb")
    return Finding(
        id=f"CVE-2099-{level}",
        package=PackageRef(pkg.name, pkg.version, pkg.type, pkg.purl),
        fixed_versions=["99"],
        severity=Severity(level),
        kev=Kev(flag=kev),
    )


@pytest.fixture
def result(image: Path):  # type: ignore[no-untyped-def]
    return scan_reference(f"oci:{image}", use_cache=False)


def test_table_shows_findings_first_and_packages_on_request(result) -> None:  # type: ignore[no-untyped-def]
    findings = [_finding(result, "low"), _finding(result, "critical", kev=True)]
    text = render_table(result, findings=findings)
    assert text.index("CVE-2099-critical") < text.index("CVE-2099-low")  # most urgent first
    assert "base-files" not in text and f"({len(result.packages)} packages: add --packages" in text
    both = render_table(result, findings=findings, packages=True)
    assert both.index("CVE-2099-low") < both.index("base-files")
    assert "base-files" in render_table(result)  # nothing matched: the packages are the result


def test_table_colours_severity_and_kev_on_a_terminal(result) -> None:  # type: ignore[no-untyped-def]
    findings = [_finding(result, "critical", kev=True)]
    plain = render_table(result, findings=findings)
    assert not ANSI.search(plain)
    coloured = render_table(result, findings=findings, width=100, color=True)
    assert re.search(r"\x1b\[1;31mcritical", coloured) and re.search(r"\x1b\[1;31myes", coloured)


def test_table_fits_the_terminal_and_never_wraps_when_piped(result) -> None:  # type: ignore[no-untyped-def]
    long = Package(name="x" * 150, version="1.0-" + "9" * 60, type="deb")
    result.packages.append(long)
    piped = render_table(result)
    assert any(line.startswith("x" * 150 + "  1.0-" + "9" * 60) for line in piped.splitlines())
    narrow = render_table(result, findings=[_finding(result, "high")], packages=True, width=80)
    assert max(len(line) for line in narrow.splitlines()) <= 80
    header = next(line for line in narrow.splitlines() if line.startswith("ID "))
    assert header.split()[-1] == "FROM"  # the fold-prone FIX column needs a wide terminal
    wide = render_table(result, findings=[_finding(result, "high")], width=160)
    assert next(line for line in wide.splitlines() if line.startswith("ID ")).split()[-1] == "FIX"


def test_piped_scan_lines_are_not_wrapped(tmp_path: Path, keelwatch_home: Path) -> None:
    deep = tmp_path / ("a-rather-long-directory-name-" * 5) / "img"
    write_oci_layout(deep, [make_layer([FileEntry("etc/os-release", b"ID=debian\n")])], tag="1")
    proc = run_cli("scan", f"oci:{deep}", "-q", "--no-store", "--no-vulns", home=keelwatch_home)
    assert proc.returncode == 0, proc.stderr
    assert f"image    oci:{deep}" in proc.stdout.splitlines()
