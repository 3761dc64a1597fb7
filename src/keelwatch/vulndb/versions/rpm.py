"""RPM version ordering: `rpmvercmp` per field, `[epoch:]version[-release]` like labelCompare.

rpmvercmp splits a string into ASCII letter runs and digit runs, skipping every
other character as a separator, with two special markers: `~` sorts before
anything (even the end of the string: 1.0~rc1 < 1.0) and `^` sorts after the
end of the string but before any further segment (1.0 < 1.0^git1 < 1.0.1).
Between two segments, a number beats letters; numbers compare by value, letters
by strcmp. That makes the per-token order  ~ < end < ^ < letters < numbers,
which we encode directly as tuples.

EVR parsing follows rpm's rpmverParse: leading digits followed by `:` are the
epoch (missing epoch = 0, `:1.0` = epoch 0), the release follows the last `-`.
Comparison is rpm.labelCompare: epoch, then version, then release, where a
missing release sorts before any release (labelCompare's NULL < string). rpm's
dependency matcher (rpmverCmp) instead treats a missing release as "equal to
any", which is not an order; we follow labelCompare.

Invalid here: empty or blank-containing strings, an empty version, and an empty
release after a trailing `-`; anything else rpm would sort is accepted.
"""

from __future__ import annotations

import functools
import re

from keelwatch.errors import VersionError
from keelwatch.vulndb.versions._scheme import CACHE_SIZE, Scheme, invalid, require_str

NAME = "rpm"
_TOKENS = re.compile(r"([0-9]+)|([A-Za-z]+)|(~)|(\^)")
_TILDE = (0,)
_END = (1,)
_CARET = (2,)
_BLANK = re.compile(r"\s")
_NO_RELEASE = (0,)


def vercmp_key(segment: str) -> tuple:
    """Key of one field (version or release) that sorts exactly like rpmvercmp."""
    out = []
    for digits, letters, tilde, _caret in _TOKENS.findall(segment):
        if digits:
            out.append((4, int(digits)))
        elif letters:
            out.append((3, letters))
        elif tilde:
            out.append(_TILDE)
        else:
            out.append(_CARET)
    out.append(_END)
    return tuple(out)


def split_evr(evr: str) -> tuple[str, str, str | None]:
    """`[epoch:]version[-release]` -> (epoch, version, release or None), like rpmverParse."""
    i = 0
    while i < len(evr) and "0" <= evr[i] <= "9":
        i += 1
    if i < len(evr) and evr[i] == ":":
        epoch, rest = evr[:i] or "0", evr[i + 1 :]
    else:
        epoch, rest = "0", evr
    dash = rest.rfind("-")
    if dash < 0:
        return epoch, rest, None
    return epoch, rest[:dash], rest[dash + 1 :]


def _key(evr: str) -> tuple:
    require_str(NAME, evr)
    if not evr:
        raise invalid(NAME, evr, "empty version")
    if _BLANK.search(evr):
        raise invalid(NAME, evr, "contains whitespace")
    epoch, version, release = split_evr(evr)
    if not version:
        raise invalid(NAME, evr, "empty version part")
    if release == "":
        raise invalid(NAME, evr, "empty release after '-'")
    release_key = _NO_RELEASE if release is None else (1, vercmp_key(release))
    return (int(epoch), vercmp_key(version), release_key)


key = functools.lru_cache(maxsize=CACHE_SIZE)(_key)
SCHEME = Scheme(NAME, key)
compare = SCHEME.compare
valid = SCHEME.valid

__all__ = ["NAME", "SCHEME", "VersionError", "compare", "key", "split_evr", "valid", "vercmp_key"]
