"""`docker-archive:PATH[:REPO:TAG]` — a `docker save` tarball (manifest.json + config + layer tars).

`docker save` has no registry manifest: we synthesise a Docker v2 manifest from
manifest.json so every source looks the same. Layer members are usually plain tars
whose digest is their diff_id; compressed members (newer Docker, or `blobs/sha256/*`
paths) are identified by their path or hashed once. Member names are untrusted:
absolute paths, `..` and links are refused.
"""

from __future__ import annotations

import hashlib
import io
import json
import posixpath
import tarfile
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
from keelwatch.oci.reference import Reference, parse_reference
from keelwatch.oci.resolve import CONFIG_LIMIT, MANIFEST_LIMIT, image_from_manifest, parse_json
from keelwatch.oci.verify import VerifyingReader, parse_digest, read_verified

MT_DOCKER_LAYER_TAR = "application/vnd.docker.image.rootfs.diff.tar"


class _Slice(io.RawIOBase):
    """A read-only window [offset, offset+size) of a file, with its own handle."""

    def __init__(self, path: Path, offset: int, size: int) -> None:
        super().__init__()
        self._fh = path.open("rb")
        self._fh.seek(offset)
        self._left = size

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> bytes:
        if size is None or size < 0 or size > self._left:
            size = self._left
        data = self._fh.read(size)
        self._left -= len(data)
        return data

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        if not self.closed:
            self._fh.close()
        super().close()


def _safe_name(name: Any, where: str) -> str:
    if not isinstance(name, str) or not name:
        raise ImageSourceError(f"{where}: invalid member name {name!r}")
    norm = posixpath.normpath(name)
    if name.startswith("/") or norm.startswith("..") or "\x00" in name or norm == ".":
        raise ImageSourceError(f"{where}: unsafe member name {name!r}")
    return norm


class DockerArchiveSource:
    """Blobs of a docker-save tarball, addressed by digest like every other source."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        if not self.path.is_file():
            raise ImageSourceError(f"docker archive {self.path} does not exist or is not a file")
        try:
            self._tar = tarfile.open(self.path, mode="r:*")  # noqa: SIM115 - lives as long as the source
            members = self._tar.getmembers()
        except (tarfile.TarError, OSError, EOFError) as exc:
            raise ImageSourceError(f"{self.path}: not a readable tar archive: {exc}") from None
        self._members: dict[str, tarfile.TarInfo] = {}
        for m in members:
            norm = posixpath.normpath(m.name)
            if m.name.startswith("/") or norm.startswith(".."):
                raise ImageSourceError(f"{self.path}: unsafe member name {m.name!r}")
            self._members[norm] = m
        self._by_digest: dict[str, str] = {}
        with self.path.open("rb") as fh:
            magic = fh.read(6)
        self._plain = not (magic[:2] == b"\x1f\x8b" or magic[:3] == b"BZh" or magic == b"\xfd7zXZ\x00")

    def member(self, name: Any) -> tarfile.TarInfo:
        norm = _safe_name(name, str(self.path))
        info = self._members.get(norm)
        if info is None:
            raise ImageSourceError(f"{self.path}: member {name!r} is missing")
        if not info.isreg():
            raise ImageSourceError(f"{self.path}: member {name!r} is not a regular file")
        return info

    def _raw(self, info: tarfile.TarInfo) -> BinaryIO:
        if self._plain and not info.issparse():
            # Own file handle per stream: layers can be read concurrently and independently.
            return _Slice(self.path, info.offset_data, info.size)  # type: ignore[return-value]
        fh = self._tar.extractfile(info)
        if fh is None:
            raise ImageSourceError(f"{self.path}: cannot read member {info.name!r}")
        return fh  # type: ignore[return-value]

    def read_member(self, name: Any, limit: int) -> bytes:
        info = self.member(name)
        if info.size > limit:
            raise ImageSourceError(f"{self.path}: {name} is too large ({info.size} bytes)")
        return self._raw(info).read()

    def register(self, digest: str, name: str) -> None:
        self._by_digest[digest] = name

    def open_blob(self, digest: str, size: int | None = None) -> BinaryIO:
        name = self._by_digest.get(digest)
        if name is None:
            raise ImageSourceError(f"{self.path}: blob {digest} is not in this archive")
        info = self.member(name)
        return VerifyingReader(self._raw(info), digest, info.size)  # type: ignore[return-value]

    def read_blob(self, desc: dict[str, Any], limit: int, what: str = "blob") -> bytes:
        digest = desc["digest"]
        return read_verified(self.open_blob(digest), digest, size=desc.get("size"), limit=limit, what=what)

    def layer_descriptor(self, name: Any, diff_id: str) -> dict[str, Any]:
        """Digest and media type of a layer member, from its magic bytes and path."""
        info = self.member(name)
        head = self._raw(info).read(4)
        if head[:2] == b"\x1f\x8b":
            mt = MT_DOCKER_LAYER_GZIP
        elif head == b"\x28\xb5\x2f\xfd":
            mt = MT_OCI_LAYER_ZSTD
        else:
            mt = MT_DOCKER_LAYER_TAR
        norm = _safe_name(name, str(self.path))
        parts = norm.split("/")
        if mt == MT_DOCKER_LAYER_TAR:
            digest = diff_id
        elif len(parts) == 3 and parts[0] == "blobs":
            digest = f"{parts[1]}:{parts[2]}"
            parse_digest(digest)
        else:
            h = hashlib.sha256()
            fh = self._raw(info)
            while chunk := fh.read(1 << 20):
                h.update(chunk)
            digest = "sha256:" + h.hexdigest()
        self.register(digest, norm)
        return {"mediaType": mt, "digest": digest, "size": info.size}

    def close(self) -> None:
        self._tar.close()


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


def open_docker_archive(ref: Reference | str) -> Image:
    """Resolve a docker-save tarball to an Image with a synthesised Docker v2 manifest."""
    if isinstance(ref, str):
        ref = parse_reference(ref if ref.startswith("docker-archive:") else f"docker-archive:{ref}")
    assert ref.path is not None
    source = DockerArchiveSource(ref.path)
    try:
        entries = json.loads(source.read_member("manifest.json", MANIFEST_LIMIT))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        source.close()
        raise ImageSourceError(f"{ref.path}: manifest.json is not valid JSON: {exc}") from None
    except ImageSourceError:
        source.close()
        raise
    try:
        if not isinstance(entries, list):
            raise ImageSourceError(f"{ref.path}: manifest.json is not a list")
        entry = _select_entry(entries, ref.tag, ref.path)
        config_name = entry.get("Config")
        config_bytes = source.read_member(config_name, CONFIG_LIMIT)
        config_digest = "sha256:" + hashlib.sha256(config_bytes).hexdigest()
        source.register(config_digest, _safe_name(config_name, ref.path))
        config = parse_json(config_bytes, f"{ref.path}: config {config_name}")
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
