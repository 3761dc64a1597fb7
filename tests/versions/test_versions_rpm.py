"""rpm ordering against rpm's own labelCompare / rpm.ver (Debian python3-rpm via the system python)."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from versions_strategies import rpm_evr, rpm_pairs

from keelwatch.errors import VersionError
from keelwatch.vulndb.versions import rpm


def _vectors(fixtures_dir):
    rows = []
    for line in (fixtures_dir / "rpm_vercmp.tsv").read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            a, b, expected = line.split("\t")
            rows.append((a, b, int(expected)))
    return rows


def test_rpmvercmp_vectors(fixtures_dir):
    rows = _vectors(fixtures_dir)
    assert len(rows) > 90
    bad = [(a, b, e) for a, b, e in rows if rpm.compare(a, b) != e]
    assert not bad


def test_rpmvercmp_vectors_agree_with_rpm(fixtures_dir, rpm_oracle):
    for a, b, expected in _vectors(fixtures_dir):
        assert rpm_oracle.label_compare(("0", a, None), ("0", b, None)) == expected, (a, b)


def _label(evr: str) -> tuple[str, str, str | None]:
    return rpm.split_evr(evr)


@settings(max_examples=600, deadline=None, suppress_health_check=list(HealthCheck))
@given(rpm_pairs)
def test_matches_rpm_label_compare(rpm_oracle, pair):
    a, b = pair
    if not (rpm.valid(a) and rpm.valid(b)):
        return
    assert rpm.compare(a, b) == rpm_oracle.label_compare(_label(a), _label(b)), pair


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(rpm_evr)
def test_evr_split_matches_rpm_ver(rpm_oracle, evr):
    if not rpm.valid(evr):
        return
    epoch, version, release = rpm.split_evr(evr)
    rpm_epoch, rpm_version, rpm_release = rpm_oracle.parse(evr)
    assert (epoch, version, release) == (rpm_epoch or "0", rpm_version, rpm_release)


def test_epoch_release_rules():
    assert rpm.compare("1:1.0-1", "2.0-1") == 1
    assert rpm.compare("0:1.0-1", "1.0-1") == 0
    assert rpm.compare("1.0", "1.0-1") == -1  # labelCompare: missing release sorts first
    assert rpm.compare("1.0-1.el8", "1.0-1.el8_2") == -1
    assert rpm.compare("1.0~rc1-1", "1.0-1") == -1
    assert rpm.compare("1.0^git1-1", "1.0-1") == 1


@pytest.mark.parametrize("evr", ["", "1.0 -1", "1:", "1.0-", "-1"])
def test_invalid(evr):
    with pytest.raises(VersionError) as err:
        rpm.key(evr)
    assert repr(evr) in str(err.value)
