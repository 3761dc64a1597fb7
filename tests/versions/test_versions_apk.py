"""apk ordering against apk-tools' published test vectors (tests/fixtures/versions/apk_version.data)."""

from __future__ import annotations

import pytest

from keelwatch.errors import VersionError
from keelwatch.vulndb.versions import apk

_OPS = {"<": -1, "=": 0, ">": 1}


def _rows(fixtures_dir):
    comparisons, validity = [], []
    for raw in (fixtures_dir / "apk_version.data").read_text(encoding="utf-8").splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        parts = line.split()
        if len(parts) == 1:
            validity.append((parts[0].removeprefix("!"), not parts[0].startswith("!")))
        elif parts[1] in _OPS:
            comparisons.append((parts[0], parts[2], _OPS[parts[1]]))
        # fuzzy operators (~ <~ >~ !~) are apk's prefix matching, not ordering
    return comparisons, validity


def test_published_comparisons(fixtures_dir):
    comparisons, _ = _rows(fixtures_dir)
    assert len(comparisons) > 700
    bad = [(a, b, e, apk.compare_lenient(a, b)) for a, b, e in comparisons if apk.compare_lenient(a, b) != e]
    assert not bad


def test_published_comparisons_through_key(fixtures_dir):
    comparisons, _ = _rows(fixtures_dir)
    checked = 0
    for a, b, expected in comparisons:
        if apk.valid(a) and apk.valid(b):
            assert apk.compare(a, b) == expected, (a, b)
            checked += 1
    assert checked > 700


def test_published_validity(fixtures_dir):
    _, validity = _rows(fixtures_dir)
    assert len(validity) >= 30
    assert [(v, apk.valid(v)) for v, _ in validity] == validity


@pytest.mark.parametrize(
    ("low", "high"),
    [
        ("1.0_alpha", "1.0"),
        ("1.0_rc1", "1.0"),
        ("1.0", "1.0_p1"),
        ("1.0", "1.0-r1"),
        ("1.0-r1", "1.0a"),
        ("1.0a", "1.0.1"),
        ("1.0_git20240101", "1.0_p1"),
        ("1.0~abc-r0", "1.0~abd-r0"),
        ("8.2.0015", "8.2.002"),
    ],
)
def test_orderings(low, high):
    assert apk.compare(low, high) == -1
    assert apk.key(low) < apk.key(high)


def test_invalid_raises():
    with pytest.raises(VersionError) as err:
        apk.key("1.0_foo")
    assert "'1.0_foo'" in str(err.value)
