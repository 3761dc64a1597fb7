"""Go module version ordering, as golang.org/x/mod/semver.Compare.

Go versions are SemVer 2.0.0 with a `v` prefix (v1.2.3, v1.2.3-pre.1,
v2.0.0+incompatible). Build metadata (including `+incompatible`) is ignored for
ordering, so v2.0.0+incompatible == v2.0.0. Pseudo-versions
(v0.0.0-20191109021931-daa7c04131f5, v1.2.4-0.2019...-hash,
v1.2.3-pre.0.2019...-hash) are pre-releases and order by SemVer rules, which
places them between the base version and the next release as Go intends.

Accepted input: the `v` is optional because OSV's Go ranges omit it
("1.2.3", "0.0.0-2019...-abc"); like x/mod/semver, the shorthands vMAJOR and
vMAJOR.MINOR mean .0 (v1 == v1.0.0) but only without pre-release or build.
Go compares invalid versions as equal to each other and below every valid one;
here they raise VersionError instead.
"""

from __future__ import annotations

import functools
import re

from keelwatch.errors import VersionError
from keelwatch.vulndb.versions._scheme import CACHE_SIZE, Scheme, require_str
from keelwatch.vulndb.versions.semver import parse_strict

NAME = "go"
_SHORT = re.compile(r"(0|[1-9][0-9]*)(?:\.(0|[1-9][0-9]*))?")


def _key(version: str) -> tuple:
    require_str(NAME, version)
    text = version[1:] if version[:1] == "v" else version
    short = _SHORT.fullmatch(text)
    if short is not None:
        major, minor = short.groups()
        return (int(major), int(minor or 0), 0, (1,))
    return parse_strict(NAME, text, version)


key = functools.lru_cache(maxsize=CACHE_SIZE)(_key)
SCHEME = Scheme(NAME, key)
compare = SCHEME.compare
valid = SCHEME.valid

__all__ = ["NAME", "SCHEME", "VersionError", "compare", "key", "valid"]
