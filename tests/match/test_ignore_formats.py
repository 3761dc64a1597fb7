"""Ignore files as Trivy and Grype users write them: a plain ID list, and the default `.keelwatchignore`."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from keelwatch.vulndb.suppress import SuppressionError, Suppressor, discover_ignore_file


def _rules(path: Path) -> list[tuple[set[str], object, dt.date | None]]:
    sup = Suppressor()
    sup.load_ignore_file(path)
    return [(r.ids, r.product, r.expires) for r in sup.rules]


def test_plain_id_list_with_comments_and_expiry(tmp_path: Path) -> None:
    path = tmp_path / ".trivyignore"
    path.write_text(
        "# accepted risks\nCVE-2018-18074\n\n  GHSA-j8r2-6x86-q33q   # not reachable\n"
        "ALSA-2023:1234 exp:2030-01-31\n"
    )
    assert _rules(path) == [
        ({"CVE-2018-18074"}, None, None),
        ({"GHSA-j8r2-6x86-q33q"}, None, None),
        ({"ALSA-2023:1234"}, None, dt.date(2030, 1, 31)),
    ]


def test_yaml_file_is_still_yaml(tmp_path: Path) -> None:
    path = tmp_path / "ignore.yaml"
    path.write_text("ignore:\n  - id: CVE-1\n    package: urllib3\n")
    assert _rules(path) == [({"CVE-1"}, "urllib3", None)]


def test_free_text_is_neither(tmp_path: Path) -> None:
    path = tmp_path / "ignore"
    path.write_text("please ignore CVE-1 because reasons\n")
    with pytest.raises(SuppressionError, match="expected a list of ignore entries"):
        _rules(path)


def test_default_ignore_file_is_discovered(tmp_path: Path) -> None:
    assert discover_ignore_file(tmp_path) is None
    (tmp_path / ".keelwatchignore").write_text("CVE-1\n")
    assert discover_ignore_file(tmp_path) == tmp_path / ".keelwatchignore"
