"""Header blobs from an rpm ndb `Packages.db` (SUSE / openSUSE since 2021).

Layout (rpm's lib/backend/ndb/rpmpkg.c), all little-endian uint32:
- a 32-byte header: "RpmP", version 0, generation, slot page count, next package index;
- slot pages of 4096 bytes right after it (the header takes the first two 16-byte slots):
  each slot is "Slot", package index, block offset, block count (blocks are 16 bytes;
  offset 0 marks a free slot);
- at each slot's block offset a blob: "BlbS", package index, timestamp, length, the
  header bytes, zero padding to a block, then adler32 (over head, data and padding),
  length and "BlbE".

Every offset is checked against the file; a bad slot or blob is a warning, never a crash.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Iterator

from keelwatch.catalog.rpm.sqlite import RpmDbError

MAGIC = b"RpmP"
SLOT_MAGIC = b"Slot"
BLOB_HEAD_MAGIC = b"BlbS"
BLOB_TAIL_MAGIC = b"BlbE"
PAGE_SIZE = 4096
SLOT_SIZE = 16
BLK_SIZE = 16
HEADER_SIZE = 32
BLOB_HEAD_SIZE = 16
BLOB_TAIL_SIZE = 12


def is_ndb(data: bytes) -> bool:
    return data.startswith(MAGIC)


def iter_blobs(data: bytes, warnings: list[str]) -> Iterator[tuple[int, bytes]]:
    """Yield (package index, header blob) for every used slot, in package-index order."""
    if len(data) < HEADER_SIZE or not is_ndb(data):
        raise RpmDbError("not an rpm ndb Packages.db")
    version, _generation, slot_pages = struct.unpack_from("<III", data, 4)
    if version != 0:
        raise RpmDbError(f"unsupported ndb version {version}")
    if slot_pages < 1 or slot_pages * PAGE_SIZE > len(data):
        raise RpmDbError(f"{slot_pages} slot pages do not fit in {len(data)} bytes (truncated?)")
    file_blocks = len(data) // BLK_SIZE
    first_blob_block = slot_pages * PAGE_SIZE // BLK_SIZE
    slots: dict[int, tuple[int, int]] = {}
    for pos in range(HEADER_SIZE, slot_pages * PAGE_SIZE, SLOT_SIZE):
        magic, pkgidx, blkoff, blkcnt = struct.unpack_from("<4sIII", data, pos)
        if magic != SLOT_MAGIC:
            raise RpmDbError(f"bad slot magic at offset {pos}")
        if blkoff == 0:
            continue  # free slot
        if not pkgidx or blkoff < first_blob_block or blkcnt < 2 or blkoff + blkcnt > file_blocks:
            warnings.append(f"ndb slot at offset {pos} (package {pkgidx}) points outside the blob area")
            continue
        if pkgidx in slots:
            warnings.append(f"ndb package index {pkgidx} has two slots; the second is ignored")
            continue
        slots[pkgidx] = (blkoff, blkcnt)
    for pkgidx in sorted(slots):
        blkoff, blkcnt = slots[pkgidx]
        blob = _read_blob(data, pkgidx, blkoff, blkcnt)
        if isinstance(blob, str):
            warnings.append(f"ndb package {pkgidx}: {blob}")
        else:
            yield pkgidx, blob


def _read_blob(data: bytes, pkgidx: int, blkoff: int, blkcnt: int) -> bytes | str:
    """The header bytes of one blob, or why they cannot be trusted."""
    start = blkoff * BLK_SIZE
    end = start + blkcnt * BLK_SIZE  # within the file: checked by the caller
    magic, idx, _tstamp, length = struct.unpack_from("<4sIII", data, start)
    if magic != BLOB_HEAD_MAGIC or idx != pkgidx:
        return "bad blob head"
    if blkcnt != (BLOB_HEAD_SIZE + length + BLOB_TAIL_SIZE + BLK_SIZE - 1) // BLK_SIZE:
        return f"blob length {length} does not match its {blkcnt} blocks"
    adler, tail_length, tail_magic = struct.unpack_from("<I I4s", data, end - BLOB_TAIL_SIZE)
    if tail_magic != BLOB_TAIL_MAGIC or tail_length != length:
        return "bad blob tail"
    if zlib.adler32(memoryview(data)[start : end - BLOB_TAIL_SIZE], 1) != adler:
        return "blob checksum mismatch"
    return data[start + BLOB_HEAD_SIZE : start + BLOB_HEAD_SIZE + length]
