"""Debian version ordering, exactly as `dpkg --compare-versions` (lib/dpkg/version.c).

A version is `[epoch:]upstream[-revision]`. Upstream and revision are compared
with dpkg's `verrevcmp`: alternating non-digit and digit runs; in non-digit runs
`~` sorts before everything (even the end of the string), then the end/a digit,
then letters, then all other characters; digit runs compare numerically.

Validation follows `dpkg --compare-versions`, which only refuses *errors* of
`parseversion()` (empty string, embedded blanks, bad/negative/too-big epoch,
nothing after the colon, empty revision after `-`, empty upstream). dpkg's
*warnings* (upstream not starting with a digit, characters outside
`[A-Za-z0-9.+~:-]`) are accepted here as dpkg accepts them; leading/trailing
blanks are stripped like dpkg does. dpkg's special "<unknown>"/"" blank version
is not a version here: "" raises VersionError.
"""

from __future__ import annotations

import functools
import re

from keelwatch.errors import VersionError
from keelwatch.vulndb.versions._scheme import CACHE_SIZE, Scheme, invalid, require_str

NAME = "dpkg"
_INT_MAX = 2**31 - 1
_BLANKS = " \t\n\v\f\r"  # C isspace() in the C locale
_EPOCH = re.compile(r"[+-]?[0-9]+")
_HAS_BLANK = re.compile(r"[ \t\n\v\f\r]").search
_RUNS = re.compile(rb"([^0-9]*)([0-9]*)")


def _order_table() -> tuple[int, ...]:
    """dpkg's order(): digits (and end) 0, letters their code, `~` -1, others code+256."""
    table = []
    for c in range(256):
        if 48 <= c <= 57:
            table.append(0)
        elif 65 <= c <= 90 or 97 <= c <= 122:
            table.append(c)
        elif c == 126:
            table.append(-1)
        else:
            table.append(c + 256)
    return tuple(table)


_ORDER = _order_table()
_END = (0,)


@functools.lru_cache(maxsize=4096)
def _run_tail(run: bytes) -> tuple:
    """Items of a non-digit run's characters after its first (no zeros precede them)."""
    return tuple((1, 0, v) if v > 0 else (-1, 0, v) for v in (_ORDER[ch] for ch in run[1:]))


def _part_key(part: str) -> tuple:
    """Key of an upstream or revision string that sorts like dpkg's verrevcmp.

    verrevcmp walks both strings in lock-step as one flat sequence: for each
    non-digit run the order() of every character then a 0 (the digit/end that
    stops the run), then the digit run's value. A string that ends behaves as if
    padded with zeros forever. We drop trailing zeros and run-length encode the
    zeros before each non-zero value v as (1, -zeros, v) for v > 0 and
    (-1, zeros, v) for `~` (v = -1), closed by (0,): plain tuple comparison then
    gives the same answer as comparing the infinitely zero-padded sequences.
    """
    out: list = []
    append = out.append
    zeros = 0
    for nondigit, digits in _RUNS.findall(part.encode("utf-8", "surrogateescape")):
        if nondigit:
            first = _ORDER[nondigit[0]]  # never 0: non-digit characters
            append((1, -zeros, first) if first > 0 else (-1, zeros, first))
            if len(nondigit) > 1:
                out.extend(_run_tail(nondigit))
            zeros = 1  # the 0 that ends the run
        else:
            zeros += 1
        if digits and (number := int(digits)):
            append((1, -zeros, number))
            zeros = 0
        else:
            zeros += 1
    append(_END)
    return tuple(out)


def _key(version: str) -> tuple:
    require_str(NAME, version)
    text = version.strip(_BLANKS)
    if not text:
        raise invalid(NAME, version, "version string is empty")
    if _HAS_BLANK(text):
        raise invalid(NAME, version, "version string has embedded spaces")
    epoch = 0
    colon = text.find(":")
    if colon >= 0:
        epoch_text = text[:colon]
        if not epoch_text:
            raise invalid(NAME, version, "epoch in version is empty")
        if not _EPOCH.fullmatch(epoch_text):
            raise invalid(NAME, version, "epoch in version is not number")
        epoch = int(epoch_text)
        if epoch < 0:
            raise invalid(NAME, version, "epoch in version is negative")
        if epoch > _INT_MAX:
            raise invalid(NAME, version, "epoch in version is too big")
        text = text[colon + 1 :]
        if not text:
            raise invalid(NAME, version, "nothing after colon in version number")
    hyphen = text.rfind("-")
    if hyphen >= 0:
        upstream, revision = text[:hyphen], text[hyphen + 1 :]
        if not revision:
            raise invalid(NAME, version, "revision number is empty")
    else:
        upstream, revision = text, ""
    if not upstream:
        raise invalid(NAME, version, "version number is empty")
    return (epoch, _part_key(upstream), _part_key(revision))


key = functools.lru_cache(maxsize=CACHE_SIZE)(_key)
SCHEME = Scheme(NAME, key)
compare = SCHEME.compare
valid = SCHEME.valid

__all__ = ["NAME", "SCHEME", "VersionError", "compare", "key", "valid"]
