"""Build images without a container engine: layers, OCI layouts and docker-save tarballs.

Tests, examples/build_images.py and bench/ need real images made from real content;
this module makes them deterministically (mtime 0, gzip header without a time),
so the same input always gives the same digests. It is test and example support, not part
of the product (keelwatch never writes images); pytest finds it through `pythonpath` in
pyproject.toml, examples/build_images.py beside it, a bench/ script by adding examples/ to sys.path.

    layer = make_layer([FileEntry("etc/os-release", b"ID=debian\n")])
    digest = write_oci_layout(tmp / "img", [layer], tag="1.0")

Several tags or platforms go into one layout through `OciLayoutWriter`:

    w = OciLayoutWriter(tmp / "multi")
    amd = w.add_image([layer], platform="linux/amd64", tag=None)
    arm = w.add_image([layer2], platform="linux/arm64/v8", tag=None)
    w.add_index([amd, arm], tag="latest")
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import tarfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from keelwatch.oci.image import (
    MT_DOCKER_CONFIG,
    MT_DOCKER_LAYER_GZIP,
    MT_DOCKER_LIST,
    MT_DOCKER_MANIFEST,
    MT_OCI_CONFIG,
    MT_OCI_INDEX,
    MT_OCI_LAYER,
    MT_OCI_LAYER_GZIP,
    MT_OCI_LAYER_ZSTD,
    MT_OCI_MANIFEST,
)

REF_NAME = "org.opencontainers.image.ref.name"
EPOCH = "1970-01-01T00:00:00Z"
ENTRY_TYPES = ("file", "dir", "symlink", "hardlink", "whiteout", "opaque")
_MEDIA_TYPES = {"gzip": MT_OCI_LAYER_GZIP, "zstd": MT_OCI_LAYER_ZSTD, "none": MT_OCI_LAYER}
_DOCKER_LAYER_TYPES = {
    MT_OCI_LAYER_GZIP: MT_DOCKER_LAYER_GZIP,
    MT_OCI_LAYER: "application/vnd.docker.image.rootfs.diff.tar",
}


@dataclass
class FileEntry:
    """One tar member.

    `whiteout` deletes `path` from lower layers; `opaque` hides the lower content of dir `path`.
    """

    path: str
    data: bytes = b""
    mode: int = 0o644
    type: str = "file"
    linkname: str = ""
    uid: int = 0
    gid: int = 0
    mtime: int = 0


@dataclass(frozen=True)
class BuiltLayer:
    """A layer blob ready to be written: digest of the blob, diff_id of the uncompressed tar."""

    blob: bytes
    digest: str
    diff_id: str
    size: int
    media_type: str


def sha256_digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _member(entry: FileEntry) -> tuple[tarfile.TarInfo, bytes | None]:
    if entry.type not in ENTRY_TYPES:
        raise ValueError(f"unknown entry type {entry.type!r} for {entry.path}")
    name = entry.path.lstrip("/")
    if entry.type == "whiteout":
        head, _, base = name.rstrip("/").rpartition("/")
        name = f"{head}/.wh.{base}" if head else f".wh.{base}"
    elif entry.type == "opaque":
        name = f"{name.rstrip('/')}/.wh..wh..opq" if name.strip("/") else ".wh..wh..opq"
    info = tarfile.TarInfo(name)
    info.mode = entry.mode
    info.uid, info.gid, info.mtime = entry.uid, entry.gid, entry.mtime
    info.uname = info.gname = ""
    data: bytes | None = None
    if entry.type == "dir":
        info.type = tarfile.DIRTYPE
        if entry.mode == 0o644:
            info.mode = 0o755
    elif entry.type == "symlink":
        info.type, info.linkname = tarfile.SYMTYPE, entry.linkname
        if entry.mode == 0o644:
            info.mode = 0o777
    elif entry.type == "hardlink":
        info.type, info.linkname = tarfile.LNKTYPE, entry.linkname.lstrip("/")
    elif entry.type == "file":
        data = entry.data
        info.size = len(data)
    else:  # whiteout / opaque markers are empty regular files
        data = b""
    return info, data


def make_tar(entries: Iterable[FileEntry]) -> bytes:
    """An uncompressed layer tar of `entries`, in the given order (PAX format, as Docker writes)."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for entry in entries:
            info, data = _member(entry)
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    return buf.getvalue()


def compress(tar: bytes, compression: str) -> bytes:
    """Compress a tar the way registries store layers; deterministic for equal input."""
    if compression == "gzip":
        return gzip.compress(tar, compresslevel=6, mtime=0)
    if compression == "zstd":
        import zstandard

        return zstandard.ZstdCompressor(level=3).compress(tar)
    if compression == "none":
        return tar
    raise ValueError(f"unknown compression {compression!r} (gzip, zstd or none)")


def decompress(blob: bytes, media_type: str) -> bytes:
    """The uncompressed tar of a layer blob built here."""
    if media_type.endswith("gzip"):
        return gzip.decompress(blob)
    if media_type.endswith("zstd"):
        import zstandard

        return zstandard.ZstdDecompressor().decompressobj().decompress(blob)
    return blob


def make_layer(entries: Iterable[FileEntry] | bytes, compression: str = "gzip") -> BuiltLayer:
    """A layer from entries (or a ready tar), compressed with gzip, zstd or none."""
    tar = bytes(entries) if isinstance(entries, bytes | bytearray) else make_tar(entries)
    blob = compress(tar, compression)
    return BuiltLayer(
        blob=blob,
        digest=sha256_digest(blob),
        diff_id=sha256_digest(tar),
        size=len(blob),
        media_type=_MEDIA_TYPES[compression],
    )


def parse_platform(platform: str) -> dict[str, str]:
    """`os/arch[/variant]` -> the OCI platform object."""
    parts = platform.split("/")
    if len(parts) not in (2, 3) or not all(parts):
        raise ValueError(f"invalid platform {platform!r} (expected os/arch[/variant])")
    out = {"architecture": parts[1], "os": parts[0]}
    if len(parts) == 3:
        out["variant"] = parts[2]
    return out


def make_config(
    layers: Sequence[BuiltLayer],
    *,
    labels: dict[str, str] | None = None,
    platform: str = "linux/amd64",
    history: list[dict[str, Any] | str] | None = None,
    created: str | None = None,
    env: list[str] | dict[str, str] | None = None,
    extra_config: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The image config JSON: platform, env, labels, rootfs diff_ids and history."""
    created = created or EPOCH
    if isinstance(env, dict):
        env = [f"{k}={v}" for k, v in env.items()]
    runtime: dict[str, Any] = {
        "Env": list(env)
        if env is not None
        else ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]
    }
    if labels:
        runtime["Labels"] = dict(labels)
    if history is None:
        history = [{"created": created, "created_by": f"keelwatch layer {i}"} for i in range(len(layers))]
    hist = [h if isinstance(h, dict) else {"created": created, "created_by": h} for h in history]
    config: dict[str, Any] = {
        "created": created,
        **parse_platform(platform),
        "config": runtime,
        "rootfs": {"type": "layers", "diff_ids": [layer.diff_id for layer in layers]},
        "history": hist,
    }
    for key, value in (extra_config or {}).items():
        if key == "config" and isinstance(value, dict):
            config["config"].update(value)
        else:
            config[key] = value
    return config


def _canonical(obj: Any) -> bytes:
    return json.dumps(obj, indent=2, sort_keys=False).encode()


class OciLayoutWriter:
    """Writes an OCI image layout: blobs/sha256/*, oci-layout and index.json (rewritten on every add)."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        (self.path / "blobs" / "sha256").mkdir(parents=True, exist_ok=True)
        (self.path / "oci-layout").write_text(json.dumps({"imageLayoutVersion": "1.0.0"}))
        self._index: list[dict[str, Any]] = []
        self._descriptors: dict[str, dict[str, Any]] = {}
        self._write_index()

    def add_blob(self, data: bytes) -> tuple[str, int]:
        """Store a blob by content; returns (digest, size)."""
        digest = sha256_digest(data)
        target = self.path / "blobs" / "sha256" / digest.split(":", 1)[1]
        if not target.exists():
            tmp = target.with_suffix(".tmp")
            tmp.write_bytes(data)
            tmp.replace(target)
        return digest, len(data)

    def add_image(
        self,
        layers: Sequence[BuiltLayer],
        *,
        tag: str | None = "latest",
        labels: dict[str, str] | None = None,
        annotations: dict[str, str] | None = None,
        platform: str = "linux/amd64",
        history: list[dict[str, Any] | str] | None = None,
        created: str | None = None,
        env: list[str] | dict[str, str] | None = None,
        extra_config: dict[str, Any] | None = None,
        docker_media_types: bool = False,
        config: dict[str, Any] | None = None,
    ) -> str:
        """Write layers, config and manifest; list it in index.json under `tag` unless tag is None.

        Returns the manifest digest. `config` replaces the generated config wholesale (for
        tests of inconsistent images); `docker_media_types` writes Docker v2 schema 2.
        """
        if config is None:
            config = make_config(
                layers,
                labels=labels,
                platform=platform,
                history=history,
                created=created,
                env=env,
                extra_config=extra_config,
            )
        config_digest, config_size = self.add_blob(_canonical(config))
        layer_descs = []
        for layer in layers:
            self.add_blob(layer.blob)
            mt = (
                _DOCKER_LAYER_TYPES.get(layer.media_type, layer.media_type)
                if docker_media_types
                else layer.media_type
            )
            layer_descs.append({"mediaType": mt, "digest": layer.digest, "size": layer.size})
        manifest: dict[str, Any] = {
            "schemaVersion": 2,
            "mediaType": MT_DOCKER_MANIFEST if docker_media_types else MT_OCI_MANIFEST,
            "config": {
                "mediaType": MT_DOCKER_CONFIG if docker_media_types else MT_OCI_CONFIG,
                "digest": config_digest,
                "size": config_size,
            },
            "layers": layer_descs,
        }
        if annotations:
            manifest["annotations"] = dict(annotations)
        digest, size = self.add_blob(_canonical(manifest))
        desc = {
            "mediaType": manifest["mediaType"],
            "digest": digest,
            "size": size,
            "platform": parse_platform(platform),
        }
        self._descriptors[digest] = desc
        if tag is not None:
            self._add_to_index(desc, tag)
        return digest

    def add_index(
        self,
        manifests: Sequence[str],
        *,
        tag: str | None = "latest",
        annotations: dict[str, str] | None = None,
        docker_media_types: bool = False,
    ) -> str:
        """An image index (or Docker manifest list) over manifests added earlier; returns its digest."""
        children = []
        for digest in manifests:
            if digest not in self._descriptors:
                raise ValueError(f"{digest} was not added to this layout")
            children.append(dict(self._descriptors[digest]))
        index: dict[str, Any] = {
            "schemaVersion": 2,
            "mediaType": MT_DOCKER_LIST if docker_media_types else MT_OCI_INDEX,
            "manifests": children,
        }
        if annotations:
            index["annotations"] = dict(annotations)
        digest, size = self.add_blob(_canonical(index))
        desc = {"mediaType": index["mediaType"], "digest": digest, "size": size}
        self._descriptors[digest] = desc
        if tag is not None:
            self._add_to_index(desc, tag)
        return digest

    def _add_to_index(self, desc: dict[str, Any], tag: str) -> None:
        entry = {
            k: v
            for k, v in desc.items()
            if k != "platform" or desc["mediaType"] in (MT_OCI_MANIFEST, MT_DOCKER_MANIFEST)
        }
        entry["annotations"] = {REF_NAME: tag}
        self._index = [e for e in self._index if e.get("annotations", {}).get(REF_NAME) != tag]
        self._index.append(entry)
        self._write_index()

    def _write_index(self) -> None:
        index = {"schemaVersion": 2, "mediaType": MT_OCI_INDEX, "manifests": self._index}
        tmp = self.path / "index.json.tmp"
        tmp.write_text(json.dumps(index, indent=2))
        tmp.replace(self.path / "index.json")

    def __enter__(self) -> OciLayoutWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        return None


def write_oci_layout(
    path: str | os.PathLike[str],
    layers: Sequence[BuiltLayer],
    *,
    tag: str = "latest",
    labels: dict[str, str] | None = None,
    annotations: dict[str, str] | None = None,
    platform: str = "linux/amd64",
    history: list[dict[str, Any] | str] | None = None,
    created: str | None = None,
    env: list[str] | dict[str, str] | None = None,
    extra_config: dict[str, Any] | None = None,
) -> str:
    """One image in a new (or existing) OCI layout under `tag`; returns the manifest digest."""
    return OciLayoutWriter(path).add_image(
        layers,
        tag=tag,
        labels=labels,
        annotations=annotations,
        platform=platform,
        history=history,
        created=created,
        env=env,
        extra_config=extra_config,
    )


def _add_member(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mode, info.mtime = len(data), 0o644, 0
    tar.addfile(info, io.BytesIO(data))


def write_docker_archive(
    path: str | os.PathLike[str],
    layers: Sequence[BuiltLayer],
    *,
    repo_tag: str | list[str] | None = "name:tag",
    labels: dict[str, str] | None = None,
    platform: str = "linux/amd64",
    history: list[dict[str, Any] | str] | None = None,
    created: str | None = None,
    env: list[str] | dict[str, str] | None = None,
    extra_config: dict[str, Any] | None = None,
    compressed_layers: bool = False,
) -> str:
    """A `docker save`-style tarball: manifest.json, `<config-hex>.json`, `<id>/layer.tar`.

    Layers are stored uncompressed as Docker does, unless `compressed_layers` keeps the
    blobs as built. Returns the config digest (Docker's image ID).
    """
    config = make_config(
        layers,
        labels=labels,
        platform=platform,
        history=history,
        created=created,
        env=env,
        extra_config=extra_config,
    )
    config_bytes = _canonical(config)
    config_digest = sha256_digest(config_bytes)
    tags = [repo_tag] if isinstance(repo_tag, str) else list(repo_tag or [])
    with tarfile.open(path, mode="w", format=tarfile.PAX_FORMAT) as tar:
        layer_paths = []
        for layer in layers:
            if compressed_layers:
                name = f"{layer.digest.split(':', 1)[1]}/layer.tar"
                data = layer.blob
            else:
                name = f"{layer.diff_id.split(':', 1)[1]}/layer.tar"
                data = decompress(layer.blob, layer.media_type)
            if name not in layer_paths:
                _add_member(tar, name, data)
            layer_paths.append(name)
        config_name = f"{config_digest.split(':', 1)[1]}.json"
        _add_member(tar, config_name, config_bytes)
        manifest = [{"Config": config_name, "RepoTags": tags or None, "Layers": layer_paths}]
        _add_member(tar, "manifest.json", json.dumps(manifest).encode())
        repositories: dict[str, dict[str, str]] = {}
        for t in tags:
            repo, _, tg = t.rpartition(":")
            repositories.setdefault(repo, {})[tg] = layer_paths[-1].split("/")[0] if layer_paths else ""
        if repositories:
            _add_member(tar, "repositories", json.dumps(repositories).encode())
    return config_digest


def write_oci_archive(layout: str | os.PathLike[str], path: str | os.PathLike[str]) -> None:
    """A tar of an OCI layout, as BuildKit `--output type=oci` and `podman save --format oci-archive`
    write it: `oci-layout`, `index.json` and `blobs/ALGO/HEX` (directories included)."""
    root = Path(layout)
    with tarfile.open(path, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name in ("oci-layout", "index.json"):
            _add_member(tar, name, (root / name).read_bytes())
        for item in sorted((root / "blobs").rglob("*")):
            name = item.relative_to(root).as_posix()
            if item.is_dir():
                info = tarfile.TarInfo(name)
                info.type, info.mode, info.mtime = tarfile.DIRTYPE, 0o755, 0
                tar.addfile(info)
            else:
                _add_member(tar, name, item.read_bytes())
