"""Maven version ordering, as org.apache.maven.artifact.versioning.ComparableVersion (Maven 3.9).

Parsing (case-insensitive): `.` and `-` separate items, and so does every
switch between letters and digits; `-` (and a letter/digit switch) opens a
nested sub-list. Items are numbers, qualifiers or sub-lists. Known qualifiers
order alpha (a1) < beta (b1) < milestone (m1) < rc = cr < snapshot
< "" = ga = final = release < sp; unknown qualifiers come after sp, in
lexical order. Trailing "null" items (0, "", empty lists) are dropped from each
list, so 1 == 1.0 == 1.0.0 == 1-ga; a qualifier at the very end or before a
digit is treated as if it followed `-` (1.0.0.RC1 == 1.0.0-RC1). Between items:
number > sub-list > qualifier; a missing item compares like a zero of the
other side's kind.

That last rule makes ComparableVersion not a total order for some odd inputs
(the reference itself says 1 < 1-sp < 1.0.alpha.1 < 1). So instead of a tuple
the key is a small object whose comparisons run ComparableVersion's algorithm
on pre-parsed items: it agrees with Maven on every pair, including those
cycles, and is therefore not hashable. Every string is a valid Maven version
except the empty string (we raise VersionError for "" and for non-strings).
"""

from __future__ import annotations

import functools

from keelwatch.errors import VersionError
from keelwatch.vulndb.versions._scheme import CACHE_SIZE, Scheme, invalid, require_str

NAME = "maven"

# Item tags; the tag order is also the cross-kind order (qualifier < list < number).
_STR, _LIST, _INT = 0, 1, 2
_QUALIFIERS = ("alpha", "beta", "milestone", "rc", "snapshot", "", "sp")
_ALIASES = {"ga": "", "final": "", "release": "", "cr": "rc"}
_SHORT = {"a": "alpha", "b": "beta", "m": "milestone"}
_RELEASE_INDEX = str(_QUALIFIERS.index(""))
_ZERO = (_INT, 0)


def _qualifier(text: str, followed_by_digit: bool) -> tuple:
    """A qualifier item holding Maven's comparableQualifier() string."""
    if followed_by_digit and len(text) == 1:
        text = _SHORT.get(text, text)
    text = _ALIASES.get(text, text)
    try:
        comparable = str(_QUALIFIERS.index(text))
    except ValueError:
        comparable = f"{len(_QUALIFIERS)}-{text}"
    return (_STR, comparable)


def _item(is_digit: bool, text: str) -> tuple:
    return (_INT, int(text)) if is_digit else _qualifier(text, False)


def _is_null(item: tuple | list) -> bool:
    if isinstance(item, list):
        return not item
    return item == _ZERO or (item[0] == _STR and item[1] == _RELEASE_INDEX)


def _normalize(items: list) -> None:
    """Drop trailing null items, looking through (but keeping) non-empty trailing sub-lists."""
    for i in range(len(items) - 1, -1, -1):
        item = items[i]
        if _is_null(item):
            del items[i]
        elif not isinstance(item, list):
            break


def _freeze(items: list) -> tuple:
    return tuple((_LIST, _freeze(i)) if isinstance(i, list) else i for i in items)


def parse(version: str) -> tuple:
    """ComparableVersion.parseVersion -> nested tuples of (tag, value) items."""
    text = version.lower()
    items: list = []
    current = items
    stack = [items]

    def nest() -> None:
        nonlocal current
        sub: list = []
        current.append(sub)
        current = sub
        stack.append(sub)

    is_digit = False
    start = 0
    for i, c in enumerate(text):
        if c == "." or c == "-":
            current.append(_ZERO if i == start else _item(is_digit, text[start:i]))
            start = i + 1
            if c == "-":
                nest()
        elif c.isdecimal():
            if not is_digit and i > start:
                # 1.0.0.X1 < 1.0.0-X2: treat .X as -X for any string qualifier X
                if current:
                    nest()
                current.append(_qualifier(text[start:i], True))
                start = i
                nest()
            is_digit = True
        else:
            if is_digit and i > start:
                current.append(_item(True, text[start:i]))
                start = i
                nest()
            is_digit = False
    if len(text) > start:
        if not is_digit and current:
            nest()
        current.append(_item(is_digit, text[start:]))
    while stack:
        _normalize(stack.pop())
    return _freeze(items)


def _sign(a, b) -> int:
    return (a > b) - (a < b)


def _cmp_null(item: tuple) -> int:
    """Item.compareTo(null)."""
    tag, value = item
    if tag == _INT:
        return 1 if value else 0
    if tag == _STR:
        return _sign(value, _RELEASE_INDEX)
    for sub in value:
        result = _cmp_null(sub)
        if result:
            return result
    return 0


def _cmp_item(a: tuple, b: tuple) -> int:
    tag_a, tag_b = a[0], b[0]
    if tag_a != tag_b:
        return 1 if tag_a > tag_b else -1
    if tag_a == _LIST:
        return cmp_items(a[1], b[1])
    return _sign(a[1], b[1])


def cmp_items(left: tuple, right: tuple) -> int:
    """ListItem.compareTo(ListItem): pairwise, a missing item compared as null."""
    n_left, n_right = len(left), len(right)
    for i in range(max(n_left, n_right)):
        if i >= n_left:
            result = -_cmp_null(right[i])
        elif i >= n_right:
            result = _cmp_null(left[i])
        else:
            result = _cmp_item(left[i], right[i])
        if result:
            return result
    return 0


class MavenKey:
    """Orders like ComparableVersion.compareTo (including its rare non-transitive cycles)."""

    __slots__ = ("items", "version")
    __hash__ = None  # type: ignore[assignment]  # equality is Maven's, not structural

    def __init__(self, version: str, items: tuple) -> None:
        self.version = version
        self.items = items

    def _cmp(self, other: object) -> int:
        if not isinstance(other, MavenKey):
            return NotImplemented  # type: ignore[return-value]
        if self.items == other.items:
            return 0
        return cmp_items(self.items, other.items)

    def __lt__(self, other: object) -> bool:
        r = self._cmp(other)
        return r if r is NotImplemented else r < 0

    def __le__(self, other: object) -> bool:
        r = self._cmp(other)
        return r if r is NotImplemented else r <= 0

    def __gt__(self, other: object) -> bool:
        r = self._cmp(other)
        return r if r is NotImplemented else r > 0

    def __ge__(self, other: object) -> bool:
        r = self._cmp(other)
        return r if r is NotImplemented else r >= 0

    def __eq__(self, other: object) -> bool:
        r = self._cmp(other)
        return r if r is NotImplemented else r == 0

    def __repr__(self) -> str:
        return f"MavenKey({self.version!r})"


def _key(version: str) -> MavenKey:
    require_str(NAME, version)
    if not version:
        raise invalid(NAME, version, "empty version")
    return MavenKey(version, parse(version))


key = functools.lru_cache(maxsize=CACHE_SIZE)(_key)
SCHEME = Scheme(NAME, key)
compare = SCHEME.compare
valid = SCHEME.valid

__all__ = ["NAME", "SCHEME", "MavenKey", "VersionError", "compare", "key", "parse", "valid"]
