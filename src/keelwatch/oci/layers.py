"""Stream one layer blob as normalised tar entries, safely and without unpacking it.

Every layer is hostile. The blob is decompressed in bounded chunks (gzip, zstd or
plain tar, sniffed by magic bytes), the uncompressed stream is hashed and checked
against the layer's diff_id, and limits stop decompression bombs, endless archives
and oversized files. Tar headers are parsed here (ustar, GNU long names, pax) rather
than with `tarfile`, so per-entry overhead stays small and a header claiming a huge
size never allocates anything: unwanted file data is skipped inside the chunk buffer.
Nothing is written to disk.

Paths are normalised absolute POSIX paths (`./` stripped, `..` clamped at `/`);
OCI whiteouts (`.wh.NAME`, `.wh..wh..opq`) are reported as their own entry types.
"""

from __future__ import annotations

import hashlib
import queue
import threading
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, BinaryIO
from zlib import adler32

from keelwatch.errors import LayerError

FILE = "file"
DIR = "dir"
SYMLINK = "symlink"
HARDLINK = "hardlink"
WHITEOUT = "whiteout"
OPAQUE = "opaque-whiteout"
OTHER = "other"

WHITEOUT_PREFIX = ".wh."
OPAQUE_MARKER = ".wh..wh..opq"

CHUNK = 1 << 20  # compressed bytes read and uncompressed bytes produced per step
MAX_LINKS = 40  # symlink expansions per resolution, as Linux's MAXSYMLINKS
MAX_WARNINGS = 50  # per layer; more are counted, not listed
_THREAD_HASH_MIN = 8 << 20  # compressed bytes from which hashing runs on its own thread

_BLOCK = 512
_ZERO_BLOCK = bytes(_BLOCK)
_GZIP_MAGIC = b"\x1f\x8b"
_ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
# Type flags (as ints, since indexing bytes gives ints).
_REG_TYPES = frozenset(b"0\x007")
_HEADER_ONLY = {ord("1"): HARDLINK, ord("2"): SYMLINK, ord("3"): OTHER, ord("4"): OTHER}
_HEADER_ONLY.update({ord("5"): DIR, ord("6"): OTHER})
_PAX, _PAX_GLOBAL, _PAX_SOLARIS = ord("x"), ord("g"), ord("X")
_GNU_LONGNAME, _GNU_LONGLINK, _GNU_SPARSE = ord("L"), ord("K"), ord("S")
_PAX_REPEATED = frozenset({"GNU.sparse.offset", "GNU.sparse.numbytes"})


@dataclass(frozen=True, slots=True)
class LayerLimits:
    """Safety limits for reading one layer; defaults suit real images, tests lower them."""

    max_layer_bytes: int = 32 << 30  # uncompressed bytes per layer
    max_ratio: int = 200  # uncompressed/compressed, checked once past ratio_threshold
    ratio_threshold: int = 256 << 20
    max_file_size: int = 256 << 20  # largest file content ever handed to a cataloger
    max_entries: int = 1_000_000
    max_meta_size: int = 1 << 20  # pax records and GNU long names
    # Per image, not per layer (the scan engine keeps the count): files offered to catalogers
    # (200,000 package.json would take minutes and gigabytes) and bytes of symlink targets kept.
    max_catalogued_files: int = 50_000
    max_link_bytes: int = 16 << 20


DEFAULT_LIMITS = LayerLimits()


class Entry:
    """One tar entry: normalised absolute path, type, data size and link target.

    For hardlinks `linkname` is the normalised absolute target; for symlinks it is the
    raw target (resolve it with `resolve_path`, which stays inside the root).
    """

    __slots__ = ("path", "type", "size", "linkname")

    def __init__(self, path: str, type: str, size: int = 0, linkname: str = "") -> None:
        self.path = path
        self.type = type
        self.size = size
        self.linkname = linkname

    def __repr__(self) -> str:
        link = f" -> {self.linkname}" if self.linkname else ""
        return f"Entry({self.type} {self.path}{link}, {self.size} bytes)"


def norm_path(name: str) -> str:
    """Archive member name -> absolute POSIX path with `.`/empty parts dropped, `..` clamped."""
    if name.startswith("./"):
        name = name[2:]
    path = "/" + name
    if "/." not in path and "//" not in path:
        return path.rstrip("/") or "/"
    out: list[str] = []
    for part in path.split("/"):
        if part == "" or part == ".":
            continue
        if part == "..":
            if out:
                out.pop()
        else:
            out.append(part)
    return "/" + "/".join(out)


def resolve_path(path: str, readlink: Callable[[str], str | None], max_links: int = MAX_LINKS) -> str | None:
    """Resolve every symlink in `path` inside the root (`..` and absolute targets never leave it).

    `readlink(p)` returns the raw target of the symlink at normalised path `p`, or None.
    Returns the resolved normalised path, or None on a loop or more than `max_links` links.
    """
    pending = [p for p in reversed(path.split("/")) if p]
    resolved: list[str] = []
    links = 0
    while pending:
        part = pending.pop()
        if part == ".":
            continue
        if part == "..":
            if resolved:
                resolved.pop()
            continue
        target = readlink("/" + "/".join([*resolved, part]))
        if target is None:
            resolved.append(part)
            continue
        links += 1
        if links > max_links:
            return None
        if target.startswith("/"):
            resolved = []
        pending.extend(p for p in reversed(target.split("/")) if p)
    return "/" + "/".join(resolved)


class LayerReader:
    """Iterate the entries of one layer blob; `read()` returns the current file's content.

    Usage: `for entry in reader: ... data = reader.read(limit)`. Data not read is skipped
    when the iteration moves on. At the end the whole blob has been consumed (so the
    source verifies its digest) and the uncompressed stream checked against `diff_id`.
    Any problem raises LayerError; recoverable oddities go to `warnings`.
    """

    def __init__(
        self,
        blob: BinaryIO,
        *,
        diff_id: str | None = None,
        limits: LayerLimits = DEFAULT_LIMITS,
        progress: Callable[[int], None] | None = None,
        label: str = "layer",
        size_hint: int | None = None,
    ) -> None:
        self._blob = blob
        # A hashing thread pays off on big blobs only.
        self._threaded_hash = size_hint is None or size_hint >= _THREAD_HASH_MIN
        self._diff_id = diff_id or None
        self._limits = limits
        self._progress = progress
        self._label = label
        self.warnings: list[str] = []
        self._dropped_warnings = 0
        self.compression = "none"
        self.compressed_bytes = 0
        self.uncompressed_bytes = 0
        self.entries = 0
        self.verified = False  # True once the stream matched diff_id
        self._hash = None
        self._hasher: Any = None  # hashlib object or _BackgroundHash: both have update()
        self._buf = b""
        self._pos = 0
        self._next_chunk: Callable[[], bytes] | None = None
        self._current: Entry | None = None
        self._left = 0  # unread data bytes of the current entry
        self.raw_name = ""  # the current entry's name as stored (before normalisation)
        self._sparse: tuple[list[tuple[int, int]], int] | None = None  # (segments, real size)

    # -- public -----------------------------------------------------------------------------

    def __iter__(self) -> Iterator[Entry]:
        return self._entries()

    def read(self, limit: int) -> bytes | None:
        """Content of the current regular file if it has at most `limit` bytes, else None."""
        entry = self._current
        if entry is None or entry.type != FILE or self._left != entry.size:
            return None
        if self._sparse is not None:
            return self._read_sparse(entry, limit)
        if entry.size > limit or entry.size > self._limits.max_file_size:
            self.warn(f"{entry.path}: skipped, {entry.size} bytes is over the {limit}-byte limit")
            return None
        data = self._take(entry.size)
        self._left = 0
        return data

    def read_some(self, n: int) -> bytes:
        """Up to `n` more bytes of the current regular file (streaming; b"" at its end)."""
        entry = self._current
        if entry is None or entry.type != FILE:
            return b""
        n = min(n, self._left, CHUNK)
        if n <= 0:
            return b""
        data = self._take(n)
        self._left -= n
        return data

    def data_offset(self) -> int:
        """Offset in the uncompressed stream of the current entry's unread data."""
        return self.uncompressed_bytes - (len(self._buf) - self._pos)

    def warn(self, message: str) -> None:
        if len(self.warnings) < MAX_WARNINGS:
            self.warnings.append(message)
        else:
            self._dropped_warnings += 1

    # -- decompression ----------------------------------------------------------------------

    def _error(self, message: str) -> LayerError:
        return LayerError(f"{self._label}: {message}")

    def _tar_error(self, message: str) -> LayerError:
        """A tar structure error; in a compressed layer the compression is the likelier culprit."""
        if self.compression != "none":
            message += f" (corrupt {self.compression} stream?)"
        return self._error(message)

    def _count_compressed(self, n: int) -> None:
        self.compressed_bytes += n
        if self._progress is not None and n:
            self._progress(self.compressed_bytes)

    def _raw_chunks(self) -> Iterator[bytes]:
        """Uncompressed chunks of the blob, decompressor chosen by magic bytes."""
        first = self._blob.read(CHUNK)
        self._count_compressed(len(first))
        if first.startswith(_GZIP_MAGIC):
            self.compression = "gzip"
            return self._gunzip(first)
        if first.startswith(_ZSTD_MAGIC):
            self.compression = "zstd"
            return self._unzstd(first)
        return self._plain(first)

    def _read_blob(self) -> bytes:
        data = self._blob.read(CHUNK)
        self._count_compressed(len(data))
        return data

    def _plain(self, first: bytes) -> Iterator[bytes]:
        data = first
        while data:
            yield data
            data = self._read_blob()

    def _gunzip(self, first: bytes) -> Iterator[bytes]:
        # Output is bounded per call (max_length), so one small compressed chunk can never
        # expand into a huge allocation. Concatenated gzip members are one stream.
        d = zlib.decompressobj(31)
        data = first
        try:
            while True:
                if not data:
                    data = self._read_blob()
                    if not data:
                        raise self._error("truncated gzip stream (blob ends inside compressed data)")
                out = d.decompress(data, CHUNK)
                if out:
                    yield out
                data = d.unconsumed_tail
                while d.eof:
                    rest = d.unused_data or self._read_blob()
                    if not rest:
                        return
                    if rest.startswith(_GZIP_MAGIC) or (len(rest) == 1 and rest == b"\x1f"):
                        d = zlib.decompressobj(31)
                        data = rest
                        break
                    self.warn(f"ignored {len(rest)}+ bytes of trailing data after the gzip stream")
                    while self._read_blob():
                        pass
                    return
        except zlib.error as exc:
            raise self._error(f"corrupt gzip stream: {exc}") from None

    def _unzstd(self, first: bytes) -> Iterator[bytes]:
        import io

        import zstandard

        class _Source:
            """The rest of the blob after the sniffed first chunk, counted."""

            def __init__(inner) -> None:
                inner.head = first

            def read(inner, n: int = -1) -> bytes:
                if inner.head:
                    head, inner.head = inner.head, b""
                    return head
                return self._read_blob()

        # stream_reader bounds the output per read; max_window_size bounds decoder memory.
        dctx = zstandard.ZstdDecompressor(max_window_size=1 << 27)
        reader = dctx.stream_reader(_Source(), read_size=CHUNK, read_across_frames=True)
        try:
            while True:
                out = reader.read(CHUNK)
                if not out:
                    break
                yield out
        except (zstandard.ZstdError, io.UnsupportedOperation, ValueError) as exc:
            raise self._error(f"corrupt zstd stream: {exc}") from None
        while self._read_blob():  # drain, so the source verifies the blob digest
            pass

    def _checked_chunks(self) -> Iterator[bytes]:
        """Uncompressed chunks, hashed and held to the size and ratio limits."""
        limits = self._limits
        h = self._hasher
        total = 0
        for chunk in self._raw_chunks():
            total += len(chunk)
            self.uncompressed_bytes = total
            if total > limits.max_layer_bytes:
                raise self._error(f"over {limits.max_layer_bytes} uncompressed bytes (limit)")
            if total > limits.ratio_threshold and total > limits.max_ratio * max(self.compressed_bytes, 1):
                raise self._error(
                    f"decompression bomb: {total} bytes from {self.compressed_bytes} compressed "
                    f"(ratio over {limits.max_ratio}:1)"
                )
            if h is not None:
                h.update(chunk)
            yield chunk

    # -- buffered access to the uncompressed stream -------------------------------------------

    def _truncated(self) -> LayerError:
        hint = f" (truncated or corrupt {self.compression} stream?)" if self.compression != "none" else ""
        return self._error(f"tar stream ends early{hint}")

    def _pull(self) -> bytes:
        assert self._next_chunk is not None
        try:
            return self._next_chunk()
        except StopIteration:
            return b""

    def _take(self, n: int) -> bytes:
        """Exactly n bytes of the stream (n is bounded by the caller's limits)."""
        pos, buf = self._pos, self._buf
        end = pos + n
        if end <= len(buf):
            self._pos = end
            return buf[pos:end]
        parts = [buf[pos:]]
        need = n - (len(buf) - pos)
        while need > 0:
            chunk = self._pull()
            if not chunk:
                raise self._truncated()
            if len(chunk) > need:
                parts.append(chunk[:need])
                self._buf, self._pos = chunk, need
                return b"".join(parts)
            parts.append(chunk)
            need -= len(chunk)
        self._buf, self._pos = b"", 0
        return b"".join(parts)

    def _skip(self, n: int) -> None:
        """Skip n bytes without keeping them (they are still hashed)."""
        avail = len(self._buf) - self._pos
        if n <= avail:
            self._pos += n
            return
        n -= avail
        while True:
            chunk = self._pull()
            if not chunk:
                raise self._truncated()
            if len(chunk) > n:
                self._buf, self._pos = chunk, n
                return
            n -= len(chunk)
            if n == 0:
                self._buf, self._pos = b"", 0
                return

    def _header(self) -> bytes | None:
        """The next 512-byte block, or None at a clean end of stream."""
        pos, buf = self._pos, self._buf
        if pos + _BLOCK <= len(buf):
            self._pos = pos + _BLOCK
            return buf[pos : pos + _BLOCK]
        if pos == len(buf):
            chunk = self._pull()
            if not chunk:
                return None
            self._buf, self._pos = chunk, 0
            if len(chunk) >= _BLOCK:
                self._pos = _BLOCK
                return chunk[:_BLOCK]
        return self._take(_BLOCK)

    # -- tar parsing --------------------------------------------------------------------------

    def _entries(self) -> Iterator[Entry]:
        if self._next_chunk is not None:
            raise self._error("a layer can be iterated only once")
        self._hash = _new_hash(self._diff_id, self._error) if self._diff_id else None
        if self._hash is not None:
            self._hasher = _BackgroundHash(self._hash) if self._threaded_hash else self._hash
        self._next_chunk = self._checked_chunks().__next__
        try:
            yield from self._parse()
            self._drain()
        finally:
            self._current = None
            if isinstance(self._hasher, _BackgroundHash):
                self._hasher.close()
        self._verify()

    def _drain(self) -> None:
        while self._pull():
            pass
        self._buf, self._pos = b"", 0

    def _verify(self) -> None:
        if self._dropped_warnings:
            self.warnings.append(f"… and {self._dropped_warnings} more warnings")
            self._dropped_warnings = 0
        if self._hash is None:
            return
        assert self._diff_id is not None
        if f"{self._hash.name}:{self._hash.hexdigest()}" != self._diff_id:
            hint = f" (truncated or corrupt {self.compression} stream?)" if self.compression != "none" else ""
            raise self._error(f"content does not match diff_id {self._diff_id}{hint}")
        self.verified = True

    def _parse(self) -> Iterator[Entry]:
        limits = self._limits
        max_entries = limits.max_entries
        pax: dict[str, str] = {}
        long_name: bytes | None = None
        long_link: bytes | None = None
        count = 0
        while True:
            hdr = self._header()
            if hdr is None:
                return  # no end-of-archive marker: accepted, like GNU tar and Go
            if len(hdr) < _BLOCK:
                raise self._truncated()
            if hdr == _ZERO_BLOCK:
                return
            # Fast paths for the usual zero-padded octal fields; adler32's low half is
            # 1 + sum(bytes) mod 65521, summed in C. Anything unusual takes the exact path.
            try:
                stored = int(hdr[148:154], 8)
            except ValueError:
                stored = -1
            if (stored + sum(hdr[148:156]) - 255) % 65521 != adler32(hdr) & 0xFFFF or stored < 0:
                _check_checksum(hdr, self._tar_error)
            flag = hdr[156]
            count += 1  # metadata headers count too: they cost parsing time
            if count > max_entries:
                raise self._error(f"more than {max_entries} entries (limit)")
            try:
                size = int(hdr[124:135], 8)
                if size < 0:
                    raise ValueError
            except ValueError:
                size = _parse_size(hdr, self._tar_error)

            if flag in (_PAX, _PAX_GLOBAL, _PAX_SOLARIS, _GNU_LONGNAME, _GNU_LONGLINK):
                if size > limits.max_meta_size:
                    raise self._error(f"tar metadata record of {size} bytes is over the limit")
                data = self._take(size)
                self._skip(-size % _BLOCK)
                if flag == _GNU_LONGNAME:
                    long_name = data.split(b"\0", 1)[0]
                elif flag == _GNU_LONGLINK:
                    long_link = data.split(b"\0", 1)[0]
                elif flag != _PAX_GLOBAL:
                    pax = _parse_pax(data, self._tar_error)
                continue

            self.entries = count

            if pax:
                if "size" in pax:
                    try:
                        size = int(pax["size"])
                    except ValueError:
                        raise self._error("invalid pax size record") from None
                    if size < 0:
                        raise self._error("invalid pax size record")
                name = pax.get("GNU.sparse.name") or pax.get("path")
                link = pax.get("linkpath")
            else:
                name = link = None
            sparse = _pax_sparse(pax, self._tar_error) if pax and flag in _REG_TYPES else None
            if not name:
                name = self._decode(long_name if long_name is not None else _name_field(hdr))
            if link is None and flag in (49, 50):  # '1', '2'
                link = self._decode(long_link if long_link is not None else _cstr(hdr[157:257]))
            pax = {}
            long_name = long_link = None

            if "\0" in name:
                name = name.split("\0", 1)[0]
            self.raw_name = name
            path = norm_path(name)
            if flag in _REG_TYPES:
                etype = FILE
                data_size = size
                if sparse is not None and sparse[0] is None:  # PAX 1.0: the map leads the data
                    segments, used = self._sparse_map_v1(size)
                    sparse, data_size = (segments, sparse[1]), size - used
            elif flag == _GNU_SPARSE:
                etype, data_size = FILE, size
                sparse = self._old_gnu_sparse(hdr)
            else:
                etype = _HEADER_ONLY.get(flag, OTHER)
                data_size = 0 if flag in _HEADER_ONLY else size
            linkname = ""
            if etype == HARDLINK:
                linkname = norm_path(link or "")
            elif etype == SYMLINK:
                linkname = link or ""
            if "/.wh." in path:
                etype, path = self._whiteout(path, etype)

            entry = Entry(path, etype, data_size, linkname)
            self._current = entry
            self._left = data_size
            self._sparse = sparse if etype == FILE else None
            yield entry
            self._current = None
            self._skip(self._left + (-data_size % _BLOCK))
            self._left = 0

    def _whiteout(self, path: str, etype: str) -> tuple[str, str]:
        cut = path.rfind("/")
        base = path[cut + 1 :]
        if not base.startswith(WHITEOUT_PREFIX):
            return etype, path
        parent = path[:cut] or "/"
        if base == OPAQUE_MARKER:
            return OPAQUE, parent
        if base.startswith(WHITEOUT_PREFIX + WHITEOUT_PREFIX):
            return OTHER, path  # aufs metadata (.wh..wh.plnk and friends): not a whiteout
        victim = base[len(WHITEOUT_PREFIX) :]
        if victim in ("", ".", ".."):
            self.warn(f"{path}: ignored malformed whiteout")
            return OTHER, path
        return WHITEOUT, parent.rstrip("/") + "/" + victim

    def _old_gnu_sparse(self, hdr: bytes) -> tuple[list[tuple[int, int]], int]:
        """Map and real size of an old GNU sparse header ('S'), with its extension blocks."""
        segments = _sparse_pairs(hdr[386:482], 4, self._tar_error)
        realsize = _number(hdr[483:495], self._tar_error)
        extended = hdr[482]
        blocks = 0
        while extended:
            blocks += 1
            if blocks * _BLOCK > self._limits.max_meta_size:
                raise self._error("sparse map over the metadata limit")
            block = self._take(_BLOCK)
            segments += _sparse_pairs(block[:504], 21, self._tar_error)
            extended = block[504]
        return segments, realsize

    def _sparse_map_v1(self, size: int) -> tuple[list[tuple[int, int]], int]:
        """PAX sparse 1.0: the map is decimal lines at the start of the data, padded to a block."""
        text = b""
        while True:
            if len(text) >= size or len(text) >= self._limits.max_meta_size:
                raise self._tar_error("invalid or oversized PAX 1.0 sparse map")
            text += self._take(_BLOCK)
            lines = text.split(b"\n")
            try:
                count = int(lines[0]) if len(lines) > 1 else -1
                if count >= 0 and len(lines) > 1 + 2 * count:
                    nums = [int(x) for x in lines[1 : 1 + 2 * count]]
                    break
            except ValueError:
                raise self._tar_error("invalid PAX 1.0 sparse map") from None
        return list(zip(nums[::2], nums[1::2], strict=True)), len(text)

    def _read_sparse(self, entry: Entry, limit: int) -> bytes | None:
        """A sparse file's content: its data segments placed at their offsets, holes as zeros."""
        assert self._sparse is not None
        segments, realsize = self._sparse
        if realsize > limit or realsize > self._limits.max_file_size:
            self.warn(
                f"{entry.path}: skipped, sparse file of {realsize} bytes is over the {limit}-byte limit"
            )
            return None
        stored = self._take(entry.size)
        self._left = 0
        out = bytearray(realsize)
        pos = 0
        for offset, length in segments:
            if offset < 0 or length < 0 or offset + length > realsize or pos + length > len(stored):
                self.warn(f"{entry.path}: skipped, invalid sparse map")
                return None
            out[offset : offset + length] = stored[pos : pos + length]
            pos += length
        return bytes(out)

    def _decode(self, raw: bytes) -> str:
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            name = raw.decode("utf-8", "replace")
            self.warn(f"{norm_path(name)}: file name is not valid UTF-8 (bytes replaced)")
            return name


class _BackgroundHash:
    """Hash chunks on a worker thread: hashlib releases the GIL on large buffers, so the
    diff_id hash overlaps decompression on another core. The queue bounds memory."""

    def __init__(self, h: Any) -> None:
        self._h = h
        self._q: queue.Queue[bytes | None] = queue.Queue(maxsize=16)
        self._thread = threading.Thread(target=self._run, name="layer-hash", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        get, update = self._q.get, self._h.update
        while (chunk := get()) is not None:
            update(chunk)

    def update(self, chunk: bytes) -> None:
        self._q.put(chunk)

    def close(self) -> None:
        """Wait until every queued chunk is hashed (idempotent)."""
        if self._thread.is_alive():
            self._q.put(None)
            self._thread.join()


def _new_hash(diff_id: str, error: Callable[[str], LayerError]):  # -> hashlib._Hash
    algo, _, hexdigest = diff_id.partition(":")
    if algo not in ("sha256", "sha384", "sha512") or not hexdigest:
        raise error(f"unsupported diff_id {diff_id!r}")
    return hashlib.new(algo)


def _cstr(field: bytes) -> bytes:
    end = field.find(b"\0")
    return field if end < 0 else field[:end]


def _name_field(hdr: bytes) -> bytes:
    name = _cstr(hdr[0:100])
    # POSIX ustar splits long names into prefix + name; GNU ("ustar  ") uses the field otherwise.
    if hdr[257:263] == b"ustar\x00" and hdr[345] != 0:
        name = _cstr(hdr[345:500]) + b"/" + name
    return name


def _parse_octal(field: bytes) -> int:
    field = field.strip(b" \x00")
    if not field:
        return 0
    if not field.isdigit():
        raise ValueError(field)
    return int(field, 8)


def _parse_size(hdr: bytes, error: Callable[[str], LayerError]) -> int:
    first = hdr[124]
    if first & 0x80:  # GNU base-256
        if first == 0xFF:
            raise error("negative size in tar header")
        return int.from_bytes(bytes([first & 0x7F]) + hdr[125:136], "big")
    try:
        return _parse_octal(hdr[124:136])
    except ValueError:
        raise error("invalid size field in tar header (not a tar archive, or corrupt)") from None


def _check_checksum(hdr: bytes, error: Callable[[str], LayerError]) -> None:
    try:
        stored = _parse_octal(hdr[148:156])
    except ValueError:
        raise error("invalid tar header (not a tar archive, or corrupt)") from None
    unsigned = sum(hdr) - sum(hdr[148:156]) + 8 * 32
    if stored == unsigned:
        return
    signed = unsigned - 256 * sum(1 for b in hdr if b > 127) + 256 * sum(1 for b in hdr[148:156] if b > 127)
    if stored != signed:
        raise error("tar header checksum mismatch (not a tar archive, or corrupt)")


def _number(field: bytes, error: Callable[[str], LayerError]) -> int:
    """An octal or GNU base-256 numeric header field."""
    if field[:1] and field[0] & 0x80:
        if field[0] == 0xFF:
            raise error("negative number in tar header")
        return int.from_bytes(bytes([field[0] & 0x7F]) + field[1:], "big")
    try:
        return _parse_octal(field)
    except ValueError:
        raise error("invalid number in tar header") from None


def _sparse_pairs(area: bytes, count: int, error: Callable[[str], LayerError]) -> list[tuple[int, int]]:
    """(offset, length) pairs of an old GNU sparse area: 12-byte offset and length fields."""
    out = []
    for i in range(count):
        field = area[i * 24 : i * 24 + 24]
        if not field.strip(b"\0"):
            break
        out.append((_number(field[:12], error), _number(field[12:], error)))
    return out


def _pax_sparse(pax: dict[str, str], error: Callable[[str], LayerError]) -> tuple[Any, int] | None:
    """Sparse map and real size from PAX records: 0.0 (offset/numbytes), 0.1 (map), or
    1.0 (map in the data: returned as None, read by the caller). None if not sparse."""
    try:
        if pax.get("GNU.sparse.major") == "1":
            return None, int(pax.get("GNU.sparse.realsize") or pax.get("GNU.sparse.size") or "")
        if "GNU.sparse.map" in pax:
            nums = [int(x) for x in pax["GNU.sparse.map"].split(",") if x]
        elif "GNU.sparse.offset" in pax:
            offsets = pax["GNU.sparse.offset"].split(",")
            lengths = pax.get("GNU.sparse.numbytes", "").split(",")
            nums = [int(x) for pair in zip(offsets, lengths, strict=True) for x in pair]
        else:
            return None
        if len(nums) % 2:
            raise ValueError
        return list(zip(nums[::2], nums[1::2], strict=True)), int(pax["GNU.sparse.size"])
    except (ValueError, KeyError):
        raise error("invalid PAX sparse records") from None


def _parse_pax(data: bytes, error: Callable[[str], LayerError]) -> dict[str, str]:
    """`"%d %s=%s\\n"` records; values are UTF-8 (undecodable bytes replaced)."""
    out: dict[str, str] = {}
    pos, end = 0, len(data)
    while pos < end:
        if data[pos] == 0:  # NUL padding after the records
            break
        sp = data.find(b" ", pos, min(end, pos + 24))
        if sp < 0:
            raise error("invalid pax header record")
        try:
            length = int(data[pos:sp])
        except ValueError:
            raise error("invalid pax header record") from None
        if length <= sp - pos or pos + length > end or data[pos + length - 1] != 0x0A:
            raise error("invalid pax header record")
        key, eq, value = data[sp + 1 : pos + length - 1].partition(b"=")
        if not eq:
            raise error("invalid pax header record")
        name, text = key.decode("utf-8", "replace"), value.decode("utf-8", "replace")
        if name in _PAX_REPEATED and name in out:  # PAX sparse 0.0 repeats these, in order
            text = out[name] + "," + text
        out[name] = text
        pos += length
    return out
