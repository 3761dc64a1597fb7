"""The example images: real content, deterministic, and what a scan of them must find."""

from __future__ import annotations

import importlib.util
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from keelwatch.model import ScanResult
from keelwatch.scan import scan_reference

REPO = Path(__file__).resolve().parent.parent
# Wheels and the npm tree are cached here between runs (git-ignored), as `make run` does.
DOWNLOADS = REPO / ".keelwatch-run" / "downloads"
BUILT = [
    "debian-base",
    "python-base",
    "app-python",
    "app-python-plugin",
    "app-node",
    "debian-base-multiarch",
    "noannot",
]

pytestmark = pytest.mark.slow


def load_builder():
    spec = importlib.util.spec_from_file_location("kw_build_images", REPO / "examples" / "build_images.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def builder():
    return load_builder()


@pytest.fixture(scope="module")
def images(builder, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    out = tmp_path_factory.mktemp("examples")
    digests = builder.build(out, BUILT, docker_archive=True, downloads=DOWNLOADS)
    return out, digests


def scan(ref: str, **kw) -> ScanResult:
    return scan_reference(ref, use_cache=False, **kw)


def pkgs(result: ScanResult, kind: str) -> set[tuple[str, str]]:
    return {(p.name, p.version) for p in result.packages if p.type == kind}


def installed_debs() -> set[tuple[str, str]]:
    out = subprocess.run(
        ["dpkg-query", "-W", "-f", "${db:Status-Status}\t${Package}\t${Version}\n"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    rows = [line.split("\t") for line in out.splitlines()]
    return {(name, version) for status, name, version in rows if status == "installed"}


def test_debian_base_packages_equal_dpkg_query(images) -> None:
    out, _ = images
    result = scan(f"oci:{out / 'debian-base'}")
    assert result.image.os.id == "debian"
    assert pkgs(result, "deb") == installed_debs()
    labels = result.image.labels
    for key in ("authors", "version", "source", "revision", "vendor", "created"):
        assert labels[f"org.opencontainers.image.{key}"]
        assert result.image.annotations[f"org.opencontainers.image.{key}"]


def test_builds_are_deterministic(images, builder, tmp_path: Path) -> None:
    out, digests = images
    index = json.loads((out / "debian-base" / "index.json").read_text())
    assert index["manifests"][0]["digest"] == digests["debian-base"]
    # Built again, alone: its parents are not written, yet every digest of the chain is the same.
    again = builder.build(tmp_path / "again", ["app-python"], downloads=DOWNLOADS)
    assert again == {"app-python": digests["app-python"]}


def _manifest(layout: Path) -> dict:
    index = json.loads((layout / "index.json").read_text())
    return json.loads((layout / "blobs" / "sha256" / index["manifests"][0]["digest"][7:]).read_text())


def _config(layout: Path) -> dict:
    return json.loads((layout / "blobs" / "sha256" / _manifest(layout)["config"]["digest"][7:]).read_text())


def test_app_python_old_releases_and_whiteout(images) -> None:
    out, _ = images
    result = scan(f"oci:{out / 'app-python'}")
    found = {(p.name.lower(), p.version): p for p in result.packages if p.type == "python"}
    for name, version in [
        ("requests", "2.19.1"),
        ("urllib3", "1.24.1"),
        ("jinja2", "2.10"),
        ("pyyaml", "5.3"),
        ("markupsafe", "1.1.0"),
        ("certifi", "2018.4.16"),
        ("idna", "2.7"),
        ("chardet", "3.0.4"),
    ]:
        assert (name, version) in found, name
        assert found[(name, version)].layer_index == 2
    assert ("six", "1.11.0") not in found  # installed in layer 2, whited out in layer 3
    assert found[("six", "1.16.0")].layer_index == 1
    assert found[("pip", "24.3.1")].layer_index == 1
    assert len(pkgs(result, "deb")) == len(installed_debs())


def test_chain_annotations(images) -> None:
    out, digests = images
    parents = {"python-base": "debian-base", "app-python": "python-base"}
    for child, parent in parents.items():
        ann = _manifest(out / child).get("annotations", {})
        assert ann["org.opencontainers.image.base.digest"] == digests[parent]
        assert ann["org.opencontainers.image.base.name"].startswith(f"keelwatch.example/{parent}:")
        plain = _manifest(out / "noannot" / child).get("annotations", {})
        assert "org.opencontainers.image.base.digest" not in plain
        # the child's layers start with all of the parent's
        parent_ids = _config(out / parent)["rootfs"]["diff_ids"]
        assert _config(out / child)["rootfs"]["diff_ids"][: len(parent_ids)] == parent_ids


def test_app_node_packages(images) -> None:
    out, _ = images
    result = scan(f"oci:{out / 'app-node'}")
    npm = pkgs(result, "npm")
    for pkg in [("express", "4.17.1"), ("lodash", "4.17.15"), ("minimist", "1.2.0")]:
        assert pkg in npm
    lock = json.loads((REPO / "examples" / "app-node" / "package-lock.json").read_text())
    locked = {
        (path.rsplit("node_modules/", 1)[1], meta["version"])
        for path, meta in lock["packages"].items()
        if path.startswith("node_modules/")
    }
    assert locked <= npm


def test_multiarch_and_docker_archive(images) -> None:
    out, _ = images
    arm = scan(f"oci:{out / 'debian-base-multiarch'}", platform="linux/arm64/v8")
    assert arm.image.platform == "linux/arm64/v8"
    assert pkgs(arm, "deb") == installed_debs()
    amd = scan(f"oci:{out / 'debian-base-multiarch'}", platform="linux/amd64")
    assert amd.image.layers != arm.image.layers
    archive = scan(f"docker-archive:{out / 'app-python.docker.tar'}")
    oci = scan(f"oci:{out / 'app-python'}")
    assert {p.key() for p in archive.packages} == {p.key() for p in oci.packages}


def test_offline_bundle_is_the_real_records_for_the_examples(
    images, shared_data: Path, tmp_path: Path
) -> None:
    """examples/data is exactly what make_data_bundle.py cuts from the real snapshots: unchanged records."""
    out, _ = images
    script = REPO / "examples" / "make_data_bundle.py"
    cmd = [
        sys.executable,
        str(script),
        "--images",
        str(out),
        "--shared",
        str(shared_data),
        "--out",
        str(tmp_path),
    ]
    subprocess.run(cmd, check=True, capture_output=True)
    for rel in ("osv/PyPI/all.zip", "kev/known_exploited_vulnerabilities.json"):
        assert (tmp_path / rel).read_bytes() == (REPO / "examples" / "data" / rel).read_bytes(), rel


def test_offline_bundle_gives_real_findings(images, tmp_path: Path) -> None:
    """Loaded with `db update --from examples/data`, the demo image shows the PYSEC findings offline."""
    out, _ = images
    keelwatch = str(Path(sys.executable).with_name("keelwatch"))
    env = {"PATH": "/usr/bin:/bin", "KEELWATCH_HOME": str(tmp_path / "home")}
    bundle = str(REPO / "examples" / "data")
    subprocess.run([keelwatch, "db", "update", "--from", bundle], check=True, capture_output=True, env=env)
    report = tmp_path / "app.json"
    scan_cmd = [keelwatch, "scan", "-q", f"oci:{out / 'app-python'}", "-f", "json", "-o", str(report)]
    subprocess.run(
        scan_cmd, capture_output=True, env=env
    )  # the gate may fail on stale data: the report is written
    text = report.read_text()
    for cve in ("CVE-2018-18074", "CVE-2023-32681", "CVE-2023-43804"):  # requests, requests, urllib3
        assert cve in text


def test_example_policy_passes_images_that_follow_the_rules(images, tmp_path: Path) -> None:
    """examples/policy.yaml: the approved bases and the app on them pass; the depth-4 plugin and a
    base tagged `latest` fail. The bases are checked under the tag their layout gives them (`12`)."""
    out, _ = images
    keelwatch = str(Path(sys.executable).with_name("keelwatch"))
    env = {
        "PATH": "/usr/bin:/bin",
        "KEELWATCH_HOME": str(tmp_path / "home"),
        "KEELWATCH_ACTOR": "erin@example.com",
        "KEELWATCH_TEAM": "platform-experts",
    }
    policy = str(REPO / "examples" / "policy.yaml")

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([keelwatch, *args], capture_output=True, text=True, env=env)

    def check(name: str) -> tuple[int, dict[str, dict]]:
        done = run("check", "-q", f"oci:{out / name}", "--policy", policy, "-f", "json", *gaps)
        report = json.loads(done.stdout)
        return done.returncode, {r["rule"]: r for r in report["results"]}

    # the offline bundle is old and has no Debian data: the gaps are accepted explicitly
    gaps = ("--allow-stale", "--allow-uncovered")
    assert run("db", "update", "--from", str(REPO / "examples" / "data")).returncode == 0
    for base in ("debian-base", "python-base"):
        assert run("base", "add", f"oci:{out / base}").returncode == 0
        approved = run("base", "approve", f"oci:{out / base}", "--reason", "tour", "--policy", policy, *gaps)
        assert approved.returncode == 0, approved.stderr
    code, rules = check("debian-base")
    assert code == 0, rules
    assert "'12'" in rules["base-naming"]["message"] and rules["base-naming"]["status"] == "pass"
    assert rules["base-metadata"]["status"] == "pass"
    for name in ("python-base", "app-python"):
        code, rules = check(name)
        assert code == 0, (name, rules)
        assert rules["approved-base"]["status"] == "pass"
    code, rules = check("app-python-plugin")
    assert code == 1
    assert rules["max-depth"]["status"] == "fail" and "depth 4" in rules["max-depth"]["message"]
    assert rules["approved-base"]["status"] == "fail"  # app-python is an application, not a base

    # the same debian-base content, its layout tagged `latest`: a mutable tag for a base is refused
    latest = tmp_path / "debian-latest"
    shutil.copytree(out / "debian-base", latest)
    index = json.loads((latest / "index.json").read_text())
    index["manifests"][0]["annotations"]["org.opencontainers.image.ref.name"] = "latest"
    (latest / "index.json").write_text(json.dumps(index))
    code, rules = check(str(latest))
    assert code == 1
    assert rules["base-naming"]["status"] == "fail" and "'latest'" in rules["base-naming"]["message"]
