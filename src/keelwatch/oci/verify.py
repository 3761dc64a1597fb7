"""Digest-verified reads: every blob is checked against its digest as it streams.

A layer can be gigabytes, so the check happens while the consumer reads: the
wrapper hashes each chunk and raises DigestMismatchError at EOF when the digest
differs, when more bytes than the declared size arrive, or when the stream ends
short. A corrupt or tampered blob is therefore an error, never a result.
"""

from __future__ import annotations

import hashlib
import io
import re
from typing import BinaryIO

from keelwatch.errors import DigestMismatchError, ImageSourceError

_HEX_LEN = {"sha256": 64, "sha512": 128}
_DIGEST_RE = re.compile(r"^([a-z0-9]+(?:[+._-][a-z0-9]+)*):([a-zA-Z0-9=_-]+)$")


def parse_digest(digest: str) -> tuple[str, str]:
    """`algo:hex` -> (algo, hex); only sha256 and sha512 are accepted."""
    m = _DIGEST_RE.match(digest or "")
    if not m:
        raise ImageSourceError(f"invalid digest {digest!r}")
    algo, hexpart = m.group(1), m.group(2)
    if algo not in _HEX_LEN:
        raise ImageSourceError(f"unsupported digest algorithm {algo!r} in {digest}")
    if len(hexpart) != _HEX_LEN[algo] or not re.fullmatch(r"[0-9a-f]+", hexpart):
        raise ImageSourceError(f"invalid {algo} digest {digest!r}")
    return algo, hexpart


def verify_bytes(data: bytes, digest: str, what: str = "blob") -> bytes:
    """Return `data` if it matches `digest`, else raise DigestMismatchError."""
    algo, expected = parse_digest(digest)
    actual = hashlib.new(algo, data).hexdigest()
    if actual != expected:
        raise DigestMismatchError(f"{what} {digest} does not match its content ({algo}:{actual})")
    return data


class VerifyingReader(io.RawIOBase):
    """A read-only stream over `raw` that checks size and digest; errors surface at EOF at the latest."""

    def __init__(
        self,
        raw: BinaryIO,
        digest: str,
        size: int | None = None,
        *,
        what: str = "blob",
        close_raw: bool = True,
    ) -> None:
        super().__init__()
        self._algo, self._expected = parse_digest(digest)
        self._hash = hashlib.new(self._algo)
        self._raw = raw
        self._digest = digest
        self._size = size
        self._seen = 0
        self._what = what
        self._close_raw = close_raw
        self._done = False

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        data = self.read(len(buffer))
        n = len(data)
        buffer[:n] = data
        return n

    def read(self, size: int | None = -1) -> bytes:
        if self._done:
            return b""
        if size is None or size < 0:
            chunks = []
            while chunk := self.read(1 << 20):
                chunks.append(chunk)
            return b"".join(chunks)
        if size == 0:
            return b""
        data = self._raw.read(size)
        if data:
            self._seen += len(data)
            if self._size is not None and self._seen > self._size:
                self._done = True
                raise DigestMismatchError(
                    f"{self._what} {self._digest} is larger than its declared size {self._size}"
                )
            self._hash.update(data)
            return data
        self._finish()
        return b""

    def readall(self) -> bytes:
        return self.read(-1)

    def _finish(self) -> None:
        self._done = True
        if self._size is not None and self._seen != self._size:
            raise DigestMismatchError(
                f"{self._what} {self._digest} is truncated: {self._seen} of {self._size} bytes"
            )
        actual = self._hash.hexdigest()
        if actual != self._expected:
            raise DigestMismatchError(
                f"{self._what} {self._digest} does not match its content ({self._algo}:{actual})"
            )

    def close(self) -> None:
        if not self.closed and self._close_raw:
            self._raw.close()
        super().close()


def read_verified(
    raw: BinaryIO, digest: str, *, size: int | None = None, limit: int, what: str = "blob"
) -> bytes:
    """Read a small blob (manifest, config) whole, refusing more than `limit` bytes."""
    if size is not None and size > limit:
        raise ImageSourceError(f"{what} {digest} is too large ({size} bytes, limit {limit})")
    with VerifyingReader(raw, digest, size, what=what) as reader:
        data = reader.read(limit + 1)
        if len(data) > limit:
            raise ImageSourceError(f"{what} {digest} is too large (over {limit} bytes)")
        while chunk := reader.read(limit + 1 - len(data)):
            data += chunk
            if len(data) > limit:
                raise ImageSourceError(f"{what} {digest} is too large (over {limit} bytes)")
        return data
