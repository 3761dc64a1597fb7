"""SemVer precedence: semver.org, node-semver's fixtures, and node-semver itself (strict mode)."""

from __future__ import annotations

import json
from itertools import pairwise

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from versions_strategies import BATCH_PHASES, semver_strict_valid, semver_versions

from keelwatch.errors import VersionError
from keelwatch.vulndb.versions import semver


@pytest.fixture(scope="module")
def vectors(fixtures_dir):
    return json.loads((fixtures_dir / "semver_vectors.json").read_text(encoding="utf-8"))


def test_semver_org_precedence(vectors):
    for ascending in vectors["semver_org_precedence"]["ascending"]:
        for scheme in (semver.NPM, semver.STRICT):
            assert sorted(reversed(ascending), key=scheme.key) == ascending
            for low, high in pairwise(ascending):
                assert scheme.compare(low, high) == -1


def test_node_semver_comparisons(vectors):
    for greater, smaller in vectors["node_semver_comparisons"]["greater_smaller"]:
        assert semver.compare(greater, smaller) == 1, (greater, smaller)
        assert semver.compare(smaller, greater) == -1


def test_node_semver_equality(vectors):
    eq = vectors["node_semver_equality"]
    for a, b in eq["equal"]:
        assert semver.compare(a, b) == 0, (a, b)
    for loose in eq["loose_only"]:
        assert not semver.valid(loose), loose


def test_node_semver_invalid(vectors):
    for bad in vectors["node_semver_invalid"]["invalid"]:
        assert not semver.valid(bad), bad
    assert not semver.valid("1" * 255 + ".0.0")  # longer than node-semver's MAX_LENGTH


def test_fixture_rows_agree_with_node_semver(vectors, node_semver_oracle):
    rows = [tuple(r) for r in vectors["node_semver_comparisons"]["greater_smaller"]]
    assert [r[2] for r in node_semver_oracle(rows)] == [1] * len(rows)


@settings(max_examples=5, deadline=None, phases=BATCH_PHASES, suppress_health_check=list(HealthCheck))
@given(st.lists(st.tuples(semver_versions, semver_versions), min_size=200, max_size=200))
def test_matches_node_semver(node_semver_oracle, batch):
    expected = node_semver_oracle(batch)
    for (a, b), (valid_a, valid_b, cmp) in zip(batch, expected, strict=True):
        assert (semver.valid(a), semver.valid(b)) == (valid_a, valid_b), (a, b)
        if valid_a and valid_b:
            assert semver.compare(a, b) == cmp, (a, b)


def test_build_metadata_ignored():
    assert semver.key("1.0.0+a") == semver.key("1.0.0+b")
    assert semver.STRICT.compare("1.0.0+a", "1.0.0") == 0


def test_strict_rejects_loose_forms():
    for bad in ("=1.0.0", " 1.0.0", "vv1.0.0", "1.0", "01.0.0", "1.0.0-01", "1.0.0-", "1.0.0+"):
        assert not semver.STRICT.valid(bad), bad
    # OSV SEMVER ranges also serve Go, whose versions carry a "v"
    assert semver.STRICT.compare("v1.2.3", "1.2.3") == 0


@settings(deadline=None)
@given(semver_strict_valid)
def test_strict_and_npm_agree_on_plain_semver(version):
    assert semver.STRICT.key(version) == semver.NPM.key(version)


def test_nuget():
    n = semver.NUGET
    assert n.compare("1.0", "1.0.0.0") == 0
    assert n.compare("1.0.0.1", "1.0.1") == -1
    assert n.compare("1.0.0-Beta", "1.0.0-beta") == 0
    assert n.compare("1.0.0-beta", "1.0.0") == -1
    assert n.compare("01.2", "1.2") == 0
    with pytest.raises(VersionError):
        n.key("1.0.0.0.0")
