"""Test images from this machine's real files (os-release, dpkg status), built with imagebuilder."""

from __future__ import annotations

import gzip
import io
import tarfile
from pathlib import Path

import zstandard

from imagebuilder import FileEntry

REAL_FILES = ["/etc/os-release", "/var/lib/dpkg/status", "/etc/debian_version"]


def real_entries() -> list[FileEntry]:
    """Directories and real files of this machine, as an OS base layer would hold them."""
    entries = [FileEntry("etc", type="dir"), FileEntry("var/lib/dpkg", type="dir")]
    for name in REAL_FILES:
        path = Path(name)
        if path.is_file():
            entries.append(FileEntry(name.lstrip("/"), path.read_bytes()))
    entries.append(FileEntry("bin/sh", type="symlink", linkname="/bin/dash"))
    return entries


def app_entries() -> list[FileEntry]:
    """An upper layer: a real file, a whiteout and an opaque directory."""
    return [
        FileEntry("app/main.py", Path(__file__).read_bytes(), mode=0o755),
        FileEntry("etc/debian_version", type="whiteout"),
        FileEntry("var/cache", type="opaque"),
    ]


def tar_members(blob: bytes, media_type: str) -> dict[str, tarfile.TarInfo]:
    """Members of a layer blob, decompressed by what its media type says."""
    if media_type.endswith("gzip"):
        data = gzip.decompress(blob)
    elif media_type.endswith("zstd"):
        data = zstandard.ZstdDecompressor().decompressobj().decompress(blob)
    else:
        data = blob
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        return {m.name: m for m in tar.getmembers()}


def layer_file(blob: bytes, media_type: str, name: str) -> bytes:
    if media_type.endswith("gzip"):
        data = gzip.decompress(blob)
    elif media_type.endswith("zstd"):
        data = zstandard.ZstdDecompressor().decompressobj().decompress(blob)
    else:
        data = blob
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        fh = tar.extractfile(name)
        assert fh is not None
        return fh.read()
