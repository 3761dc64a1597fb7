"""From a reference to an `Image`: dispatch on the source, walk indexes, pick the platform.

The manifest logic is shared by every source: a source only knows how to fetch a
descriptor's bytes (verified, size-limited). Indexes (OCI image index, Docker
manifest list) are walked to the manifest for the requested platform; the config
is read and its rootfs.diff_ids paired with the manifest's layers.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from keelwatch.errors import ImageSourceError
from keelwatch.model import LayerInfo
from keelwatch.oci.image import (
    DEFAULT_PLATFORM,
    MT_DOCKER_CONFIG,
    MT_DOCKER_LIST,
    MT_DOCKER_MANIFEST,
    MT_OCI_CONFIG,
    MT_OCI_INDEX,
    MT_OCI_MANIFEST,
    Image,
    ImageSource,
)
from keelwatch.oci.schema import (
    CONFIG,
    CONFIG_LIMIT,
    DESCRIPTOR,
    INDEX,
    MANIFEST,
    MANIFEST_LIMIT,
    load_json,
    validate,
)
from keelwatch.oci.verify import parse_digest

__all__ = ["CONFIG_LIMIT", "MANIFEST_LIMIT"]  # re-exported: sources import the limits from here

if TYPE_CHECKING:
    from keelwatch.oci.reference import Reference

MAX_INDEX_DEPTH = 4
INDEX_TYPES = frozenset({MT_OCI_INDEX, MT_DOCKER_LIST})
MANIFEST_TYPES = frozenset({MT_OCI_MANIFEST, MT_DOCKER_MANIFEST})
CONFIG_TYPES = frozenset({MT_OCI_CONFIG, MT_DOCKER_CONFIG})
DOCKER_SCHEMA1 = (
    "application/vnd.docker.distribution.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.v1+prettyjws",
)
_DEFAULT_VARIANT = {"arm64": "v8", "arm": "v7"}

# fetch(descriptor, limit, what) -> verified bytes of that blob/manifest
Fetch = Callable[[dict[str, Any], int, str], bytes]


def parse_json(data: bytes, what: str, limit: int = CONFIG_LIMIT) -> dict[str, Any]:
    """A JSON object (bounded size, depth and numbers: keelwatch.oci.schema) or a one-line error."""
    doc = load_json(data, what, limit=limit)
    if not isinstance(doc, dict):
        raise ImageSourceError(f"{what} is not a JSON object")
    return doc


def _media_type(doc: dict[str, Any], what: str) -> str | None:
    """The document's own mediaType, checked to be a string before it is looked up anywhere."""
    mt = doc.get("mediaType")
    if mt is not None and not isinstance(mt, str):
        raise ImageSourceError(f"{what}: mediaType must be a string")
    return mt


_PLATFORM_PART = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")  # GOOS, GOARCH, variant: no escapes


def parse_platform(platform: str) -> tuple[str, str, str]:
    """`os/arch[/variant]` -> (os, arch, variant) with the default variant filled in."""
    parts = platform.split("/")
    if len(parts) not in (2, 3) or not all(_PLATFORM_PART.fullmatch(p) for p in parts):
        raise ImageSourceError(
            f"invalid platform {platform!r} (expected os/arch[/variant], e.g. linux/arm64/v8)"
        )
    os_, arch = parts[0].lower(), parts[1].lower()
    variant = parts[2].lower() if len(parts) == 3 else ""
    return os_, arch, variant


def platform_string(p: dict[str, Any] | None) -> str:
    if not p:
        return ""
    out = f"{p.get('os', '')}/{p.get('architecture', '')}"
    return f"{out}/{p['variant']}" if p.get("variant") else out


def platform_matches(wanted: str, p: dict[str, Any] | None) -> bool:
    """Docker's rule: os and arch equal; variants compared with arm/arm64 defaults (v7/v8)."""
    if not p:
        return False
    os_, arch, variant = parse_platform(wanted)
    if str(p.get("os", "")).lower() != os_ or str(p.get("architecture", "")).lower() != arch:
        return False
    have = str(p.get("variant") or "").lower()
    default = _DEFAULT_VARIANT.get(arch, "")
    if variant:
        return (have or default) == variant
    return not default or (have or default) == default


def descriptor(doc: Any, what: str) -> dict[str, Any]:
    """A validated content descriptor (digest, size, mediaType)."""
    validate(doc, DESCRIPTOR, f"{what}: descriptor")
    parse_digest(doc["digest"])
    return doc


def select_manifest(index: dict[str, Any], platform: str, where: str) -> dict[str, Any]:
    """The descriptor in an index for `platform`, or an error naming what is available."""
    manifests = validate(index, INDEX, f"{where}: index")["manifests"]
    parse_platform(platform)
    available = []
    for desc in manifests:
        if not isinstance(desc, dict):
            continue
        p = desc.get("platform")
        if platform_matches(platform, p):
            return descriptor(desc, where)
        if p and p.get("os") != "unknown":
            available.append(platform_string(p))
    # An index listed without a platform (nested indexes) may hold it: descend into the first.
    for desc in manifests:
        if isinstance(desc, dict) and desc.get("mediaType") in INDEX_TYPES and not desc.get("platform"):
            return descriptor(desc, where)
    have = ", ".join(sorted(set(available))) or "none"
    raise ImageSourceError(f"{where}: no image for platform {platform} (available: {have})")


def image_from_manifest(
    ref: str,
    manifest_bytes: bytes,
    manifest_digest: str | None,
    fetch: Fetch,
    *,
    source: ImageSource | None,
    media_type: str | None = None,
) -> Image:
    """Read the config a manifest points at and pair its diff_ids with the layers."""
    manifest = parse_json(manifest_bytes, f"manifest of {ref}", MANIFEST_LIMIT)
    mt = _media_type(manifest, f"manifest of {ref}") or media_type or MT_OCI_MANIFEST
    if mt in DOCKER_SCHEMA1 or manifest.get("schemaVersion") == 1:
        raise ImageSourceError(f"{ref}: Docker schema 1 manifests are not supported")
    if mt not in MANIFEST_TYPES:
        raise ImageSourceError(f"{ref}: unsupported manifest media type {mt}")
    if manifest.get("schemaVersion") != 2:
        raise ImageSourceError(f"{ref}: manifest schemaVersion must be 2")
    validate(manifest, MANIFEST, f"manifest of {ref}")
    config_desc = descriptor(manifest.get("config"), f"{ref} config")
    cmt = config_desc.get("mediaType")
    if cmt and cmt not in CONFIG_TYPES:
        raise ImageSourceError(f"{ref}: not a container image (config media type {cmt})")
    config = parse_json(fetch(config_desc, CONFIG_LIMIT, "config"), f"config of {ref}")
    validate(config, CONFIG, f"config of {ref}")
    raw_layers = manifest.get("layers")
    if not isinstance(raw_layers, list):
        raise ImageSourceError(f"{ref}: manifest has no layers list")
    diff_ids = (
        (config.get("rootfs") or {}).get("diff_ids") if isinstance(config.get("rootfs"), dict) else None
    )
    if not isinstance(diff_ids, list) or not all(isinstance(d, str) for d in diff_ids):
        raise ImageSourceError(f"{ref}: config has no rootfs.diff_ids list")
    if len(diff_ids) != len(raw_layers):
        raise ImageSourceError(
            f"{ref}: manifest lists {len(raw_layers)} layers but config has {len(diff_ids)} diff_ids"
        )
    layers = []
    for i, (layer, diff_id) in enumerate(zip(raw_layers, diff_ids, strict=True)):
        desc = descriptor(layer, f"{ref} layer {i}")
        parse_digest(diff_id)
        layers.append(
            LayerInfo(desc["digest"], diff_id, int(desc.get("size") or 0), str(desc.get("mediaType", "")))
        )
    plat = platform_string(
        {"os": config.get("os"), "architecture": config.get("architecture"), "variant": config.get("variant")}
    )
    annotations = manifest.get("annotations") if isinstance(manifest.get("annotations"), dict) else {}
    return Image(
        ref=ref,
        manifest=manifest,
        config=config,
        layers=layers,
        manifest_digest=manifest_digest,
        config_digest=config_desc["digest"],
        platform=plat if config.get("os") else DEFAULT_PLATFORM,
        annotations={str(k): str(v) for k, v in annotations.items()},
        source=source,
    )


def image_from_descriptor(
    ref: str, desc: dict[str, Any], fetch: Fetch, platform: str, *, source: ImageSource | None
) -> Image:
    """Follow a descriptor through (nested) indexes to the image for `platform`."""
    for _ in range(MAX_INDEX_DEPTH + 1):
        desc = descriptor(desc, ref)
        data = fetch(desc, MANIFEST_LIMIT, "manifest")
        mt = desc.get("mediaType")
        doc = parse_json(data, f"manifest {desc['digest']} of {ref}", MANIFEST_LIMIT)
        mt = _media_type(doc, f"manifest {desc['digest']} of {ref}") or mt
        if mt in INDEX_TYPES or (mt is None and "manifests" in doc):
            desc = select_manifest(doc, platform, ref)
            continue
        return image_from_manifest(ref, data, desc["digest"], fetch, source=source, media_type=mt)
    raise ImageSourceError(f"{ref}: image indexes nested deeper than {MAX_INDEX_DEPTH}")


def open_image(ref: str | Reference, *, platform: str = DEFAULT_PLATFORM, insecure: bool = False) -> Image:
    """Resolve an OCI layout, OCI archive, docker archive or registry reference to an Image."""
    from keelwatch.oci.reference import Transport, as_reference

    parsed = as_reference(ref)
    parse_platform(platform)
    if parsed.transport is Transport.OCI_LAYOUT:
        from keelwatch.oci.layout import open_layout

        return open_layout(parsed, platform=platform)
    if parsed.transport is Transport.OCI_ARCHIVE:
        from keelwatch.oci.layout import open_oci_archive

        return open_oci_archive(parsed, platform=platform)
    if parsed.transport is Transport.DOCKER_ARCHIVE:
        from keelwatch.oci.archive import open_docker_archive

        return open_docker_archive(parsed)
    if parsed.transport is Transport.REGISTRY:
        from keelwatch.oci.registry import open_registry_image

        return open_registry_image(parsed, platform=platform, insecure=insecure)
    raise ImageSourceError(
        f"{parsed.raw}: {parsed.transport}: sources have no manifest; the scan engine reads them directly"
    )
