"""`scan --format cyclonedx`: a CycloneDX 1.6 JSON BOM via cyclonedx-python-lib.

metadata.component is the image (type container, version = manifest digest); every package is
a library component with its purl, licences and `keelwatch:*` properties for the layer it was
added in and where it was found; the OS is an operating-system component. The serial number is
derived from the image digest and the package set, so the same scan gives the same BOM.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterable, Sequence
from typing import Any

from cyclonedx.model import Property
from cyclonedx.model.bom import Bom
from cyclonedx.model.bom_ref import BomRef
from cyclonedx.model.component import Component, ComponentType
from cyclonedx.model.license import DisjunctiveLicense, LicenseExpression
from cyclonedx.output.json import JsonV1Dot6
from packageurl import PackageURL

from keelwatch import __version__ as keelwatch_version
from keelwatch.model import Package, ScanResult
from keelwatch.sbom.licenses import is_expression, spdx_id


def _purl(value: str) -> PackageURL | None:
    try:
        return PackageURL.from_string(value) if value else None
    except ValueError:
        return None


def licenses_of(values: Iterable[str]) -> list[Any]:
    """One expression alone (CycloneDX forbids mixing), else ids where valid and names otherwise."""
    values = [v for v in dict.fromkeys(v.strip() for v in values) if v]
    if len(values) == 1 and is_expression(values[0]):
        return [LicenseExpression(values[0])]
    out: list[Any] = []
    for v in values:
        if (sid := spdx_id(v)) is not None:
            out.append(DisjunctiveLicense(id=sid))
        else:
            out.append(DisjunctiveLicense(name=v))
    return out


def _ref(pkg: Package, index: int) -> str:
    key = "\0".join(map(str, pkg.key()))
    return f"pkg-{index}-{hashlib.sha256(key.encode()).hexdigest()[:12]}"


def package_component(pkg: Package, index: int) -> Component:
    props = [Property(name="keelwatch:package:type", value=pkg.type)]
    if pkg.layer_index is not None:
        props.append(Property(name="keelwatch:layer:index", value=str(pkg.layer_index)))
    if pkg.layer_diff_id:
        props.append(Property(name="keelwatch:layer:diffID", value=pkg.layer_diff_id))
    for i, loc in enumerate(pkg.locations):
        props.append(Property(name=f"keelwatch:location:{i}:path", value=loc))
    if pkg.source_name:
        props.append(Property(name="keelwatch:package:sourceName", value=pkg.source_name))
    if pkg.source_version:
        props.append(Property(name="keelwatch:package:sourceVersion", value=pkg.source_version))
    return Component(
        name=pkg.name,
        version=pkg.version,
        type=ComponentType.LIBRARY,
        purl=_purl(pkg.purl),
        bom_ref=BomRef(_ref(pkg, index)),
        licenses=licenses_of(pkg.licenses),
        properties=props,
    )


def image_component(result: ScanResult) -> Component:
    img = result.image
    props = [Property(name="keelwatch:image:ref", value=img.ref)]
    if img.platform:
        props.append(Property(name="keelwatch:image:platform", value=img.platform))
    if img.config_digest:
        props.append(Property(name="keelwatch:image:configDigest", value=img.config_digest))
    for i, layer in enumerate(img.layers):
        props.append(Property(name=f"keelwatch:image:layer:{i}:diffID", value=layer.diff_id))
    name = img.ref.split(":", 1)[1] if img.ref.startswith(("oci:", "docker-archive:", "dir:")) else img.ref
    return Component(
        name=name,
        version=img.digest or img.config_digest or "",
        type=ComponentType.CONTAINER,
        bom_ref=BomRef("image"),
        properties=props,
    )


def build_bom(result: ScanResult) -> Bom:
    bom = Bom()
    identity = "\n".join([result.image.digest or result.image.ref, *sorted(p.purl for p in result.packages)])
    bom.serial_number = uuid.uuid5(uuid.NAMESPACE_URL, "keelwatch:" + identity)
    root = image_component(result)
    bom.metadata.component = root
    bom.metadata.tools.components.add(
        Component(name="keelwatch", version=keelwatch_version, type=ComponentType.APPLICATION)
    )
    parts: list[Component] = []
    os_info = result.image.os
    if not os_info.empty:
        parts.append(
            Component(
                name=os_info.id or os_info.name,
                version=os_info.version_id,
                type=ComponentType.OPERATING_SYSTEM,
                bom_ref=BomRef("os"),
                description=os_info.pretty_name or None,
            )
        )
    parts.extend(package_component(p, i) for i, p in enumerate(result.packages))
    for c in parts:
        bom.components.add(c)
    bom.register_dependency(root, parts)
    return bom


def render(result: ScanResult, *, findings: Sequence[Any] | None = None) -> str:
    """CycloneDX 1.6 JSON; `findings` is accepted for the later `vulnerabilities` section."""
    return JsonV1Dot6(build_bom(result)).output_as_string(indent=2) + "\n"
