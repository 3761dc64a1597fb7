"""dpkg ordering against the real `dpkg --compare-versions` and Debian Policy's examples."""

from __future__ import annotations

from itertools import pairwise

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from versions_strategies import BATCH_PHASES, dpkg_pairs

from keelwatch.errors import VersionError
from keelwatch.vulndb.versions import dpkg


def ours(a: str, b: str) -> int | None:
    try:
        return dpkg.compare(a, b)
    except VersionError:
        return None


@settings(max_examples=4, deadline=None, phases=BATCH_PHASES, suppress_health_check=list(HealthCheck))
@given(st.lists(dpkg_pairs, min_size=150, max_size=150))
def test_matches_dpkg_compare_versions(dpkg_oracle, batch):
    """Several hundred generated pairs, judged by dpkg in one shell loop per batch."""
    expected = dpkg_oracle(batch)
    got = [ours(a, b) for a, b in batch]
    mismatches = [(a, b, e, g) for (a, b), e, g in zip(batch, expected, got, strict=True) if e != g]
    assert not mismatches, f"(a, b, dpkg, ours): {mismatches[:10]}"


# Debian Policy 5.6.12 and dpkg's own documented cases.
ASCENDING = ["~~", "~~a", "~", "", "a"]  # Policy: "~~ < ~~a < ~ < (empty) < a", as upstream suffixes of "1.0"
KNOWN = [
    ("1.0~rc1", "1.0", -1),
    ("1.0", "1.0+b1", -1),
    ("1.0", "1.0.0", -1),
    ("1:0.1", "2.0", 1),
    ("0:1.0", "1.0", 0),
    ("1.0-0", "1.0", 0),
    ("1.0-1", "1.0-1ubuntu1", -1),
    ("2.36-9+deb12u4", "2.36-9+deb12u10", -1),
    ("1.2.3a", "1.2.3+", -1),
    ("1.01", "1.1", 0),
    ("1.0~~", "1.0~", -1),
]


def test_policy_tilde_examples():
    versions = [f"1.0{suffix}" for suffix in ASCENDING]
    assert sorted(versions, key=dpkg.key) == versions
    for low, high in pairwise(versions):
        assert dpkg.compare(low, high) == -1


@pytest.mark.parametrize(("a", "b", "expected"), KNOWN)
def test_known_pairs(a, b, expected):
    assert dpkg.compare(a, b) == expected
    assert dpkg.compare(b, a) == -expected


def test_known_pairs_agree_with_dpkg(dpkg_oracle):
    assert dpkg_oracle([(a, b) for a, b, _ in KNOWN]) == [e for _, _, e in KNOWN]


@pytest.mark.parametrize(
    ("version", "reason"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("1.0 1", "embedded spaces"),
        (":1.0", "epoch in version is empty"),
        ("a:1.0", "not number"),
        ("-1:1.0", "negative"),
        ("99999999999:1.0", "too big"),
        ("1:", "nothing after colon"),
        ("1.0-", "revision number is empty"),
        ("-1", "version number is empty"),
    ],
)
def test_invalid_versions_raise_with_the_version_in_the_message(version, reason):
    with pytest.raises(VersionError) as err:
        dpkg.key(version)
    assert repr(version) in str(err.value)
    assert reason in str(err.value)
    assert not dpkg.valid(version)


def test_dpkg_warnings_are_accepted_like_dpkg():
    # dpkg only warns about these; --compare-versions still orders them.
    for version in ("a1.0", "1.0_1", "1.0@"):
        assert dpkg.valid(version)
    assert dpkg.key(" 1.0 ") == dpkg.key("1.0")


def test_non_string_raises_version_error():
    with pytest.raises(VersionError):
        dpkg.key(None)  # type: ignore[arg-type]
