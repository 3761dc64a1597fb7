"""Tar files read in place and hostile-first: `docker-archive:` tarballs (and OCI archives).

The member index comes from one pass of the layer reader (keelwatch.oci.layers), so an
archive gets the same bounds as a layer: members, uncompressed bytes, compression ratio
(a gzip bomb or a million members fail fast, in one line). Member names are untrusted:
absolute paths and `..` are refused. Members of a plain tar are then read in place by
offset; those of a compressed tar by streaming the archive again up to the member.
"""

from __future__ import annotations

import io
import posixpath
from pathlib import Path
from typing import Any, BinaryIO

from keelwatch.errors import ImageSourceError, LayerError
from keelwatch.oci.layers import CHUNK, FILE, LayerLimits, LayerReader

__all__ = ["ARCHIVE_LIMITS", "FILE", "TarArchive", "safe_name"]
from keelwatch.oci.safefile import open_regular

# The same streaming reader and bounds as layers (gzip/zstd bombs, endless streams), with a
# member count fit for a docker-save tarball (a few members per layer, at most 1,000 layers).
ARCHIVE_LIMITS = LayerLimits(max_entries=20_000)


class _MemberStream(io.RawIOBase):
    """A read-only stream of one member's data; subclasses say where the bytes come from."""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


class _Slice(_MemberStream):
    """A read-only window [offset, offset+size) of a plain tar file, with its own handle."""

    def __init__(self, path: Path, offset: int, size: int) -> None:
        super().__init__()
        self._fh = open_regular(path, str(path), follow=True)
        self._fh.seek(offset)
        self._left = size

    def read(self, size: int | None = -1) -> bytes:
        if size is None or size < 0 or size > self._left:
            size = self._left
        data = self._fh.read(size)
        self._left -= len(data)
        return data

    def close(self) -> None:
        if not self.closed:
            self._fh.close()
        super().close()


class _Streamed(_MemberStream):
    """One member of a compressed archive: the archive streamed again (bounded) up to it."""

    def __init__(self, path: Path, name: str) -> None:
        super().__init__()
        self._fh = open_regular(path, str(path), follow=True)
        self._reader = LayerReader(self._fh, limits=ARCHIVE_LIMITS, label=str(path))
        self._entries = iter(self._reader)
        try:
            for entry in self._entries:
                if entry.path == name and entry.type == FILE:
                    return
        except LayerError as exc:
            self.close()
            raise ImageSourceError(f"{path}: not a readable tar archive: {exc}") from None
        self.close()
        raise ImageSourceError(f"{path}: member {name[1:]!r} is missing")

    def read(self, size: int | None = -1) -> bytes:
        if size is None or size < 0:
            chunks = []
            while chunk := self.read(CHUNK):
                chunks.append(chunk)
            return b"".join(chunks)
        try:
            return self._reader.read_some(size)
        except LayerError as exc:
            raise ImageSourceError(str(exc)) from None

    def close(self) -> None:
        if not self.closed:
            close = getattr(self._entries, "close", None)
            if close is not None:
                close()
            self._fh.close()
        super().close()


def safe_name(name: Any, where: str) -> str:
    if not isinstance(name, str) or not name:
        raise ImageSourceError(f"{where}: invalid member name {name!r}")
    norm = posixpath.normpath(name)
    if name.startswith("/") or norm.startswith("..") or "\x00" in name or norm == ".":
        raise ImageSourceError(f"{where}: unsafe member name {name!r}")
    return norm


class _Member:
    """Where a member is: its type, data size and offset in the uncompressed stream."""

    __slots__ = ("type", "size", "offset")

    def __init__(self, type: str, size: int, offset: int) -> None:
        self.type, self.size, self.offset = type, size, offset


class TarArchive:
    """A tar file (plain, gzip or zstd) whose members are read by name, every read bounded.

    The member index comes from one pass of the layer reader (bounded members, bytes and
    compression ratio, so a gzip bomb or a million members fail fast). Members of a plain
    tar are then read in place; those of a compressed tar by streaming the archive again.
    """

    def __init__(self, path: str | Path, kind: str = "archive") -> None:
        self.path = Path(path)
        where = f"{kind} {self.path}"
        if not self.path.exists():
            raise ImageSourceError(f"{where} does not exist or is not a file")
        self.members: dict[str, _Member] = {}
        with open_regular(self.path, where, follow=True) as fh:
            reader = LayerReader(fh, limits=ARCHIVE_LIMITS, label=str(self.path))
            try:
                for entry in reader:
                    name = reader.raw_name
                    norm = posixpath.normpath(name) if name else ""
                    if name.startswith("/") or norm.startswith(".."):
                        raise ImageSourceError(f"{self.path}: unsafe member name {name!r}")
                    self.members[entry.path] = _Member(entry.type, entry.size, reader.data_offset())
            except LayerError as exc:
                raise ImageSourceError(f"{self.path}: not a readable tar archive: {exc}") from None
            self._plain = reader.compression == "none"

    def member(self, name: Any) -> tuple[str, _Member]:
        norm = "/" + safe_name(name, str(self.path))
        info = self.members.get(norm)
        if info is None:
            raise ImageSourceError(f"{self.path}: member {name!r} is missing")
        if info.type != FILE:
            raise ImageSourceError(f"{self.path}: member {name!r} is not a regular file")
        return norm, info

    def open_member(self, member: tuple[str, _Member]) -> BinaryIO:
        """A stream of the member's data (its own file handle: members can be read concurrently)."""
        name, info = member
        if self._plain:
            return _Slice(self.path, info.offset, info.size)  # type: ignore[return-value]
        return _Streamed(self.path, name)  # type: ignore[return-value]

    def read_member(self, name: Any, limit: int) -> bytes:
        member = self.member(name)
        size = member[1].size
        if size > limit:
            raise ImageSourceError(f"{self.path}: {name} is too large ({size} bytes, limit {limit})")
        with self.open_member(member) as fh:
            return fh.read()
