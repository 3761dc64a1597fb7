"""Alpine (apk-tools) version ordering: `digits{.digits}{letter}{_suffix{N}}...{~hash}{-rN}`.

Follows apk-tools' current src/version.c (the tokenizer of apk-tools 2.14/3.x,
used by Alpine 3.19+ and Wolfi):
- the first token is a number; `.N` tokens follow; a number with a leading zero
  compares as a string against its counterpart (8.2.0015 < 8.2.002), others
  numerically;
- one lowercase letter may follow a number (1.2a);
- `_alpha`, `_beta`, `_pre`, `_rc` (pre-releases, sort before the bare version)
  and `_cvs`, `_svn`, `_git`, `_hg`, `_p` (post-releases), each with an optional
  number, may repeat;
- `~hash` (a commit hash of [0-9a-f], compared as a string), then `-rN` (package release).
When two versions agree on a common prefix of tokens, the one that goes on is
newer unless what follows is a pre-release suffix; otherwise apk's token-kind
order decides (a further `.N` beats a letter beats a suffix beats `-rN` beats
the end).

`key()` raises VersionError for anything `apk version --check` rejects (e.g.
`1.0bc`, `1.0_foo`, `1.0-r`). apk itself still orders such strings by their
valid prefix; `compare_lenient` reproduces that for callers that need it.
"""

from __future__ import annotations

import functools

from keelwatch.errors import VersionError
from keelwatch.vulndb.versions._scheme import CACHE_SIZE, Scheme, invalid, require_str

NAME = "apk"

# apk's token kinds, in its enum order (a later kind sorts *lower*).
_T_INITIAL, _T_DIGIT, _T_LETTER, _T_SUFFIX, _T_SUFFIX_NO, _T_HASH, _T_REVISION = range(7)

# Key ranks: ascending = older. A pre-release suffix is lower than anything;
# then apk's enum order reversed: invalid < end < -rN < ~hash < suffix number
# < post-release suffix < letter < .N < first number.
_R_PRE, _R_INVALID, _R_END, _R_REVISION, _R_HASH, _R_SUFFIX_NO, _R_POST, _R_LETTER, _R_DIGIT, _R_INITIAL = (
    range(10)
)
_INVALID = (_R_INVALID,)
_END = (_R_END,)

_SUFFIXES = {"alpha": 1, "beta": 2, "pre": 3, "rc": 4, "cvs": 6, "svn": 7, "git": 8, "hg": 9, "p": 10}
_SUFFIX_NONE = 5
_DIGITS = frozenset("0123456789")
_LOWER = frozenset("abcdefghijklmnopqrstuvwxyz")
_HEX = frozenset("0123456789abcdef")


def _span(text: str, start: int, chars: frozenset[str]) -> int:
    end = start
    n = len(text)
    while end < n and text[end] in chars:
        end += 1
    return end


def tokens(version: str) -> tuple:
    """The key items of `version`; ends with an END item if valid, an INVALID item if not."""
    end = _span(version, 0, _DIGITS)
    if end == 0:
        return (_INVALID,)
    out: list[tuple] = [(_R_INITIAL, int(version[:end]))]
    kind = _T_INITIAL
    i, n = end, len(version)
    while i < n:
        c = version[i]
        if c in _LOWER:
            if kind > _T_DIGIT:
                break
            out.append((_R_LETTER, c))
            kind = _T_LETTER
            i += 1
        elif c == "." or c in _DIGITS:
            if c == ".":
                if kind > _T_DIGIT:
                    break
                i += 1
            if kind in (_T_INITIAL, _T_DIGIT):
                new_kind = _T_DIGIT
            elif kind == _T_SUFFIX:
                new_kind = _T_SUFFIX_NO
            else:
                break
            end = _span(version, i, _DIGITS)
            if end == i:
                break
            digits = version[i:end]
            if new_kind == _T_DIGIT:
                out.append((_R_DIGIT, (0, digits) if digits[0] == "0" else (1, int(digits))))
            else:
                out.append((_R_SUFFIX_NO, int(digits)))
            kind = new_kind
            i = end
        elif c == "_":
            if kind > _T_SUFFIX_NO:
                break
            end = _span(version, i + 1, _LOWER)
            suffix = _SUFFIXES.get(version[i + 1 : end])
            if suffix is None:
                break
            out.append((_R_PRE if suffix < _SUFFIX_NONE else _R_POST, suffix))
            kind = _T_SUFFIX
            i = end
        elif c == "~":
            if kind >= _T_HASH:
                break
            end = _span(version, i + 1, _HEX)
            if end == i + 1:
                break
            out.append((_R_HASH, version[i + 1 : end]))
            kind = _T_HASH
            i = end
        elif c == "-":
            if kind >= _T_REVISION or version[i + 1 : i + 2] != "r":
                break
            end = _span(version, i + 2, _DIGITS)
            if end == i + 2:
                break
            out.append((_R_REVISION, int(version[i + 2 : end])))
            kind = _T_REVISION
            i = end
        else:
            break
    else:
        out.append(_END)
        return tuple(out)
    out.append(_INVALID)
    return tuple(out)


def _key(version: str) -> tuple:
    require_str(NAME, version)
    items = tokens(version)
    if items[-1] is _INVALID:
        raise invalid(NAME, version, "not an apk version (digits{.digits}{letter}{_suf{N}}{~hash}{-rN})")
    return items


def compare_lenient(a: str, b: str) -> int:
    """apk_version_compare for any strings, valid or not (an invalid tail sorts below the end)."""
    ka, kb = tokens(a), tokens(b)
    return (ka > kb) - (ka < kb)


key = functools.lru_cache(maxsize=CACHE_SIZE)(_key)
SCHEME = Scheme(NAME, key)
compare = SCHEME.compare
valid = SCHEME.valid

__all__ = ["NAME", "SCHEME", "VersionError", "compare", "compare_lenient", "key", "tokens", "valid"]
