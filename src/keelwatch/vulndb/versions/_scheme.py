"""One small class that turns a cached key function into a `VersionScheme`.

Every ecosystem module only writes its parser (`version -> key`); ordering,
`compare` and `valid` are derived here so they can never disagree with `key`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from keelwatch.errors import VersionError

CACHE_SIZE = 100_000


class Scheme:
    """A `VersionScheme` backed by a (cached) key function that raises VersionError."""

    __slots__ = ("name", "key")

    def __init__(self, name: str, key: Callable[[str], Any]) -> None:
        self.name = name
        self.key = key

    def compare(self, a: str, b: str) -> int:
        """-1, 0 or 1 as `a` sorts before, equal to or after `b` (derived from `key`)."""
        ka = self.key(a)
        kb = self.key(b)
        if ka < kb:
            return -1
        if kb < ka:
            return 1
        return 0

    def valid(self, version: str) -> bool:
        """True when `key(version)` succeeds."""
        try:
            self.key(version)
        except VersionError:
            return False
        return True

    def __repr__(self) -> str:
        return f"<VersionScheme {self.name}>"


def invalid(scheme: str, version: object, reason: str) -> VersionError:
    """The one error format of every scheme: names the scheme, the version and why."""
    return VersionError(f"invalid {scheme} version {version!r}: {reason}")


def require_str(scheme: str, version: object) -> str:
    if not isinstance(version, str):
        raise invalid(scheme, version, f"expected a string, got {type(version).__name__}")
    return version
