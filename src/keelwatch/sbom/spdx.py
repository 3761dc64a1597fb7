"""`scan --format spdx`: an SPDX 2.3 JSON document, written by hand.

The document DESCRIBES one package for the image (purpose CONTAINER), which CONTAINS every
package found (and the OS, purpose OPERATING-SYSTEM). Packages carry their purl as a
PACKAGE-MANAGER externalRef; licences become an SPDX expression of valid ids, with
`LicenseRef-*` entries (and hasExtractedLicensingInfos) for names that are not SPDX ids.
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from keelwatch import __version__ as keelwatch_version
from keelwatch.model import Package, ScanResult
from keelwatch.oci.reference import image_name
from keelwatch.sbom.licenses import is_expression, license_ref, spdx_id

NOASSERTION = "NOASSERTION"
NAMESPACE_BASE = "https://keelwatch.dev/spdxdocs"


def _spdx_ref(kind: str, text: str) -> str:
    """`SPDXRef-<kind>-<name>-<hash>`: only [A-Za-z0-9.-], unique per identity."""
    slug = re.sub(r"[^A-Za-z0-9.-]+", "-", text)[:40].strip("-") or "x"
    return f"SPDXRef-{kind}-{slug}-{hashlib.sha256(text.encode()).hexdigest()[:16]}"


def license_expression(values: Sequence[str], extracted: dict[str, str]) -> str:
    """One SPDX expression for all of a package's licences (AND-ed, as Syft does)."""
    parts: list[str] = []
    for v in dict.fromkeys(x.strip() for x in values):
        if not v:
            continue
        if (sid := spdx_id(v)) is not None:
            parts.append(sid)
        elif is_expression(v):
            parts.append(f"({v})")
        else:
            ref = license_ref(v)
            extracted.setdefault(ref, v)
            parts.append(ref)
    if not parts:
        return NOASSERTION
    if len(parts) == 1:
        return parts[0][1:-1] if parts[0].startswith("(") else parts[0]
    return " AND ".join(parts)


def _package(pkg: Package, spdxid: str, extracted: dict[str, str]) -> dict[str, Any]:
    out: dict[str, Any] = {
        "name": pkg.name,
        "SPDXID": spdxid,
        "versionInfo": pkg.version,
        "supplier": NOASSERTION,
        "downloadLocation": NOASSERTION,
        "filesAnalyzed": False,
        "licenseConcluded": NOASSERTION,
        "licenseDeclared": license_expression(pkg.licenses, extracted),
        "copyrightText": NOASSERTION,
        "primaryPackagePurpose": "LIBRARY",
    }
    where = ", ".join(pkg.locations) or "unknown location"
    layer = "" if pkg.layer_index is None else f" in layer {pkg.layer_index} ({pkg.layer_diff_id})"
    out["sourceInfo"] = f"{pkg.type} package found at {where}{layer}"
    if pkg.source_name and pkg.source_name != pkg.name:
        out["comment"] = f"source package {pkg.source_name} {pkg.source_version or ''}".rstrip()
    if pkg.purl:
        out["externalRefs"] = [
            {"referenceCategory": "PACKAGE-MANAGER", "referenceType": "purl", "referenceLocator": pkg.purl}
        ]
    return out


def build_document(result: ScanResult, created: datetime | None = None) -> dict[str, Any]:
    img = result.image
    created = created or datetime.now(UTC)
    extracted: dict[str, str] = {}
    image_id = "SPDXRef-Image"
    name = image_name(img.ref)
    image_pkg: dict[str, Any] = {
        "name": name,
        "SPDXID": image_id,
        "versionInfo": img.digest or img.config_digest or "",
        "supplier": NOASSERTION,
        "downloadLocation": NOASSERTION,
        "filesAnalyzed": False,
        "licenseConcluded": NOASSERTION,
        "licenseDeclared": NOASSERTION,
        "copyrightText": NOASSERTION,
        "primaryPackagePurpose": "CONTAINER",
        "comment": f"image {img.ref}, platform {img.platform or 'unknown'}, {len(img.layers)} layers",
    }
    if img.digest:
        image_pkg["checksums"] = [{"algorithm": "SHA256", "checksumValue": img.digest.split(":", 1)[1]}]
    packages = [image_pkg]
    relationships = [
        {"spdxElementId": "SPDXRef-DOCUMENT", "relatedSpdxElement": image_id, "relationshipType": "DESCRIBES"}
    ]
    if not img.os.empty:
        os_id = "SPDXRef-OperatingSystem"
        packages.append(
            {
                "name": img.os.id or img.os.name,
                "SPDXID": os_id,
                "versionInfo": img.os.version_id,
                "supplier": NOASSERTION,
                "downloadLocation": NOASSERTION,
                "filesAnalyzed": False,
                "licenseConcluded": NOASSERTION,
                "licenseDeclared": NOASSERTION,
                "copyrightText": NOASSERTION,
                "primaryPackagePurpose": "OPERATING-SYSTEM",
                "description": img.os.pretty_name or img.os.name,
            }
        )
        relationships.append(
            {"spdxElementId": image_id, "relatedSpdxElement": os_id, "relationshipType": "CONTAINS"}
        )
    seen: set[str] = set()
    for pkg in result.packages:
        spdxid = _spdx_ref("Package", "\0".join(map(str, pkg.key())))
        if spdxid in seen:  # identical key: the same package reported twice
            continue
        seen.add(spdxid)
        packages.append(_package(pkg, spdxid, extracted))
        relationships.append(
            {"spdxElementId": image_id, "relatedSpdxElement": spdxid, "relationshipType": "CONTAINS"}
        )
    identity = img.digest or img.ref
    doc: dict[str, Any] = {
        "spdxVersion": "SPDX-2.3",
        "dataLicense": "CC0-1.0",
        "SPDXID": "SPDXRef-DOCUMENT",
        "name": name,
        "documentNamespace": f"{NAMESPACE_BASE}/{re.sub(r'[^A-Za-z0-9.-]+', '-', name).strip('-')}-"
        f"{uuid.uuid5(uuid.NAMESPACE_URL, identity + created.isoformat())}",
        "creationInfo": {
            "created": created.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "creators": [f"Tool: keelwatch-{keelwatch_version}", "Organization: keelwatch"],
        },
        "packages": packages,
        "relationships": relationships,
    }
    if extracted:
        doc["hasExtractedLicensingInfos"] = [
            {"licenseId": ref, "name": text, "extractedText": text} for ref, text in sorted(extracted.items())
        ]
    return doc


def render(result: ScanResult, *, findings: Sequence[Any] | None = None) -> str:
    """SPDX 2.3 JSON; `findings` is accepted for symmetry with the other writers and ignored."""
    return json.dumps(build_document(result), indent=2, ensure_ascii=False) + "\n"
