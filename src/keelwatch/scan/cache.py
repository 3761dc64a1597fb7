"""Per-layer catalogue cache: one JSON file per (blob digest, diff_id, cataloger signature).

A layer's catalogue depends only on its content and on the catalogers that read it, so
a rescan of an image whose base layers were seen before never opens those blobs. A hit
must mean "this blob was verified to produce this diff_id": entries are written only
after a scan that checked both (the blob digest while reading, the diff_id of the tar
stream), and looked up by that pair. An image that pairs an innocent diff_id with
another blob therefore misses the cache and fails verification when read.

Files are JSON, never pickle, written atomically (temp file + os.replace), and carry an
HMAC-SHA256 of their content under a key kept beside them (created once, mode 0600): an
edited or corrupt entry is discarded with a warning and the layer is scanned again.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import os
import re
import tempfile
from collections.abc import Sequence
from pathlib import Path

from keelwatch.catalog.base import Cataloger
from keelwatch.scan.merge import FORMAT, LayerCatalogue

_DIGEST = re.compile(r"(sha256|sha384|sha512):([0-9a-f]{64}|[0-9a-f]{96}|[0-9a-f]{128})")
_KEY_FILE = ".key"
_KEY_BYTES = 32
_HEAD, _MID = b'{"mac":"', b'","entry":'  # an entry file: _HEAD + 64 hex + _MID + entry JSON + "}"


class _NoKey(Exception):
    """No usable key: the cache is off for this run (already warned)."""


def cataloger_signature(catalogers: Sequence[Cataloger], extra: str = "") -> str:
    """Short hash of cataloger names, versions, patterns and size limits (+ engine settings)."""
    parts = [f"format={FORMAT}", extra]
    for cat in sorted(catalogers, key=lambda c: c.name):
        parts.append(f"{cat.name}:{cat.version}:{cat.max_file_size}:{','.join(cat.patterns)}")
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]


class LayerCache:
    """Layer catalogues under `config.cache_dir()/layers/` (or `root`)."""

    def __init__(self, root: Path | None = None) -> None:
        if root is None:
            from keelwatch.config import cache_dir

            root = cache_dir() / "layers"
        self.root = Path(root)
        self.warnings: list[str] = []
        self.hits = 0
        self.misses = 0
        self._key: bytes | None = None

    def path(self, digest: str, diff_id: str, signature: str) -> Path | None:
        """The cache file for a (blob digest, diff_id) pair, or None if either is not a digest."""
        if not (_DIGEST.fullmatch(digest or "") and _DIGEST.fullmatch(diff_id or "")):
            return None
        if not re.fullmatch(r"[0-9a-f]{1,64}", signature):
            return None
        name = hashlib.sha256(f"{digest}\n{diff_id}\n{signature}".encode()).hexdigest()
        return self.root / f"{name}.json"

    def _mac(self, body: bytes) -> str | None:
        key = self._load_key()
        return None if key is None else hmac.new(key, body, hashlib.sha256).hexdigest()

    def _load_key(self) -> bytes | None:
        """The entries' HMAC key: read, or created once (atomically, 0600) on first use."""
        if self._key is not None:
            return self._key
        path = self.root / _KEY_FILE
        try:
            key = path.read_bytes()
        except FileNotFoundError:
            key = self._create_key(path)
        except OSError:
            key = b""
        if len(key) != _KEY_BYTES:
            self.warnings.append(f"layer cache: key {path} is unreadable or damaged: cache not used")
            key = b""
        self._key = key
        return key or None

    def _create_key(self, path: Path) -> bytes:
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=".key-", dir=self.root)  # mode 0600
            try:
                with os.fdopen(fd, "wb") as fh:
                    fh.write(os.urandom(_KEY_BYTES))
                with contextlib.suppress(FileExistsError):
                    os.link(tmp, path)  # never replaces a key another process just made
            finally:
                Path(tmp).unlink(missing_ok=True)
            return path.read_bytes()
        except OSError:
            return b""

    def get(self, digest: str, diff_id: str, signature: str) -> LayerCatalogue | None:
        path = self.path(digest, diff_id, signature)
        if path is None:
            return None
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            self.misses += 1
            return None
        except OSError as exc:
            self.warnings.append(f"layer cache {path.name}: unreadable ({exc.strerror}), rebuilt")
            self.misses += 1
            return None
        try:
            entry = json.loads(self._verified_body(raw))
            if not isinstance(entry, dict) or (entry.get("digest"), entry.get("diff_id")) != (
                digest,
                diff_id,
            ):
                raise ValueError("written for another layer")
            catalogue = LayerCatalogue.from_json(entry.get("catalogue"))
        except _NoKey:
            self.misses += 1
            return None
        except (ValueError, KeyError, TypeError, RecursionError) as exc:
            self.warnings.append(f"layer cache {path.name}: corrupt ({exc}), discarded and rebuilt")
            self.misses += 1
            return None
        self.hits += 1
        return catalogue

    def _verified_body(self, raw: bytes) -> bytes:
        """The entry's JSON bytes of a file `{"mac":"<hex>","entry":ENTRY}` whose MAC matches."""
        head = len(_HEAD)
        if not (
            raw.startswith(_HEAD) and raw[head + 64 : head + 64 + len(_MID)] == _MID and raw.endswith(b"}")
        ):
            raise ValueError("not a keelwatch cache entry")
        body = raw[head + 64 + len(_MID) : -1]
        mac = self._mac(body)
        if mac is None:
            raise _NoKey
        if not hmac.compare_digest(mac.encode(), raw[head : head + 64]):
            raise ValueError("checksum mismatch: the file was changed")
        return body

    def put(self, digest: str, diff_id: str, signature: str, catalogue: LayerCatalogue) -> bool:
        """Store the catalogue of a layer whose blob and diff_id were both verified.

        False (and nothing written) if it cannot be stored.
        """
        path = self.path(digest, diff_id, signature)
        if path is None:
            return False
        entry = {
            "digest": digest,
            "diff_id": diff_id,
            "signature": signature,
            "catalogue": catalogue.to_json(),
        }
        try:
            body = json.dumps(entry, separators=(",", ":"), ensure_ascii=False).encode(
                "utf-8", "surrogatepass"
            )
        except (TypeError, ValueError):
            return False  # a cataloger produced facts JSON cannot hold: just do not cache
        mac = self._mac(body)
        if mac is None:
            return False
        payload = _HEAD + mac.encode() + _MID + body + b"}"
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".json", dir=self.root)
            try:
                with os.fdopen(fd, "wb") as fh:
                    fh.write(payload)
                os.replace(tmp, path)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
        except OSError as exc:
            self.warnings.append(f"layer cache: cannot write {path.name}: {exc.strerror}")
            return False
        return True
