"""SemVer 2.0.0 precedence, with the input grammars of node-semver (npm) and strict SemVer.

Precedence (semver.org section 11): major, minor, patch numerically; a version
with a pre-release sorts before the same version without; pre-release
identifiers compare left to right, numeric ones numerically and below
alphanumeric ones (ASCII order); a shorter identifier list sorts first when all
shared identifiers are equal. Build metadata (`+...`) is ignored, so
1.0.0+a and 1.0.0+b compare equal (their keys are equal).

`NPM` accepts what node-semver's `new SemVer(v)` accepts in its default (strict)
mode: surrounding whitespace and one leading `v` are tolerated, numbers have no
leading zeros, at most 256 characters, numbers up to 2**53-1. node-semver's
*loose* mode (leading `=`, leading zeros, missing `-` before a pre-release) is
not accepted: OSV npm data uses strict versions. node-semver compares
pre-release identifiers of 16+ digits as floats; we compare them exactly.

`STRICT` (crates.io, Hex, and OSV's generic SEMVER range type) is SemVer 2.0.0
with no whitespace; one leading `v` is tolerated (and ignored) because OSV
SEMVER ranges are also used for Go, whose package versions carry it.
`NUGET` is NuGet's SemVer 2.0 variant: 1 to 4 numeric parts (missing parts are
0; 1.0 == 1.0.0 == 1.0.0.0), leading zeros allowed, pre-release labels compared
case-insensitively. NuGet legacy (SemVer 1) version strings are not supported.
"""

from __future__ import annotations

import functools
import re

from keelwatch.errors import VersionError
from keelwatch.vulndb.versions._scheme import CACHE_SIZE, Scheme, invalid, require_str

_NUM = r"0|[1-9][0-9]*"
_PRE_ID = r"(?:0|[1-9][0-9]*|[0-9]*[A-Za-z-][0-9A-Za-z-]*)"
_BUILD_ID = r"[0-9A-Za-z-]+"
_TAIL = rf"(?:-({_PRE_ID}(?:\.{_PRE_ID})*))?(?:\+{_BUILD_ID}(?:\.{_BUILD_ID})*)?"
_SEMVER = re.compile(rf"({_NUM})\.({_NUM})\.({_NUM}){_TAIL}")
_NUGET = re.compile(
    r"([0-9]+)(?:\.([0-9]+))?(?:\.([0-9]+))?(?:\.([0-9]+))?"
    r"(?:-([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?(?:\+[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?"
)
_NPM_MAX_LENGTH = 256
_NPM_MAX_SAFE_INTEGER = 2**53 - 1
_RELEASE = (1,)  # sorts after every pre-release tuple, which start with 0


def prerelease_key(prerelease: str | None, fold_case: bool = False) -> tuple:
    """(1,) for a release, else (0, id...) with numeric ids (0, n) below alphanumeric (1, s)."""
    if prerelease is None:
        return _RELEASE
    out: list = [0]
    for ident in prerelease.split("."):
        if ident.isdigit():
            out.append((0, int(ident)))
        else:
            out.append((1, ident.lower() if fold_case else ident))
    return tuple(out)


def parse_strict(scheme: str, text: str, version: str) -> tuple:
    """Key of a SemVer 2.0.0 string (no prefix); raises VersionError naming `version`."""
    m = _SEMVER.fullmatch(text)
    if m is None:
        raise invalid(scheme, version, "not MAJOR.MINOR.PATCH[-PRERELEASE][+BUILD] (SemVer 2.0.0)")
    major, minor, patch, pre = m.groups()
    return (int(major), int(minor), int(patch), prerelease_key(pre))


def _npm_key(version: str) -> tuple:
    require_str("npm", version)
    if len(version) > _NPM_MAX_LENGTH:
        raise invalid("npm", version, f"longer than {_NPM_MAX_LENGTH} characters")
    text = version.strip()
    if text[:1] == "v":
        text = text[1:]
    key = parse_strict("npm", text, version)
    if max(key[0], key[1], key[2]) > _NPM_MAX_SAFE_INTEGER:
        raise invalid("npm", version, "version number larger than 2**53-1")
    return key


def _strict_key(version: str) -> tuple:
    text = require_str("semver", version)
    if text[:1] == "v":
        text = text[1:]
    return parse_strict("semver", text, version)


def _nuget_key(version: str) -> tuple:
    require_str("nuget", version)
    m = _NUGET.fullmatch(version.strip())
    if m is None:
        raise invalid("nuget", version, "not N[.N[.N[.N]]][-PRERELEASE][+BUILD]")
    parts = m.groups()
    numbers = tuple(int(p) if p is not None else 0 for p in parts[:4])
    return (*numbers, prerelease_key(parts[4], fold_case=True))


npm_key = functools.lru_cache(maxsize=CACHE_SIZE)(_npm_key)
strict_key = functools.lru_cache(maxsize=CACHE_SIZE)(_strict_key)
nuget_key = functools.lru_cache(maxsize=CACHE_SIZE)(_nuget_key)

NPM = Scheme("npm", npm_key)
STRICT = Scheme("semver", strict_key)
NUGET = Scheme("nuget", nuget_key)
SCHEME = NPM
key = npm_key
compare = NPM.compare
valid = NPM.valid

__all__ = ["NPM", "NUGET", "SCHEME", "STRICT", "VersionError", "compare", "key", "valid"]
