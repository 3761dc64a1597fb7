"""Maven ordering against ComparableVersionTest's cases and the real maven-artifact 3.9 jar."""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from versions_strategies import BATCH_PHASES, maven_pairs

from keelwatch.vulndb.versions import maven


def _fixture_pairs(fixtures_dir):
    data = json.loads((fixtures_dir / "maven_comparable_version.json").read_text(encoding="utf-8"))
    pairs = []
    for ordered in data["ordered_lists"]:
        pairs += [
            (ordered[i], ordered[j], -1) for i in range(len(ordered)) for j in range(i + 1, len(ordered))
        ]
    pairs += [(a, b, 0) for a, b in data["equal"]]
    pairs += [(a, b, -1) for a, b in data["less"]]
    return pairs


def test_comparable_version_test_cases(fixtures_dir):
    pairs = _fixture_pairs(fixtures_dir)
    assert len(pairs) > 500
    bad = [(a, b, e) for a, b, e in pairs if maven.compare(a, b) != e or maven.compare(b, a) != -e]
    assert not bad


def test_fixture_agrees_with_maven(fixtures_dir, maven_oracle):
    pairs = _fixture_pairs(fixtures_dir)
    assert maven_oracle([(a, b) for a, b, _ in pairs]) == [e for _, _, e in pairs]


@settings(max_examples=3, deadline=None, phases=BATCH_PHASES, suppress_health_check=list(HealthCheck))
@given(st.lists(maven_pairs, min_size=300, max_size=300))
def test_matches_maven_jar(maven_oracle, batch):
    expected = maven_oracle(batch)
    got = [maven.compare(a, b) for a, b in batch]
    bad = [(a, b, e, g) for (a, b), e, g in zip(batch, expected, got, strict=True) if e != g]
    assert not bad, f"(a, b, maven, ours): {bad[:10]}"


def test_reproduces_maven_non_transitive_cycle(maven_oracle):
    """ComparableVersion itself is not a total order here; we agree with it pair by pair."""
    cycle = [("1", "1-sp"), ("1-sp", "1.0.alpha.1"), ("1.0.alpha.1", "1")]
    assert [maven.compare(a, b) for a, b in cycle] == [-1, -1, -1]
    assert maven_oracle(cycle) == [-1, -1, -1]


def test_common_orderings():
    ascending = ["1.0-alpha-1", "1.0-beta-1", "1.0-M1", "1.0-RC1", "1.0-SNAPSHOT", "1.0", "1.0-sp1", "1.0.1"]
    assert sorted(reversed(ascending), key=maven.key) == ascending
    assert maven.compare("2.0.0.RELEASE", "2.0.0") == 0
    assert maven.compare("5.3.20.Final", "5.3.20") == 0
    assert maven.compare("1.0.0.RC1", "1.0.0-RC1") == 0
    assert not maven.valid("")
