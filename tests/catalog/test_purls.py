"""The fast purl encoder against packageurl-python (the reference implementation) on real data."""

from __future__ import annotations

from pathlib import Path

import pytest
from packageurl import PackageURL

from keelwatch.catalog.purls import build_purl, distro_qualifier
from keelwatch.model import OSInfo

STATUS = Path("/var/lib/dpkg/status")


def _reference(ptype: str, name: str, version: str, namespace: str, qualifiers: dict[str, str]) -> str:
    return PackageURL(
        type=ptype, namespace=namespace or None, name=name, version=version or None, qualifiers=qualifiers
    ).to_string()


def test_matches_packageurl_python_on_real_debian_names() -> None:
    """packageurl-python encodes ':' where Syft does not; every other character must agree."""
    if not STATUS.is_file():
        pytest.skip("not a dpkg system")
    seen = 0
    for stanza in STATUS.read_text().split("\n\n"):
        fields = dict(
            line.split(": ", 1) for line in stanza.splitlines() if ": " in line and not line.startswith(" ")
        )
        if "Package" not in fields or "Version" not in fields:
            continue
        q = {
            "arch": fields.get("Architecture", ""),
            "distro": "debian-12",
            "upstream": fields.get("Source", ""),
        }
        q = {k: v.replace(" (", "@").rstrip(")") for k, v in q.items() if v}
        ours = build_purl("deb", fields["Package"], fields["Version"], "debian", q)
        ref = _reference("deb", fields["Package"], fields["Version"], "debian", q)
        assert ours == ref.replace("%3A", ":")
        seen += 1
    assert seen > 10


@pytest.mark.parametrize(
    ("ptype", "name", "version", "namespace", "qualifiers"),
    [
        ("npm", "is", "4.6.0", "@sindresorhus", {}),
        ("pypi", "typing-extensions", "4.12.2", "", {}),
        ("apk", "musl", "1.2.4-r2", "alpine", {"arch": "x86_64", "distro": "alpine-3.19.1"}),
        ("deb", "a b", "1.0~rc1+x", "debian", {"k": "v w&x=y", "a": "@/?#"}),
    ],
)
def test_shapes(ptype: str, name: str, version: str, namespace: str, qualifiers: dict[str, str]) -> None:
    ours = build_purl(ptype, name, version, namespace, qualifiers)
    assert ours == _reference(ptype, name, version, namespace, qualifiers)


def test_empty_qualifiers_are_dropped() -> None:
    assert build_purl("apk", "musl", "1", "alpine", {"upstream": "", "arch": None}) == "pkg:apk/alpine/musl@1"


def test_distro_qualifier() -> None:
    assert distro_qualifier(OSInfo(id="debian", version_id="12")) == "debian-12"
    assert distro_qualifier(OSInfo(id="arch")) == "arch"
    assert distro_qualifier(OSInfo()) == ""
