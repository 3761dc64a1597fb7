"""`oci:PATH[:TAG]` and `oci-archive:PATH[:TAG]` — images in an OCI image layout (index.json + blobs/),
as a directory or as a tar of one.

The tag is looked up in index.json via `org.opencontainers.image.ref.name` (a bare
tag, or a full name ending in `:TAG`); nested indexes and platform selection are
handled by keelwatch.oci.resolve. Blob reads are digest-verified.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from keelwatch.errors import ImageSourceError
from keelwatch.oci.image import DEFAULT_PLATFORM, MT_OCI_INDEX, Image
from keelwatch.oci.reference import Reference
from keelwatch.oci.resolve import MANIFEST_LIMIT, image_from_descriptor, parse_json, select_manifest
from keelwatch.oci.safefile import file_size, open_regular, read_regular
from keelwatch.oci.schema import INDEX, validate
from keelwatch.oci.verify import VerifyingReader, parse_digest, read_verified

if TYPE_CHECKING:
    from keelwatch.oci.archive import DockerArchiveSource

REF_NAME = "org.opencontainers.image.ref.name"


class OciLayoutSource:
    """Blobs of one OCI layout directory; every read is verified against its digest."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        if not self.path.is_dir():
            raise ImageSourceError(f"OCI layout {self.path} does not exist or is not a directory")
        if not os.path.lexists(self.path / "index.json"):
            raise ImageSourceError(f"{self.path} is not an OCI layout (no index.json)")

    def blob_path(self, digest: str) -> Path:
        algo, hexpart = parse_digest(digest)  # validated: no path separators can get through
        return self.path / "blobs" / algo / hexpart

    def open_blob(self, digest: str, size: int | None = None) -> BinaryIO:
        # Regular files only, no symlink followed: a FIFO or a link to /dev/zero would never end.
        fh = open_regular(self.blob_path(digest), f"{self.path}: blob {digest}")
        return VerifyingReader(fh, digest, size)  # type: ignore[return-value]

    def has_blob(self, digest: str, size: int | None = None) -> bool:
        """Is the blob here as a regular file of the declared size? (Checked without reading it.)"""
        try:
            with open_regular(self.blob_path(digest), digest) as fh:
                return size is None or file_size(fh) == size
        except ImageSourceError:
            return False

    def read_blob(self, desc: dict[str, Any], limit: int, what: str = "blob") -> bytes:
        digest = desc["digest"]
        return read_verified(self.open_blob(digest), digest, size=desc.get("size"), limit=limit, what=what)

    def index(self) -> dict[str, Any]:
        path = self.path / "index.json"
        data = read_regular(path, MANIFEST_LIMIT, str(path))  # refused by size before reading
        return parse_index(data, str(path))

    def close(self) -> None:
        return None


def parse_index(data: bytes, where: str) -> dict[str, Any]:
    """A layout's index.json (from a directory or an archive), checked before use."""
    doc = validate(parse_json(data, where, MANIFEST_LIMIT), INDEX, where)
    if doc.get("mediaType") not in (None, MT_OCI_INDEX):
        raise ImageSourceError(f"{where} has media type {doc.get('mediaType')}")
    return doc


def tag_of(desc: dict[str, Any]) -> str | None:
    ann = desc.get("annotations")
    return ann.get(REF_NAME) if isinstance(ann, dict) else None


def tag_of_ref_name(ref_name: object) -> str | None:
    """The tag in an `org.opencontainers.image.ref.name`: a bare tag (`12`) or a full name's (`reg/x:12`)."""
    if not isinstance(ref_name, str) or not ref_name:
        return None
    slash, colon = ref_name.rfind("/"), ref_name.rfind(":")
    if colon > slash:
        return ref_name[colon + 1 :] or None
    return None if "/" in ref_name else ref_name


def find_tagged(index: dict[str, Any], tag: str | None, where: str, platform: str) -> dict[str, Any]:
    """The top-level descriptor for `tag` (or the only/`latest` image when no tag is given)."""
    entries = [d for d in index["manifests"] if isinstance(d, dict)]
    if tag is not None:
        hits = [d for d in entries if (t := tag_of(d)) and (t == tag or t.endswith(":" + tag))]
        if not hits:
            tags = sorted({t for d in entries if (t := tag_of(d))})
            raise ImageSourceError(f"{where}: no image tagged {tag!r} (tags: {', '.join(tags) or 'none'})")
        if len(hits) > 1:
            return select_manifest({"manifests": hits}, platform, f"{where}:{tag}")
        return hits[0]
    if len(entries) == 1:
        return entries[0]
    if not entries:
        raise ImageSourceError(f"{where}: index.json lists no images")
    latest = [d for d in entries if tag_of(d) == "latest"]
    if len(latest) == 1:
        return latest[0]
    if all(isinstance(d.get("platform"), dict) and not tag_of(d) for d in entries):
        return select_manifest({"manifests": entries}, platform, where)
    tags = ", ".join(sorted({t for d in entries if (t := tag_of(d))})) or "none"
    raise ImageSourceError(
        f"{where} holds {len(entries)} images; choose one with oci:PATH:TAG (tags: {tags})"
    )


def open_layout(ref: Reference, *, platform: str = DEFAULT_PLATFORM) -> Image:
    """Resolve `oci:PATH[:TAG]` to an Image whose layers read from the layout."""
    assert ref.path is not None
    source = OciLayoutSource(ref.path)
    return _tagged_image(ref, source.index(), source, platform)


def open_oci_archive(ref: Reference, *, platform: str = DEFAULT_PLATFORM) -> Image:
    """Resolve `oci-archive:PATH[:TAG]`: the layout is read inside the tar, never unpacked.

    The tar is read by the docker-archive reader (keelwatch.oci.tararchive: regular members
    only, safe names, a layer's bounds), so an OCI archive is as hostile-proof as a docker archive.
    """
    from keelwatch.oci.archive import DockerArchiveSource

    assert ref.path is not None
    source = DockerArchiveSource(ref.path, "OCI archive")
    try:
        source.register_blobs()
        index = parse_index(source.read_member("index.json", MANIFEST_LIMIT), f"{ref.path}: index.json")
        return _tagged_image(ref, index, source, platform)
    except BaseException:
        source.close()
        raise


def _tagged_image(
    ref: Reference, index: dict[str, Any], source: OciLayoutSource | DockerArchiveSource, platform: str
) -> Image:
    """The image `ref` names in a layout's index, from a directory or an archive alike."""
    assert ref.path is not None
    desc = find_tagged(index, ref.tag, ref.path, platform)
    image = image_from_descriptor(ref.raw, desc, source.read_blob, platform, source=source)
    # The tag lives in index.json, not in the manifest: kept so that a policy checks the tag the
    # layout gives its image (`12`), not a `latest` guessed from an untagged path.
    image.tag = ref.tag or tag_of_ref_name(tag_of(desc))
    return image
