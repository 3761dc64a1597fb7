"""Per-layer catalogue cache: one JSON file per (diff_id, cataloger signature).

A layer's catalogue depends only on its content (the diff_id, verified while
streaming) and on the catalogers that read it (their names and versions), so a
rescan of an image whose base layers were seen before never opens those blobs.
Files are JSON, never pickle (a cache file could be tampered with), written
atomically (temp file + os.replace), and a corrupt or foreign file is ignored,
reported as a warning and rebuilt.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from keelwatch.scan.merge import FORMAT, LayerCatalogue

_DIFF_ID = re.compile(r"(sha256|sha384|sha512):([0-9a-f]{64}|[0-9a-f]{96}|[0-9a-f]{128})")


def cataloger_signature(catalogers: Sequence[Any], extra: str = "") -> str:
    """Short hash of cataloger names, versions, patterns and size limits (+ engine settings)."""
    parts = [f"format={FORMAT}", extra]
    for cat in sorted(catalogers, key=lambda c: str(getattr(c, "name", ""))):
        parts.append(
            f"{getattr(cat, 'name', '?')}:{getattr(cat, 'version', 0)}:"
            f"{getattr(cat, 'max_file_size', 0)}:{','.join(getattr(cat, 'patterns', ()))}"
        )
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

    def path(self, diff_id: str, signature: str) -> Path | None:
        """The cache file for a layer, or None if the diff_id is not a well-formed digest."""
        m = _DIFF_ID.fullmatch(diff_id or "")
        if m is None or not re.fullmatch(r"[0-9a-f]{1,64}", signature):
            return None
        return self.root / f"{m.group(1)}-{m.group(2)}-{signature}.json"

    def get(self, diff_id: str, signature: str) -> LayerCatalogue | None:
        path = self.path(diff_id, signature)
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
            data = json.loads(raw)
            if not isinstance(data, dict) or data.get("diff_id") != diff_id:
                raise ValueError("written for another layer")
            catalogue = LayerCatalogue.from_json(data.get("catalogue"))
        except (ValueError, KeyError, TypeError, RecursionError) as exc:
            self.warnings.append(f"layer cache {path.name}: corrupt ({exc}), rebuilt")
            self.misses += 1
            return None
        self.hits += 1
        return catalogue

    def put(self, diff_id: str, signature: str, catalogue: LayerCatalogue) -> bool:
        """Store a catalogue; False (and nothing written) if it cannot be stored."""
        path = self.path(diff_id, signature)
        if path is None:
            return False
        try:
            payload = json.dumps(
                {"diff_id": diff_id, "signature": signature, "catalogue": catalogue.to_json()},
                separators=(",", ":"),
                ensure_ascii=False,
            ).encode("utf-8", "surrogatepass")
        except (TypeError, ValueError):
            return False  # a cataloger produced facts JSON cannot hold: just do not cache
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
