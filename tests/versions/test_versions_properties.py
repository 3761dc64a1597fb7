"""Total-order properties of every scheme, the ecosystem map, and the shared contract."""

from __future__ import annotations

from itertools import pairwise

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from versions_strategies import (
    apk_versions,
    dpkg_realistic,
    go_versions,
    maven_realistic,
    pep440_versions,
    rpm_evr,
    rubygems_versions,
    semver_strict_valid,
    semver_versions,
)

from keelwatch.errors import VersionError
from keelwatch.vulndb.versions import (
    SCHEMES,
    apk,
    dpkg,
    golang,
    maven,
    pep440,
    rpm,
    rubygems,
    scheme_for,
    scheme_for_package_type,
    semver,
)
from keelwatch.vulndb.versions.base import VersionScheme

CASES = [
    (dpkg.SCHEME, dpkg_realistic),
    (rpm.SCHEME, rpm_evr),
    (apk.SCHEME, apk_versions),
    (pep440.SCHEME, pep440_versions),
    (semver.NPM, semver_versions),
    (semver.STRICT, semver_strict_valid),
    (semver.NUGET, semver_strict_valid),
    (golang.SCHEME, go_versions),
    (maven.SCHEME, maven_realistic),
    (rubygems.SCHEME, rubygems_versions),
]


def _valid(scheme, versions):
    return [v for v in versions if scheme.valid(v)]


@pytest.mark.parametrize(("scheme", "strategy"), CASES, ids=[c[0].name for c in CASES])
def test_total_order(scheme, strategy):
    @settings(max_examples=300, deadline=None)
    @given(st.lists(strategy, min_size=3, max_size=3))
    def check(triple):
        a, b, c = _valid(scheme, triple) + [None] * (3 - len(_valid(scheme, triple)))
        if c is None:
            return
        ab, ba = scheme.compare(a, b), scheme.compare(b, a)
        assert ab == -ba  # antisymmetry
        assert scheme.compare(a, a) == 0  # reflexivity
        assert (ab == 0) == (scheme.key(a) == scheme.key(b))  # compare is the key's order
        bc, ac = scheme.compare(b, c), scheme.compare(a, c)
        if ab <= 0 and bc <= 0:
            assert ac <= 0  # transitivity
        if ab == 0 and bc == 0:
            assert ac == 0

    check()


@pytest.mark.parametrize(("scheme", "strategy"), CASES, ids=[c[0].name for c in CASES])
def test_sorting_by_key_is_consistent_with_compare(scheme, strategy):
    @settings(max_examples=100, deadline=None)
    @given(st.lists(strategy, min_size=2, max_size=12))
    def check(versions):
        ordered = sorted(_valid(scheme, versions), key=scheme.key)
        for low, high in pairwise(ordered):
            assert scheme.compare(low, high) <= 0

    check()


def test_every_scheme_meets_the_protocol():
    for scheme in SCHEMES.values():
        assert isinstance(scheme.name, str)
        assert callable(scheme.key) and callable(scheme.compare) and callable(scheme.valid)
        _: VersionScheme = scheme
        with pytest.raises(VersionError):
            scheme.key(None)  # type: ignore[arg-type]
        assert not scheme.valid("")


@pytest.mark.parametrize(
    ("ecosystem", "name"),
    [
        ("Debian:12", "dpkg"),
        ("Debian", "dpkg"),
        ("Ubuntu:22.04", "dpkg"),
        ("Ubuntu:Pro:18.04:LTS", "dpkg"),
        ("Alpine:v3.19", "apk"),
        ("Wolfi", "apk"),
        ("Red Hat:enterprise_linux:8::appstream", "rpm"),
        ("Rocky Linux:9", "rpm"),
        ("AlmaLinux:8", "rpm"),
        ("openSUSE:Leap 15.5", "rpm"),
        ("SUSE:Linux Enterprise Server 15 SP5", "rpm"),
        ("Mageia:9", "rpm"),
        ("PyPI", "pep440"),
        ("npm", "npm"),
        ("Go", "go"),
        ("Maven", "maven"),
        ("crates.io", "semver"),
        ("NuGet", "nuget"),
        ("RubyGems", "rubygems"),
    ],
)
def test_scheme_for(ecosystem, name):
    assert scheme_for(ecosystem).name == name


@pytest.mark.parametrize("ecosystem", ["Packagist", "NoSuchThing", ""])
def test_unknown_ecosystem_raises(ecosystem):
    with pytest.raises(VersionError) as err:
        scheme_for(ecosystem)
    assert repr(ecosystem) in str(err.value)


def test_scheme_for_package_type():
    assert scheme_for_package_type("deb") is dpkg.SCHEME
    assert scheme_for_package_type("python") is pep440.SCHEME
    with pytest.raises(VersionError):
        scheme_for_package_type("unknown")


def test_keys_are_cached():
    for module in (dpkg, rpm, apk, pep440, golang, maven, rubygems):
        module.key.cache_clear()
    dpkg.key("1.0-1")
    dpkg.key("1.0-1")
    info = dpkg.key.cache_info()
    assert info.hits == 1 and info.maxsize == 100_000
