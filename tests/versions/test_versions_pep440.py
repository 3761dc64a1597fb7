"""PEP 440 ordering: the spec's own ordering example, and agreement with packaging."""

from __future__ import annotations

from itertools import pairwise

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from packaging.version import Version
from versions_strategies import pep440_versions

from keelwatch.errors import VersionError
from keelwatch.vulndb.versions import pep440


def test_pep440_summary_order(fixtures_dir):
    lines = (fixtures_dir / "pep440_order.txt").read_text(encoding="utf-8").splitlines()
    versions = [v for v in lines if v and not v.startswith("#")]
    assert len(versions) == 20
    shuffled = list(reversed(versions))
    assert sorted(shuffled, key=pep440.key) == versions
    for low, high in pairwise(versions):
        assert pep440.compare(low, high) == -1


@settings(deadline=None)
@given(st.lists(pep440_versions, min_size=2, max_size=20))
def test_sorted_order_matches_packaging(versions):
    assert sorted(versions, key=pep440.key) == sorted(versions, key=Version)


@pytest.mark.parametrize(("a", "b"), [("1.0", "1.0.0"), ("1.0a1", "1.0.alpha1"), ("1.0-1", "1.0.post1")])
def test_normalised_equal(a, b):
    assert pep440.compare(a, b) == 0


@pytest.mark.parametrize("legacy", ["2004d", "1.0-SNAPSHOT-foo", "dev", "", "1.0+", "a1.0"])
def test_legacy_versions_are_invalid(legacy):
    assert not pep440.valid(legacy)
    with pytest.raises(VersionError) as err:
        pep440.key(legacy)
    assert repr(legacy) in str(err.value)
