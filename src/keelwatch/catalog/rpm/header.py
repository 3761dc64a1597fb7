"""Parse one rpm header blob as the rpm databases store it (no lead, no header magic).

Layout (rpm's docs/manual/format.md, big endian): `il` (index entry count) and `dl`
(data length) as uint32, then `il` 16-byte index entries (tag, type, offset, count),
then `dl` bytes of data. Every database backend (sqlite, ndb, bdb) stores exactly
this blob per installed package.

The blob comes from an untrusted image, so every count and offset is checked
against the blob before it is used: a hostile blob raises `HeaderError` (the
cataloger turns it into a warning) and nothing is allocated beyond the blob's own
size. The limits are rpm's own (`hdrchkTags`/`hdrchkData`).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

# rpm's own sanity limits on a header (lib/header_internal.h).
MAX_INDEX_ENTRIES = 0xFFFF
MAX_DATA_LENGTH = 0x0FFFFFFF  # 256 MiB
MAX_BLOB_SIZE = 8 + 16 * MAX_INDEX_ENTRIES + MAX_DATA_LENGTH

# Tag value types (rpmTagType).
T_NULL, T_CHAR, T_INT8, T_INT16, T_INT32, T_INT64 = 0, 1, 2, 3, 4, 5
T_STRING, T_BIN, T_STRING_ARRAY, T_I18NSTRING = 6, 7, 8, 9
_INT_WIDTH = {T_CHAR: 1, T_INT8: 1, T_INT16: 2, T_INT32: 4, T_INT64: 8}
_INT_FORMAT = {1: "B", 2: "H", 4: "I", 8: "Q"}
_STRING_TYPES = (T_STRING, T_STRING_ARRAY, T_I18NSTRING)

# Tags (rpmTag) the cataloger reads.
NAME, VERSION, RELEASE, EPOCH, SUMMARY = 1000, 1001, 1002, 1003, 1004
SIZE, VENDOR, LICENSE, ARCH, OLDFILENAMES, SOURCERPM = 1009, 1011, 1014, 1022, 1027, 1044
DIRINDEXES, BASENAMES, DIRNAMES = 1116, 1117, 1118
LONGSIZE, MODULARITYLABEL = 5009, 5096


class HeaderError(ValueError):
    """The blob is not a well-formed rpm header; the message says what is wrong."""


@dataclass(frozen=True, slots=True)
class RpmHeader:
    """The facts of one installed package that keelwatch uses."""

    name: str
    version: str
    release: str
    epoch: int | None
    arch: str
    source_rpm: str
    license: str
    vendor: str
    size: int | None
    modularity_label: str
    files: tuple[str, ...] = field(default=())


class _Blob:
    """Checked access to the index and data of one header blob."""

    def __init__(self, blob: bytes) -> None:
        if len(blob) < 8:
            raise HeaderError(f"header blob of {len(blob)} bytes is shorter than its 8-byte intro")
        il, dl = struct.unpack_from(">II", blob, 0)
        if il < 1 or il > MAX_INDEX_ENTRIES:
            raise HeaderError(f"header index count {il} out of range")
        if dl > MAX_DATA_LENGTH:
            raise HeaderError(f"header data length {dl} out of range")
        need = 8 + 16 * il + dl
        if need > len(blob):
            raise HeaderError(f"header needs {need} bytes, blob has {len(blob)} (truncated)")
        self.blob = blob
        self.data_start = 8 + 16 * il
        self.data_end = self.data_start + dl
        self.entries: dict[int, tuple[int, int, int]] = {}
        for i in range(il):
            tag, typ, offset, count = struct.unpack_from(">IIII", blob, 8 + 16 * i)
            if typ > T_I18NSTRING:
                raise HeaderError(f"tag {tag}: unknown type {typ}")
            if offset > dl:
                raise HeaderError(f"tag {tag}: data offset {offset} beyond data length {dl}")
            # A later entry (a "dribble" after the immutable region) overrides an earlier one.
            self.entries[tag] = (typ, offset, count)

    def _entry(self, tag: int, types: tuple[int, ...]) -> tuple[int, int, int] | None:
        entry = self.entries.get(tag)
        if entry is None:
            return None
        typ, offset, count = entry
        if typ not in types:
            raise HeaderError(f"tag {tag}: type {typ}, expected one of {types}")
        if count < 1:
            raise HeaderError(f"tag {tag}: count {count}")
        return typ, self.data_start + offset, count

    def strings(self, tag: int) -> list[str] | None:
        entry = self._entry(tag, _STRING_TYPES)
        if entry is None:
            return None
        typ, pos, count = entry
        if typ == T_STRING:
            count = 1
        # Every string takes at least its NUL byte: a count larger than the bytes left is a lie.
        if count > self.data_end - pos:
            raise HeaderError(f"tag {tag}: {count} strings cannot fit in {self.data_end - pos} bytes")
        out: list[str] = []
        for _ in range(count):
            end = self.blob.find(b"\0", pos, self.data_end)
            if end < 0:
                raise HeaderError(f"tag {tag}: string runs past the end of the header data")
            out.append(self.blob[pos:end].decode("utf-8", "replace"))
            pos = end + 1
        return out

    def string(self, tag: int) -> str:
        values = self.strings(tag)
        return values[0] if values else ""

    def ints(self, tag: int) -> list[int] | None:
        entry = self._entry(tag, tuple(_INT_WIDTH))
        if entry is None:
            return None
        typ, pos, count = entry
        width = _INT_WIDTH[typ]
        if count * width > self.data_end - pos:
            raise HeaderError(f"tag {tag}: {count} values of {width} bytes run past the header data")
        return list(struct.unpack_from(f">{count}{_INT_FORMAT[width]}", self.blob, pos))

    def int(self, tag: int) -> int | None:
        values = self.ints(tag)
        return values[0] if values else None


def _files(b: _Blob) -> tuple[str, ...]:
    """Installed file paths: DIRNAMES[DIRINDEXES[i]] + BASENAMES[i] (or the pre-4.0 OLDFILENAMES)."""
    basenames = b.strings(BASENAMES)
    if basenames is None:
        return tuple(b.strings(OLDFILENAMES) or ())
    dirnames = b.strings(DIRNAMES) or []
    indexes = b.ints(DIRINDEXES) or []
    if len(indexes) != len(basenames):
        raise HeaderError(f"{len(basenames)} basenames but {len(indexes)} dir indexes")
    out = []
    for base, index in zip(basenames, indexes, strict=True):
        if index >= len(dirnames):
            raise HeaderError(f"dir index {index} beyond {len(dirnames)} dirnames")
        out.append(dirnames[index] + base)
    return tuple(out)


def parse_header(blob: bytes, *, with_files: bool = False) -> RpmHeader:
    """Decode the tags keelwatch needs; raise HeaderError for anything malformed."""
    b = _Blob(blob)
    name = b.string(NAME)
    if not name:
        raise HeaderError("header has no NAME")
    size = b.int(LONGSIZE)
    if size is None:
        size = b.int(SIZE)
    return RpmHeader(
        name=name,
        version=b.string(VERSION),
        release=b.string(RELEASE),
        epoch=b.int(EPOCH),
        arch=b.string(ARCH),
        # rpm writes the literal "(none)" for gpg-pubkey pseudo-packages; Syft shows "".
        source_rpm="" if (srpm := b.string(SOURCERPM)) == "(none)" else srpm,
        license=b.string(LICENSE),
        vendor=b.string(VENDOR),
        size=size,
        modularity_label=b.string(MODULARITYLABEL),
        files=_files(b) if with_files else (),
    )
