"""`keelwatch scan` with vulnerabilities, end to end: real image, real OSV data, every output.

The image is the example builder's app-python (real wheels of old releases from PyPI);
the data is the real OSV PyPI export in ../shared/data. Expectations are computed from the
raw OSV documents in the test, not written down.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
import zipfile
from datetime import date, timedelta
from pathlib import Path

import jsonschema
import pytest
from packaging.version import Version

REPO = Path(__file__).resolve().parents[2]
DOWNLOADS = REPO / ".keelwatch-run" / "downloads"
ENTRY = "from keelwatch.cli import main; main()"
pytestmark = pytest.mark.slow


def run(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    env = {"KEELWATCH_HOME": str(home), "PATH": "/usr/bin:/bin"}
    return subprocess.run(
        [sys.executable, "-c", ENTRY, *args], capture_output=True, text=True, env=env, timeout=300
    )


@pytest.fixture(scope="module")
def app_python(tmp_path_factory: pytest.TempPathFactory) -> Path:
    spec = importlib.util.spec_from_file_location(
        "kw_build_images_vulns", REPO / "examples" / "build_images.py"
    )
    assert spec and spec.loader
    builder = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = builder
    spec.loader.exec_module(builder)
    out = tmp_path_factory.mktemp("images")
    builder.build(out, ["app-python"], downloads=DOWNLOADS)
    return out / "app-python"


@pytest.fixture(scope="module")
def home(pypi_home: Path) -> Path:
    return pypi_home


def expected_pypi_ids(shared_data: Path, name: str, version: str) -> set[str]:
    """Advisories whose ECOSYSTEM ranges (introduced/fixed) or versions list cover name==version."""
    installed = Version(version)
    hits = set()
    with zipfile.ZipFile(shared_data / "osv" / "PyPI" / "all.zip") as zf:
        for member in zf.namelist():
            doc = json.loads(zf.read(member))
            if doc.get("withdrawn"):
                continue
            for affected in doc.get("affected", []):
                if affected["package"]["name"].lower() != name:
                    continue
                if version in affected.get("versions", []):
                    hits.add(doc["id"])
                for rng in affected.get("ranges", []):
                    if rng["type"] != "ECOSYSTEM":
                        continue
                    lo, hi = None, None
                    for event in rng["events"]:
                        lo = Version(event["introduced"]) if "introduced" in event else lo
                        hi = Version(event["fixed"]) if "fixed" in event else hi
                    if lo is not None and lo <= installed and (hi is None or installed < hi):
                        hits.add(doc["id"])
    return hits


def test_json_findings_match_the_osv_data(app_python: Path, home: Path, shared_data: Path) -> None:
    done = run("scan", f"oci:{app_python}", "-q", "-f", "json", home=home)
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)
    by_package: dict[str, set[str]] = {}
    for f in doc["findings"]:
        ids = {f["id"], *f["aliases"], *(s["id"] for s in f["sources"])}
        by_package.setdefault(f["package"]["name"], set()).update(ids)
    for name, version in (
        ("requests", "2.19.1"),
        ("urllib3", "1.24.1"),
        ("jinja2", "2.10"),
        ("pyyaml", "5.3"),
    ):
        expected = expected_pypi_ids(shared_data, name, version)
        assert expected, f"the data has advisories for {name} {version}"
        assert expected <= by_package.get(name, set()), (name, expected - by_package.get(name, set()))
    requests = next(f for f in doc["findings"] if f["id"] == "CVE-2018-18074")
    assert requests["fixed_versions"] == ["2.20.0"]
    assert requests["remediation"]["command"] == "pip install 'requests>=2.20.0'"
    assert requests["layer_index"] == next(
        p["layer_index"] for p in doc["packages"] if p["name"] == "requests"
    )
    assert doc["summary"]["findings"] == len(doc["findings"])
    # packages at or above every fix carry no finding
    assert "pip" not in by_package and "setuptools" not in by_package


def test_gate_and_filters(app_python: Path, home: Path) -> None:
    assert (
        run("scan", f"oci:{app_python}", "-q", "--fail-on", "high", "-f", "json", home=home).returncode == 1
    )
    # no critical finding: passes once the user accepts that this data is old and covers
    # only PyPI (the image's Debian packages have none); without that the gate fails closed
    allowed = ("--allow-stale", "--allow-uncovered")
    assert (
        run(
            "scan", f"oci:{app_python}", "-q", "--fail-on", "critical", *allowed, "-f", "json", home=home
        ).returncode
        == 0
    )
    assert (
        run("scan", f"oci:{app_python}", "-q", "--fail-on", "critical", "-f", "json", home=home).returncode
        == 3
    )
    high = json.loads(
        run("scan", f"oci:{app_python}", "-q", "--severity", "high", "-f", "json", home=home).stdout
    )
    assert high["findings"] and all(f["severity"]["level"] in ("high", "critical") for f in high["findings"])
    plain = json.loads(run("scan", f"oci:{app_python}", "-q", "--no-vulns", "-f", "json", home=home).stdout)
    assert "findings" not in plain
    bad = run("scan", f"oci:{app_python}", "--fail-on", "severe", home=home)
    assert bad.returncode == 2 and bad.stderr.strip().startswith("error: --fail-on")


def test_cyclonedx_and_sarif_carry_the_findings(app_python: Path, home: Path, tmp_path: Path) -> None:
    from cyclonedx.schema import SchemaVersion
    from cyclonedx.validation.json import JsonStrictValidator

    cdx = run("scan", f"oci:{app_python}", "-q", "-f", "cyclonedx", home=home).stdout
    assert JsonStrictValidator(SchemaVersion.V1_6).validate_str(cdx) is None
    vulns = json.loads(cdx)["vulnerabilities"]
    assert any(v["id"] == "CVE-2018-18074" and v["affects"] for v in vulns)
    sarif = json.loads(run("scan", f"oci:{app_python}", "-q", "-f", "sarif", home=home).stdout)
    schema = json.loads((REPO / "tests" / "schemas" / "sarif-2.1.0-rtm.5.json").read_text())
    jsonschema.validate(sarif, schema)
    assert any(r["ruleId"] == "CVE-2018-18074" for r in sarif["runs"][0]["results"])


def test_ignore_file_suppresses_until_it_expires(app_python: Path, home: Path, tmp_path: Path) -> None:
    future = (date.today() + timedelta(days=30)).isoformat()
    past = (date.today() - timedelta(days=1)).isoformat()
    for expires, suppressed in ((future, True), (past, False)):
        ignore = tmp_path / f"ignore-{expires}.yaml"
        ignore.write_text(
            f"- id: CVE-2018-18074\n  package: requests\n  reason: not reachable here\n  expires: {expires}\n"
        )
        done = run("scan", f"oci:{app_python}", "-q", "-f", "json", "--ignore-file", str(ignore), home=home)
        finding = next(f for f in json.loads(done.stdout)["findings"] if f["id"] == "CVE-2018-18074")
        assert finding["suppressed"] is suppressed
        if not suppressed:
            assert "expired" in done.stderr


def test_rescan_uses_the_stored_scan(app_python: Path, home: Path) -> None:
    scanned = run("scan", f"oci:{app_python}", "-q", "-f", "json", home=home)
    assert scanned.returncode == 0
    count = json.loads(scanned.stdout)["summary"]["findings"]
    done = run("rescan", "--all", "--format", "json", home=home)
    assert done.returncode == 0, done.stderr
    images = json.loads(done.stdout)["images"]
    mine = [i for i in images if i["ref"] == f"oci:{app_python}"]
    assert len(mine) == 1 and mine[0]["findings"] == count
