"""Go module versions against golang.org/x/mod/semver's test table."""

from __future__ import annotations

import json

import pytest

from keelwatch.errors import VersionError
from keelwatch.vulndb.versions import golang


@pytest.fixture(scope="module")
def go_vectors(fixtures_dir):
    return json.loads((fixtures_dir / "semver_vectors.json").read_text(encoding="utf-8"))["go_semver"]


def test_validity(go_vectors):
    for version, canonical in go_vectors["table"]:
        assert golang.valid(version) == (canonical != ""), version


def test_table_order(go_vectors):
    valid = [(v, c) for v, c in go_vectors["table"] if c]
    for i, (vi, ci) in enumerate(valid):
        for j, (vj, cj) in enumerate(valid):
            want = 0 if ci == cj else (-1 if i < j else 1)
            assert golang.compare(vi, vj) == want, (vi, vj)


def test_explicit_compares(go_vectors):
    for a, b, want in go_vectors["compare"]:
        assert golang.compare(a, b) == want
    assert golang.compare("v1.19", "v1.2") == 1


def test_go_specifics():
    assert golang.compare("v2.0.0+incompatible", "v2.0.0") == 0
    assert golang.compare("2.0.0", "v2.0.0") == 0  # OSV writes Go versions without the v
    pseudo = "v0.0.0-20191109021931-daa7c04131f5"
    assert golang.compare(pseudo, "v0.0.0-20200101000000-0123456789ab") == -1
    assert golang.compare(pseudo, "v0.0.1") == -1
    assert golang.compare("v1.2.3", "v1.2.4-0.20191109021931-daa7c04131f5") == -1
    assert golang.compare("v1.2.4-0.20191109021931-daa7c04131f5", "v1.2.4") == -1
    assert golang.compare("v1.2.3-pre", "v1.2.3-pre.0.20191109021931-daa7c04131f5") == -1
    assert golang.compare("0", "v0.0.0") == 0


def test_invalid_message():
    with pytest.raises(VersionError) as err:
        golang.key("v1.2-pre")
    assert "'v1.2-pre'" in str(err.value)
