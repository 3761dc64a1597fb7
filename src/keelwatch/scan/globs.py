"""Compile every cataloger's path globs into one fast path -> catalogers matcher.

The matcher runs once per tar entry (hundreds of thousands per image), so the
common "no match" answer must be cheap: literal patterns are a dict lookup, and
wildcard patterns are first filtered by the literal text they must end with
(`str.endswith` on a tuple, in C) before one combined regex decides.

Glob rules (catalog/base.py): paths are normalised absolute POSIX paths; `**/`
matches any number of directories including none; `*` and `?` never cross `/`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Generic, Protocol, TypeVar


class Patterned(Protocol):
    """Anything with globs: a cataloger, or a stand-in carrying one's relocated patterns."""

    @property
    def patterns(self) -> tuple[str, ...]: ...


T = TypeVar("T", bound=Patterned)


def glob_to_regex(pattern: str) -> str:
    """Translate one glob into a regex source (unanchored)."""
    if not pattern.startswith(("/", "**")):
        pattern = "**/" + pattern  # a relative glob matches anywhere
    out: list[str] = []
    i, n = 0, len(pattern)
    while i < n:
        ch = pattern[i]
        if pattern.startswith("**/", i):
            out.append("/(?:[^/]*/)*" if i == 0 else "(?:[^/]*/)*")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif ch == "*":
            out.append("[^/]*")
            i += 1
        elif ch == "?":
            out.append("[^/]")
            i += 1
        else:
            out.append(re.escape(ch))
            i += 1
    return "".join(out)


def _literal_tail(pattern: str) -> str:
    """The literal text every match must end with (after the last wildcard)."""
    cut = max(pattern.rfind("*"), pattern.rfind("?"))
    return pattern[cut + 1 :]


class PathMatcher(Generic[T]):
    """`matcher(path)` -> tuple of catalogers whose patterns match (empty tuple if none)."""

    def __init__(self, catalogers: Sequence[T]) -> None:
        literal: dict[str, list[T]] = {}
        wild: list[tuple[re.Pattern[str], T]] = []
        tails: set[str] = set()
        for cat in catalogers:
            for pattern in cat.patterns:
                if not any(c in pattern for c in "*?"):
                    bucket = literal.setdefault(pattern, [])
                    if cat not in bucket:
                        bucket.append(cat)
                    continue
                wild.append((re.compile(glob_to_regex(pattern)), cat))
                tails.add(_literal_tail(pattern))
        self._literal = {path: tuple(cats) for path, cats in literal.items()}
        self._wild = wild
        # An empty tail ("/x/*") means every path is a candidate.
        self._tails: tuple[str, ...] | None = None if "" in tails else tuple(tails)
        self._any = re.compile("|".join(f"(?:{p.pattern})" for p, _ in wild)).fullmatch if wild else None

    def __call__(self, path: str) -> tuple[T, ...]:
        hit = self._literal.get(path)
        if self._any is None:
            return hit or ()
        if self._tails is not None and not path.endswith(self._tails):
            return hit or ()
        if self._any(path) is None:
            return hit or ()
        cats = list(hit or ())
        for regex, cat in self._wild:
            if cat not in cats and regex.fullmatch(path):
                cats.append(cat)
        return tuple(cats)
