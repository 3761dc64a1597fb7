"""`docker-archive:PATH[:REPO:TAG]` — a `docker save` tarball (manifest.json + config + layer tars).

`docker save` has no registry manifest: we synthesise a Docker v2 manifest from
manifest.json so every source looks the same. Layer members are usually plain tars
whose digest is their diff_id; compressed members (newer Docker, or `blobs/sha256/*`
paths) are identified by their path or hashed once. The tarball itself is read with
keelwatch.oci.tararchive: the bounds of a layer, untrusted member names refused.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any, BinaryIO

from keelwatch.errors import ImageSourceError
from keelwatch.oci.image import (
    MT_DOCKER_CONFIG,
    MT_DOCKER_LAYER_GZIP,
    MT_DOCKER_MANIFEST,
    MT_OCI_LAYER_ZSTD,
    Image,
)
from keelwatch.oci.reference import Reference, Transport
from keelwatch.oci.resolve import CONFIG_LIMIT, MANIFEST_LIMIT, image_from_manifest, parse_json
from keelwatch.oci.schema import ARCHIVE_MANIFEST, CONFIG, load_json, validate
from keelwatch.oci.tararchive import FILE, TarArchive, safe_name
from keelwatch.oci.verify import VerifyingReader, parse_digest, read_verified

MT_DOCKER_LAYER_TAR = "application/vnd.docker.image.rootfs.diff.tar"


class DockerArchiveSource(TarArchive):
    """Blobs of a docker-save tarball, addressed by digest like every other source."""

    def __init__(self, path: str | Path, kind: str = "docker archive") -> None:
        super().__init__(path, kind)
        self._by_digest: dict[str, str] = {}

    def register(self, digest: str, name: str) -> None:
        self._by_digest[digest] = name

    def register_blobs(self) -> None:
        """Address every `blobs/ALGO/HEX` member by its digest (OCI archives, newer docker saves)."""
        for path in self.members:
            parts = path.lstrip("/").split("/")
            if len(parts) == 3 and parts[0] == "blobs":
                try:
                    parse_digest(f"{parts[1]}:{parts[2]}")
                except ImageSourceError:
                    continue
                self.register(f"{parts[1]}:{parts[2]}", "/".join(parts))

    def open_blob(self, digest: str, size: int | None = None) -> BinaryIO:
        name = self._by_digest.get(digest)
        if name is None:
            raise ImageSourceError(f"{self.path}: blob {digest} is not in this archive")
        member = self.member(name)
        return VerifyingReader(self.open_member(member), digest, member[1].size)  # type: ignore[return-value]

    def has_blob(self, digest: str, size: int | None = None) -> bool:
        """Is the blob a member of this archive, of the declared size? (Checked without reading it.)"""
        name = self._by_digest.get(digest)
        info = self.members.get("/" + name) if name is not None else None
        return info is not None and info.type == FILE and (size is None or info.size == size)

    def read_blob(self, desc: dict[str, Any], limit: int, what: str = "blob") -> bytes:
        digest = desc["digest"]
        return read_verified(self.open_blob(digest), digest, size=desc.get("size"), limit=limit, what=what)

    def layer_descriptor(self, name: Any, diff_id: str) -> dict[str, Any]:
        """Digest and media type of a layer member, from its magic bytes and path."""
        member = self.member(name)
        with self.open_member(member) as fh:
            head = fh.read(4)
        if head[:2] == b"\x1f\x8b":
            mt = MT_DOCKER_LAYER_GZIP
        elif head == b"\x28\xb5\x2f\xfd":
            mt = MT_OCI_LAYER_ZSTD
        else:
            mt = MT_DOCKER_LAYER_TAR
        norm = safe_name(name, str(self.path))
        parts = norm.split("/")
        if mt == MT_DOCKER_LAYER_TAR:
            digest = diff_id
        elif len(parts) == 3 and parts[0] == "blobs":
            digest = f"{parts[1]}:{parts[2]}"
            parse_digest(digest)
        else:
            h = hashlib.sha256()
            with self.open_member(member) as fh:
                while chunk := fh.read(1 << 20):
                    h.update(chunk)
            digest = "sha256:" + h.hexdigest()
        self.register(digest, norm)
        return {"mediaType": mt, "digest": digest, "size": member[1].size}

    def close(self) -> None:
        return None


def _select_entry(entries: list[Any], tag: str | None, where: str) -> dict[str, Any]:
    entries = [e for e in entries if isinstance(e, dict)]
    if not entries:
        raise ImageSourceError(f"{where}: manifest.json lists no images")
    if tag is None:
        if len(entries) == 1:
            return entries[0]
        tags = sorted(t for e in entries for t in (e.get("RepoTags") or []))
        raise ImageSourceError(
            f"{where} holds {len(entries)} images; choose one with docker-archive:PATH:REPO:TAG "
            f"(tags: {', '.join(tags) or 'none'})"
        )
    for e in entries:
        for t in e.get("RepoTags") or []:
            if t == tag or t.endswith("/" + tag) or (":" not in tag and t.endswith(":" + tag)):
                return e
    tags = sorted(t for e in entries for t in (e.get("RepoTags") or []))
    raise ImageSourceError(f"{where}: no image tagged {tag!r} (tags: {', '.join(tags) or 'none'})")


def archive_transport(path: str) -> Transport:
    """Which kind of image tarball a file is, by its members (a bare path names no transport)."""
    members = TarArchive(path, "image archive").members
    if "/manifest.json" in members:
        return Transport.DOCKER_ARCHIVE
    if "/index.json" in members:
        return Transport.OCI_ARCHIVE
    raise ImageSourceError(
        f"{path} is a tar file but not an image archive (no manifest.json or index.json): "
        "create one with `docker save` or `podman save --format oci-archive`"
    )


def open_docker_archive(ref: Reference) -> Image:
    """Resolve a docker-save tarball to an Image with a synthesised Docker v2 manifest."""
    assert ref.path is not None
    source = DockerArchiveSource(ref.path)
    try:
        what = f"{ref.path}: manifest.json"
        entries = load_json(source.read_member("manifest.json", MANIFEST_LIMIT), what, limit=MANIFEST_LIMIT)
        validate(entries, ARCHIVE_MANIFEST, what)
        entry = _select_entry(entries, ref.tag, ref.path)
        config_name = entry.get("Config")
        config_bytes = source.read_member(config_name, CONFIG_LIMIT)
        config_digest = "sha256:" + hashlib.sha256(config_bytes).hexdigest()
        source.register(config_digest, safe_name(config_name, ref.path))
        config = validate(
            parse_json(config_bytes, f"{ref.path}: config {config_name}"), CONFIG, f"{ref.path}: config"
        )
        diff_ids = (
            (config.get("rootfs") or {}).get("diff_ids") if isinstance(config.get("rootfs"), dict) else None
        )
        layer_names = entry.get("Layers")
        if not isinstance(layer_names, list):
            raise ImageSourceError(f"{ref.path}: manifest.json entry has no Layers list")
        if not isinstance(diff_ids, list) or len(diff_ids) != len(layer_names):
            have = len(diff_ids) if isinstance(diff_ids, list) else 0
            raise ImageSourceError(
                f"{ref.path}: manifest.json lists {len(layer_names)} layers but config has {have} diff_ids"
            )
        layers = [
            source.layer_descriptor(name, str(d)) for name, d in zip(layer_names, diff_ids, strict=True)
        ]
        manifest = {
            "schemaVersion": 2,
            "mediaType": MT_DOCKER_MANIFEST,
            "config": {"mediaType": MT_DOCKER_CONFIG, "digest": config_digest, "size": len(config_bytes)},
            "layers": layers,
        }
        image = image_from_manifest(
            ref.raw, json.dumps(manifest).encode(), None, source.read_blob, source=source
        )
    except BaseException:
        source.close()
        raise
    return image
