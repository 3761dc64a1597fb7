"""Every output writer, validated by the format's own validator, on a real scan and on edge cases."""

from __future__ import annotations

import dataclasses
import importlib.util
import json
import re
import sys
from enum import StrEnum
from pathlib import Path

import jsonschema
import pytest
from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator

from imagebuilder import write_oci_layout
from keelwatch.model import ImageInfo, LayerInfo, Package, ScanResult
from keelwatch.sbom import FORMATS, render
from keelwatch.sbom.jsonout import SCHEMA, parse
from keelwatch.scan import scan_reference

REPO = Path(__file__).resolve().parents[2]
SPDX_SCHEMA = REPO / "tests" / "schemas" / "spdx-2.3.schema.json"


def _examples():
    spec = importlib.util.spec_from_file_location("kw_build_images", REPO / "examples" / "build_images.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def real_result(tmp_path_factory: pytest.TempPathFactory) -> ScanResult:
    """A scan of a small image made of this machine's os-release, dpkg status and real dist-infos."""
    ex = _examples()
    tree = ex.Tree()
    for path in ("/etc/os-release", "/usr/lib/os-release", "/var/lib/dpkg/status"):
        tree.host(path)
    site = Path(jsonschema.__file__).resolve().parent.parent  # the venv's real site-packages
    for dist in sorted(site.glob("*.dist-info"))[:25]:
        for name in ("METADATA", "RECORD", "top_level.txt"):
            if (dist / name).is_file():
                tree.file(f"{ex.SITE}/{dist.name}/{name}", (dist / name).read_bytes())
    layout = tmp_path_factory.mktemp("img") / "small"
    write_oci_layout(layout, [tree.layer()], tag="1.0")
    with pytest.MonkeyPatch.context() as mp:  # module scope: the per-test home is not set yet
        mp.setenv("KEELWATCH_HOME", str(tmp_path_factory.mktemp("kw-home")))
        return scan_reference(f"oci:{layout}", use_cache=False)


def edge_result() -> ScanResult:
    """Licences of every kind, odd names, no purl, no OS, no layers attribution."""
    layer = LayerInfo(
        "sha256:" + "1" * 64, "sha256:" + "2" * 64, 10, "application/vnd.oci.image.layer.v1.tar"
    )
    return ScanResult(
        image=ImageInfo(ref="registry.example/ns/app@sha256:" + "3" * 64, layers=[layer]),
        packages=[
            Package("a", "1", "npm", "pkg:npm/a@1", licenses=["MIT OR Apache-2.0"]),
            Package("b b/ü", "2:1.0~rc1+x", "deb", "", licenses=["GPL-2+", "BSD License", "MIT"]),
            Package("@scope/c", "0.0.1", "npm", "pkg:npm/%40scope/c@0.0.1", licenses=["(MIT)"]),
            Package("d", "1", "python", "pkg:pypi/d@1", licenses=["Apache-2.0", "MIT OR X11"], layer_index=0),
            Package("d", "1", "python", "pkg:pypi/d@1", locations=["/other/METADATA"]),
        ],
        warnings=["/x: a warning"],
    )


def cases(real: ScanResult) -> list[ScanResult]:
    return [real, edge_result(), ScanResult(image=ImageInfo(ref="dir:/empty"))]


def test_real_scan_is_not_trivial(real_result: ScanResult) -> None:
    types = {p.type for p in real_result.packages}
    assert {"deb", "python"} <= types
    assert real_result.image.os.id == "debian"


def test_json_round_trip(real_result: ScanResult) -> None:
    for result in cases(real_result):
        text = render(result, "json")
        doc = json.loads(text)
        assert doc["schema"] == SCHEMA
        back = parse(text)
        assert back.packages == result.packages
        assert back.warnings == result.warnings
        assert back.to_dict() == result.to_dict()
        assert {k: v for k, v in doc.items() if k != "schema"} == result.to_dict()


def test_json_parse_rejects_other_documents() -> None:
    with pytest.raises(ValueError):
        parse(json.dumps({"image": {"ref": "x"}, "packages": []}))


def test_cyclonedx_validates(real_result: ScanResult) -> None:
    validator = JsonStrictValidator(SchemaVersion.V1_6)
    for result in cases(real_result):
        text = render(result, "cyclonedx")
        error = validator.validate_str(text)
        assert error is None, str(error)[:2000]
        bom = json.loads(text)
        assert bom["specVersion"] == "1.6"
        assert bom["metadata"]["component"]["type"] == "container"
        libs = [c for c in bom.get("components", []) if c["type"] == "library"]
        assert len(libs) == len(result.packages)
        os_parts = [c for c in bom.get("components", []) if c["type"] == "operating-system"]
        assert len(os_parts) == (0 if result.image.os.empty else 1)


def test_cyclonedx_carries_layer_and_location(real_result: ScanResult) -> None:
    bom = json.loads(render(real_result, "cyclonedx"))
    by_purl = {c.get("purl"): c for c in bom["components"] if c["type"] == "library"}
    for pkg in real_result.packages:
        comp = by_purl[pkg.purl]
        props = {p["name"]: p["value"] for p in comp["properties"]}
        assert props["keelwatch:layer:index"] == "0"
        assert props["keelwatch:layer:diffID"] == real_result.image.layers[0].diff_id
        assert props["keelwatch:location:0:path"] == pkg.locations[0]


def test_spdx_validates_against_schema(real_result: ScanResult) -> None:
    validator = jsonschema.Draft201909Validator(json.loads(SPDX_SCHEMA.read_text()))
    for result in cases(real_result):
        doc = json.loads(render(result, "spdx"))
        errors = sorted(validator.iter_errors(doc), key=str)
        assert not errors, errors[0].message
        ids = [p["SPDXID"] for p in doc["packages"]]
        assert len(ids) == len(set(ids))
        for rel in doc["relationships"]:
            assert rel["relatedSpdxElement"] in ids
        describes = [r for r in doc["relationships"] if r["relationshipType"] == "DESCRIBES"]
        assert [r["relatedSpdxElement"] for r in describes] == ["SPDXRef-Image"]
        assert doc["creationInfo"]["created"].endswith("Z")


def test_spdx_licences_are_ids_or_defined_refs() -> None:
    doc = json.loads(render(edge_result(), "spdx"))
    defined = {e["licenseId"] for e in doc.get("hasExtractedLicensingInfos", [])}
    from cyclonedx.spdx import is_supported_id

    for pkg in doc["packages"]:
        expr = pkg["licenseDeclared"]
        for token in re.findall(r"[A-Za-z0-9.+-]+", expr):
            if token in ("AND", "OR", "WITH", "NOASSERTION"):
                continue
            assert is_supported_id(token) or token in defined, (pkg["name"], expr)
    assert "LicenseRef-BSD-License" in defined
    purls = [r["referenceLocator"] for p in doc["packages"] for r in p.get("externalRefs", [])]
    assert "pkg:npm/%40scope/c@0.0.1" in purls


def test_table_lists_every_package(real_result: ScanResult) -> None:
    text = render(real_result, "table")
    assert real_result.image.digest and real_result.image.digest in text
    assert "Debian" in text
    for pkg in real_result.packages:
        assert re.search(rf"^{re.escape(pkg.name)}\s+{re.escape(pkg.version)}\s+{pkg.type}\s+0 ", text, re.M)


def test_every_format_accepts_findings(real_result: ScanResult) -> None:
    """No findings section without matching; an empty one (zero counts) after matching found nothing."""
    plain = json.loads(render(real_result, "json"))
    assert "findings" not in plain and "summary" not in plain
    matched = json.loads(render(real_result, "json", findings=[]))
    assert matched["findings"] == [] and matched["summary"]["findings"] == 0
    assert "findings 0" in render(real_result, "table", findings=[])
    assert "findings 0" not in render(real_result, "table")
    for fmt in FORMATS:
        assert render(real_result, fmt, findings=[])
    with pytest.raises(ValueError):
        render(real_result, "xml")


# -- Package.to_dict: dataclasses.asdict (same keys, order, values, deep copy), only faster.
# Every JSON output and the store serialise packages through it: a difference changes bytes.


class _Kind(StrEnum):
    a = "a"


@dataclasses.dataclass
class _Note:
    text: str
    tags: list[str]


def _same(pkg: Package) -> None:
    fast, slow = pkg.to_dict(), dataclasses.asdict(pkg)
    assert repr(fast) == repr(slow)  # same keys, order, values and container types


def test_to_dict_is_asdict_on_a_real_scan(real_result: ScanResult) -> None:
    assert real_result.packages
    for pkg in real_result.packages:
        _same(pkg)
        assert json.dumps(pkg.to_dict()) == json.dumps(dataclasses.asdict(pkg))


def test_to_dict_is_asdict_on_nested_metadata_and_is_a_deep_copy() -> None:
    pkg = Package(
        "a",
        "1.0",
        "deb",
        licenses=["MIT"],
        locations=["/x"],
        layer_index=0,
        metadata={
            "deps": [1, 2.5, True, None, (3, [4]), {"k": ["v"]}],
            "kind": _Kind.a,
            "note": _Note("n", ["t"]),
            "raw": b"bytes",
            "set": {1},
        },
    )
    _same(pkg)
    out = pkg.to_dict()
    out["licenses"].append("GPL")
    out["metadata"]["deps"][4][1].append(5)
    out["metadata"]["deps"][5]["k"].append("w")
    assert pkg.licenses == ["MIT"]
    assert pkg.metadata["deps"][4] == (3, [4]) and pkg.metadata["deps"][5] == {"k": ["v"]}
