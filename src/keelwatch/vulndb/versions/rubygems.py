"""RubyGems version ordering, as `Gem::Version#<=>` (RubyGems 3.x, rubygems/version.rb).

A version is `[0-9]+(\\.[0-9a-zA-Z]+)*(-[0-9A-Za-z-]+(\\.[0-9A-Za-z-]+)*)?` with surrounding
whitespace ignored. `-` is read as `.pre.` (so `1.0-rc1` is a
pre-release). The version splits into segments: runs of digits (integers) and runs of
letters (strings). Trailing zeros are dropped from the numeric head and from the rest
(`canonical_segments`), then segments are compared pairwise with 0 standing in for a
missing one: a string sorts before any number (pre-releases before the release), strings
compare bytewise, numbers numerically.

The key encodes that padding-with-zeros comparison without knowing the other side: each
non-zero segment is keyed with the count of zeros before it, and the end of the version
is an infinite run of zeros, which sorts above a string and below a number.

One deliberate difference: Ruby reads an empty version as "0"; here it is invalid, so an
advisory with an empty bound is skipped with a warning instead of matching as if fixed at 0.
"""

from __future__ import annotations

import functools
import re

from keelwatch.errors import VersionError
from keelwatch.vulndb.versions._scheme import CACHE_SIZE, Scheme, invalid, require_str

NAME = "rubygems"
_VALID = re.compile(r"\s*([0-9]+(?:\.[0-9a-zA-Z]+)*(?:-[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?)?\s*")
_SEGMENT = re.compile(r"[0-9]+|[a-zA-Z]+")
_MAX_LENGTH = 256
_END = (1,)  # the rest is zeros: above any string, below any number


def _strip_zeros(segments: list[int | str]) -> list[int | str]:
    while segments and segments[-1] == 0:
        segments.pop()
    return segments


def canonical_segments(version: str) -> list[int | str]:
    """Gem::Version#canonical_segments of a valid version."""
    text = version.strip().replace("-", ".pre.")
    segments: list[int | str] = [int(s) if s.isdigit() else s for s in _SEGMENT.findall(text)]
    first_string = next((i for i, s in enumerate(segments) if isinstance(s, str)), len(segments))
    return _strip_zeros(segments[:first_string]) + _strip_zeros(segments[first_string:])


def _key(version: str) -> tuple:
    require_str(NAME, version)
    if len(version) > _MAX_LENGTH:
        raise invalid(NAME, version, f"longer than {_MAX_LENGTH} characters")
    if not version.strip():
        raise invalid(NAME, version, "empty")
    if not _VALID.fullmatch(version):
        raise invalid(NAME, version, "not a Gem::Version")
    out: list[tuple] = []
    zeros = 0
    for seg in canonical_segments(version):
        if seg == 0:
            zeros += 1
            continue
        # A number after `zeros` zeros beats the other side's end-of-version sooner the fewer
        # zeros precede it; a string loses to it sooner the fewer zeros precede it.
        out.append((2, -zeros, seg) if isinstance(seg, int) else (0, zeros, seg))
        zeros = 0
    out.append(_END)
    return tuple(out)


key = functools.lru_cache(maxsize=CACHE_SIZE)(_key)
SCHEME = Scheme(NAME, key)
compare = SCHEME.compare
valid = SCHEME.valid

__all__ = ["SCHEME", "VersionError", "canonical_segments", "compare", "key", "valid"]
