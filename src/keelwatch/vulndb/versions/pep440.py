"""Python package version ordering (PEP 440), delegated to `packaging.version`.

`packaging` is the reference implementation pip uses, so its `Version` objects
are the key. Normalisation comes with it: 1.0 == 1.0.0, 1.0a1 == 1.0.alpha1,
1!1.0 epochs, local versions (+ubuntu1) sort after their public version.

Legacy (non-PEP 440) versions such as "2004d" or "1.0-SNAPSHOT-foo" raise
VersionError: pip no longer installs them either. OSV PyPI records occasionally
list such versions; the matcher should skip them (with a warning) rather than
guess an order.
"""

from __future__ import annotations

import functools

from packaging.version import InvalidVersion, Version

from keelwatch.errors import VersionError
from keelwatch.vulndb.versions._scheme import CACHE_SIZE, Scheme, invalid, require_str

NAME = "pep440"


def _key(version: str) -> Version:
    require_str(NAME, version)
    try:
        return Version(version)
    except InvalidVersion:
        raise invalid(NAME, version, "not a PEP 440 version") from None


key = functools.lru_cache(maxsize=CACHE_SIZE)(_key)
SCHEME = Scheme(NAME, key)
compare = SCHEME.compare
valid = SCHEME.valid

__all__ = ["NAME", "SCHEME", "VersionError", "compare", "key", "valid"]
