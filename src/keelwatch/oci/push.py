"""Push images to a registry: whole OCI layouts (multi-arch included) and, via `copy_image`, any source.

Order follows the Distribution spec: every blob first (HEAD to skip the ones the
registry has, else a monolithic POST+PUT upload), then each platform manifest by
digest, then the top manifest or index under the tag. Manifests are pushed as the
exact bytes stored, so digests survive the trip; every blob is verified while read.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, BinaryIO

from keelwatch.errors import ImageSourceError
from keelwatch.oci.image import DEFAULT_PLATFORM, MT_OCI_MANIFEST, Image
from keelwatch.oci.layout import OciLayoutSource, find_tagged
from keelwatch.oci.reference import Reference, Transport, as_reference, parse_reference
from keelwatch.oci.registry import CHUNK, RegistryClient, RegistryImageSource
from keelwatch.oci.resolve import INDEX_TYPES, MANIFEST_LIMIT, MAX_INDEX_DEPTH, descriptor, parse_json


@dataclass
class PushResult:
    """What a push did; `digest` is the manifest (or index) digest now under `reference`."""

    reference: str
    digest: str
    uploaded: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    manifests: list[str] = field(default_factory=list)


def _chunks(open_stream: Any) -> Any:
    def gen() -> Iterator[bytes]:
        with open_stream() as fh:
            while chunk := fh.read(CHUNK):
                yield chunk

    return gen


class _Pusher:
    def __init__(self, client: RegistryClient, repo: str, result: PushResult) -> None:
        self.client, self.repo, self.result = client, repo, result
        self._done: set[str] = set()

    def blob(self, desc: dict[str, Any], open_stream: Any) -> None:
        digest = desc["digest"]
        if digest in self._done:
            return
        self._done.add(digest)
        if self.client.blob_exists(self.repo, digest):
            self.result.skipped.append(digest)
            return
        size = desc.get("size")
        if not isinstance(size, int):
            raise ImageSourceError(f"blob {digest} has no size in its descriptor")
        self.client.upload_blob(self.repo, digest, size, _chunks(open_stream))
        self.result.uploaded.append(digest)

    def manifest(self, reference: str, data: bytes, media_type: str) -> str:
        digest = self.client.put_manifest(self.repo, reference, data, media_type)
        self.result.manifests.append(digest)
        return digest


def _destination(dest: str | Reference, default_tag: str | None) -> Reference:
    ref = as_reference(dest)
    if ref.transport is not Transport.REGISTRY:
        raise ImageSourceError(f"push destination must be a registry reference, not {ref.raw!r}")
    if ref.digest:
        raise ImageSourceError(f"push destination {ref.raw!r} must name a tag, not a digest")
    explicit_tag = ":" in ref.raw.rsplit("/", 1)[-1]
    if not explicit_tag and default_tag:
        ref = ref.with_tag(default_tag)
    return ref


def push_layout(
    source: str | Reference,
    dest: str | Reference,
    *,
    insecure: bool = False,
    platform: str = DEFAULT_PLATFORM,
    client: RegistryClient | None = None,
) -> PushResult:
    """Push `oci:PATH[:TAG]` (an image or a whole multi-arch index) to `dest`."""
    src_ref = as_reference(source)
    if src_ref.transport is not Transport.OCI_LAYOUT:
        raise ImageSourceError(f"push_layout needs an oci: reference, not {src_ref.raw!r}")
    assert src_ref.path is not None
    layout = OciLayoutSource(src_ref.path)
    top = find_tagged(layout.index(), src_ref.tag, src_ref.path, platform)
    dst = _destination(dest, src_ref.tag)
    own = client is None
    client = client or RegistryClient.for_reference(dst, insecure=insecure)
    result = PushResult(reference=str(dst), digest="")
    pusher = _Pusher(client, dst.repository or "", result)

    def push(desc: dict[str, Any], reference: str | None, depth: int) -> str:
        if depth > MAX_INDEX_DEPTH:
            raise ImageSourceError(f"{src_ref.raw}: image indexes nested deeper than {MAX_INDEX_DEPTH}")
        desc = descriptor(desc, src_ref.raw)
        data = layout.read_blob(desc, MANIFEST_LIMIT, "manifest")
        doc = parse_json(data, f"{src_ref.raw}: manifest {desc['digest']}")
        media_type = doc.get("mediaType") or desc.get("mediaType") or MT_OCI_MANIFEST
        if media_type in INDEX_TYPES:
            for child in doc.get("manifests") or []:
                push(child, None, depth + 1)
        else:
            blobs = [doc.get("config"), *(doc.get("layers") or [])]
            for blob in blobs:
                b = descriptor(blob, src_ref.raw)
                pusher.blob(b, lambda d=b["digest"]: layout.open_blob(d))
        return pusher.manifest(reference or desc["digest"], data, media_type)

    try:
        result.digest = push(top, dst.tag or "latest", 0)
    finally:
        if own:
            client.close()
    return result


def _raw_manifest(image: Image) -> bytes:
    source = image.source
    if image.manifest_digest and isinstance(source, RegistryImageSource):
        return source.fetch({"digest": image.manifest_digest}, MANIFEST_LIMIT, "manifest")
    if image.manifest_digest and isinstance(source, OciLayoutSource):
        return source.read_blob({"digest": image.manifest_digest}, MANIFEST_LIMIT, "manifest")
    return json.dumps(image.manifest, indent=2).encode()


def copy_image(
    image: Image, dest: str | Reference, *, insecure: bool = False, client: RegistryClient | None = None
) -> PushResult:
    """Push one resolved image (any source) to `dest`: blobs, then its manifest under the tag.

    Manifests from layouts and registries keep their bytes (and digest); a docker-archive
    has none, so its synthesised Docker v2 manifest is pushed.
    """
    if image.source is None:
        raise ImageSourceError(f"{image.ref}: image has no blob source to copy from")
    dst = _destination(dest, None)
    own = client is None
    client = client or RegistryClient.for_reference(dst, insecure=insecure)
    result = PushResult(reference=str(dst), digest="")
    pusher = _Pusher(client, dst.repository or "", result)
    src = image.source

    def opener(digest: str) -> BinaryIO:
        return src.open_blob(digest)

    try:
        data = _raw_manifest(image)
        manifest = parse_json(data, f"manifest of {image.ref}")
        for blob in [manifest.get("config"), *(manifest.get("layers") or [])]:
            b = descriptor(blob, image.ref)
            pusher.blob(b, lambda d=b["digest"]: opener(d))
        media_type = manifest.get("mediaType") or MT_OCI_MANIFEST
        result.digest = pusher.manifest(dst.tag or "latest", data, media_type)
    finally:
        if own:
            client.close()
    return result


def push_image(
    source: str, dest: str, *, insecure: bool = False, platform: str = DEFAULT_PLATFORM
) -> PushResult:
    """`keelwatch push`: whole layouts for `oci:`, else resolve the image and copy it."""
    ref = parse_reference(source)
    if ref.transport is Transport.OCI_LAYOUT:
        return push_layout(ref, dest, insecure=insecure, platform=platform)
    if ref.transport is Transport.DIR:
        raise ImageSourceError(f"{source}: a dir: source is not an image and cannot be pushed")
    from keelwatch.oci.resolve import open_image

    image = open_image(ref, platform=platform, insecure=insecure)
    try:
        return copy_image(image, dest, insecure=insecure)
    finally:
        if image.source is not None:
            image.source.close()
