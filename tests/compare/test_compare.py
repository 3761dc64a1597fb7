"""diff, near-duplicate detection and base-upgrade advice on real package sets.

The package sets come from this machine's dpkg database (`dpkg-query`), the real
content of a Debian system, varied the way rebuilt bases vary.
"""

from __future__ import annotations

import subprocess

import pytest

from keelwatch.compare.advice import BaseCandidate, advise_bases
from keelwatch.compare.diff import diff_images
from keelwatch.compare.similarity import similar_images
from keelwatch.model import ImageInfo, LayerInfo, OSInfo, Package, ScanResult
from keelwatch.vulndb.findings import Finding, PackageRef
from keelwatch.vulndb.severity import Severity


def finding(
    id: str, package: str, type: str, level: str = "unknown", layer_index: int | None = None
) -> Finding:
    """A matcher finding with just what diff and advice compare."""
    return Finding(id, PackageRef(package, "1", type), severity=Severity(level), layer_index=layer_index)


@pytest.fixture(scope="module")
def debs() -> list[Package]:
    out = subprocess.run(
        ["dpkg-query", "-W", "-f=${Package}\t${Version}\n"], check=True, capture_output=True, text=True
    ).stdout
    pkgs = [
        Package(name=n, version=v, type="deb") for n, v in (line.split("\t") for line in out.splitlines())
    ]
    assert len(pkgs) > 100
    return pkgs


def scan(ref: str, packages: list[Package], layers: list[str], os_version: str = "12") -> ScanResult:
    info = ImageInfo(
        ref=ref,
        digest="sha256:" + ref.encode().hex()[:60].ljust(64, "0"),
        os=OSInfo(id="debian", version_id=os_version),
        layers=[LayerInfo(digest=d, diff_id=d) for d in layers],
        labels={"org.opencontainers.image.version": ref.rsplit(":", 1)[-1]},
    )
    return ScanResult(image=info, packages=packages)


def test_diff_packages_layers_findings_metadata(debs: list[Package]) -> None:
    a = scan("reg/base/debian-slim:12-1", debs[:-5], ["l1", "l2"])
    upgraded = [Package(p.name, p.version + "+deb12u1", "deb") if i == 3 else p for i, p in enumerate(debs)]
    b = scan("reg/base/debian-slim:12-2", upgraded[5:], ["l1", "l3"])
    fa = [finding("CVE-1", debs[3].name, "deb", "high"), finding("CVE-2", debs[7].name, "deb")]
    fb = [finding("CVE-2", debs[7].name, "deb"), finding("CVE-3", debs[8].name, "deb", "low")]
    d = diff_images(a, b, fa, fb)
    assert {p.name for p in d.added} == {p.name for p in debs[-5:]}
    assert {p.name for p in d.removed} == {p.name for p in debs[:5]} - {p.name for p in debs[5:]}
    assert d.changed == []
    assert [f.id for f in d.findings_fixed] == ["CVE-1"] and [f.id for f in d.findings_introduced] == [
        "CVE-3"
    ]
    assert d.shared_layers == 1 and d.layers_only_a == ["l2"] and d.layers_only_b == ["l3"]
    assert d.metadata["label:org.opencontainers.image.version"] == ("12-1", "12-2")
    assert not diff_images(a, a).to_dict()["packages"]["added"] and diff_images(a, a).identical


def test_changed_version_is_reported(debs: list[Package]) -> None:
    upgraded = [Package(p.name, p.version + "+deb12u1", "deb") if i == 3 else p for i, p in enumerate(debs)]
    d = diff_images(scan("a:1", debs, ["x"]), scan("b:1", upgraded, ["y"]))
    assert [(c.name, c.after) for c in d.changed] == [(debs[3].name, debs[3].version + "+deb12u1")]


def test_near_duplicates_found_and_explained(debs: list[Package]) -> None:
    base = scan("reg/base/debian-slim:12-1", debs, ["l1"])
    twin = scan("reg/base/debian-minimal:12-1", debs[:-3], ["l9"])
    other_os = scan("reg/base/debian-old:11-1", debs, ["l8"], os_version="11")
    small = scan("reg/base/tools:1", debs[: len(debs) // 3], ["l7"])
    pairs = similar_images([base, twin, other_os, small])
    assert [(p.a, p.b) for p in pairs] == [(base.image.ref, twin.image.ref)]
    assert pairs[0].only_a == sorted(f"deb:{p.name}" for p in debs[-3:])[:20]
    assert pairs[0].package_similarity > 0.9


def test_upgrade_advice_ranks_by_findings_that_disappear() -> None:
    image_findings = [
        finding("CVE-A", "openssl", "deb", "critical", layer_index=0),
        finding("CVE-B", "zlib", "deb", "medium", layer_index=0),
        finding("CVE-C", "requests", "python", "high", layer_index=2),  # own layer: no base fixes it
    ]
    patched = BaseCandidate(
        "reg/base/debian-slim:12-2", "sha256:p", "debian", "12", [finding("CVE-B", "zlib", "deb")]
    )
    better = BaseCandidate("reg/base/debian-slim:12-3", "sha256:q", "debian", "12", [])
    alpine = BaseCandidate("reg/base/alpine-min:3-1", "sha256:r", "alpine", "3.19", [])
    advice = advise_bases(
        image_findings, first_own_layer=2, os_id="debian", candidates=[patched, better, alpine]
    )
    assert [a.ref for a in advice] == ["reg/base/debian-slim:12-3", "reg/base/debian-slim:12-2"]
    assert advice[0].from_line == "FROM reg/base/debian-slim:12-3@sha256:q"
    assert {f.id for f in advice[0].fixes} == {"CVE-A", "CVE-B"}
