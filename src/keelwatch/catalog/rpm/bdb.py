"""Header blobs from a Berkeley DB hash database `/var/lib/rpm/Packages` (RHEL <= 8, CentOS, old SUSE).

Read directly from the pages, as rpm's own read-only `bdb_ro` backend does, with
no libdb: page 0 is the hash metadata page (magic 0x061561 at offset 12, whose
byte order gives the file's; page size at 20; last page number at 32; encryption
algorithm at 24). Every other page has a 26-byte header (page number at 8, next
page at 16, entry count at 20, "high free offset" at 22, type at 25). Hash pages
(types 2 and 13) hold key/value items through an offset array at 26: the item's
first byte says whether it is inline (1, the bytes follow) or off-page (3: page
number and total length at +4/+8 of a chain of overflow pages, type 7, each holding
"high free offset" bytes after its header).

Keys are header numbers (a native-endian uint32); key 0 holds rpm's next header
number, not a package. Every page is read at most once per chain, every length is
checked against the file, so a hostile file (overflow loops, absurd lengths) ends
in a warning, not a hang or a huge allocation.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator

from keelwatch.catalog.rpm.header import MAX_BLOB_SIZE
from keelwatch.catalog.rpm.sqlite import RpmDbError

HASH_MAGIC = 0x061561
PAGE_HEADER = 26
P_HASH_UNSORTED, P_OVERFLOW, P_HASHMETA, P_HASH = 2, 7, 8, 13
H_KEYDATA, H_DUPLICATE, H_OFFPAGE, H_OFFDUP = 1, 2, 3, 4
DBMETA_CHKSUM = 0x01


def byte_order(data: bytes) -> str | None:
    """'<' or '>' for a Berkeley DB hash file, else None."""
    if len(data) < 16:
        return None
    for order in "<>":
        if struct.unpack_from(order + "I", data, 12)[0] == HASH_MAGIC:
            return order
    return None


class _Pages:
    def __init__(self, data: bytes, order: str, page_size: int, count: int) -> None:
        self.data, self.order, self.size, self.count = data, order, page_size, count
        # Overflow pages already used by some chain: real databases never share one, and
        # refusing reuse bounds the bytes copied out of a hostile file by its own size.
        self.used: set[int] = set()

    def page(self, pgno: int) -> tuple[int, int, int, int, int]:
        """(page start, next page, entries, high free offset, type), checked against the file."""
        if not 0 < pgno < self.count:
            raise RpmDbError(f"page {pgno} is outside the file")
        start = pgno * self.size
        own, _prev, nxt, entries, hf = struct.unpack_from(self.order + "IIIHH", self.data, start + 8)
        if own != pgno:
            raise RpmDbError(f"page {pgno} says it is page {own}")
        return start, nxt, entries, hf, self.data[start + 25]

    def overflow(self, pgno: int, total: int) -> bytes:
        """Concatenate an overflow chain of exactly `total` bytes; each page is used once per file."""
        if total <= 0 or total > MAX_BLOB_SIZE or total > len(self.data):
            raise RpmDbError(f"overflow item length {total} is impossible")
        parts: list[bytes] = []
        left = total
        while left > 0:
            if pgno in self.used:
                raise RpmDbError(f"overflow chain loops or shares page {pgno}")
            self.used.add(pgno)
            start, nxt, _entries, length, typ = self.page(pgno)
            if typ != P_OVERFLOW:
                raise RpmDbError(f"overflow chain reaches page {pgno} of type {typ}")
            if length == 0 or length > self.size - PAGE_HEADER or length > left:
                raise RpmDbError(f"overflow page {pgno} holds an impossible {length} bytes")
            parts.append(self.data[start + PAGE_HEADER : start + PAGE_HEADER + length])
            left -= length
            pgno = nxt
        return b"".join(parts)


def iter_blobs(data: bytes, warnings: list[str]) -> Iterator[tuple[int, bytes]]:
    """Yield (header number, header blob) for every package, in header-number order."""
    order = byte_order(data)
    if order is None or len(data) < 512:
        raise RpmDbError("not a Berkeley DB hash database")
    version, page_size = struct.unpack_from(order + "II", data, 16)
    encrypt_alg, _type, metaflags = data[24], data[25], data[26]
    last_pgno = struct.unpack_from(order + "I", data, 32)[0]
    if not 8 <= version <= 10:
        raise RpmDbError(f"unsupported Berkeley DB hash version {version}")
    if page_size < 512 or page_size > 65536 or page_size & (page_size - 1):
        raise RpmDbError(f"impossible page size {page_size}")
    if encrypt_alg or metaflags & DBMETA_CHKSUM:
        raise RpmDbError("encrypted or checksummed Berkeley DB databases are not supported")
    count = len(data) // page_size
    if last_pgno + 1 > count:
        warnings.append(f"Berkeley DB file truncated: {count} of {last_pgno + 1} pages present")
    else:
        count = last_pgno + 1
    pages = _Pages(data, order, page_size, count)
    found: dict[int, bytes] = {}
    for pgno in range(1, count):
        start = pgno * page_size
        if data[start + 25] not in (P_HASH, P_HASH_UNSORTED):
            continue
        try:
            _start, _next, entries, _hf, _type = pages.page(pgno)
        except RpmDbError as exc:
            warnings.append(f"Berkeley DB {exc}")
            continue
        _read_hash_page(pages, start, entries, found, warnings)
    for key in sorted(found):
        yield key, found[key]


def _read_hash_page(
    pages: _Pages, start: int, entries: int, found: dict[int, bytes], warnings: list[str]
) -> None:
    """Collect the (key, value) pairs of one hash page into `found`."""
    data, size, order = pages.data, pages.size, pages.order
    entries = min(entries, (size - PAGE_HEADER) // 2)
    offsets = struct.unpack_from(f"{order}{entries}H", data, start + PAGE_HEADER)
    floor = PAGE_HEADER + 2 * entries
    for i in range(0, entries - 1, 2):
        koff, voff = offsets[i], offsets[i + 1]
        kend = size if i == 0 else offsets[i - 1]
        # Items grow down from the end of the page: key above value, each below the previous item.
        if not floor <= voff < koff < kend <= size:
            warnings.append(f"Berkeley DB page {start // size}: item {i} has impossible offsets")
            continue
        key_item = data[start + koff : start + kend]
        if key_item[0] != H_KEYDATA or len(key_item) != 5:
            warnings.append(f"Berkeley DB page {start // size}: item {i} key is not a header number")
            continue
        key = struct.unpack_from(order + "I", key_item, 1)[0]
        if key == 0:
            continue  # rpm's "next header number" record
        try:
            value = _value(pages, data[start + voff : start + koff])
        except RpmDbError as exc:
            warnings.append(f"Berkeley DB header {key}: {exc}")
            continue
        if key in found:
            warnings.append(f"Berkeley DB header number {key} appears twice; the second is ignored")
            continue
        found[key] = value


def _value(pages: _Pages, item: bytes) -> bytes:
    kind = item[0]
    if kind == H_KEYDATA:
        return item[1:]
    if kind == H_OFFPAGE and len(item) >= 12:
        pgno, total = struct.unpack_from(pages.order + "II", item, 4)
        return pages.overflow(pgno, total)
    raise RpmDbError(f"unsupported item type {kind}")
