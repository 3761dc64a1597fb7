"""The version-scheme contract: exact ordering rules per ecosystem.

`key(v)` returns a value that sorts exactly as the ecosystem's reference
implementation orders versions (dpkg --compare-versions, rpmvercmp, PEP 440,
semver, ...), so ranges can be evaluated with plain comparisons and keys can be
cached per (ecosystem, version). `compare` is derived from `key`.
Unparseable input raises keelwatch.errors.VersionError.
"""

from __future__ import annotations

from typing import Any, Protocol


class VersionScheme(Protocol):
    name: str

    def key(self, version: str) -> Any: ...

    def compare(self, a: str, b: str) -> int: ...

    def valid(self, version: str) -> bool: ...
