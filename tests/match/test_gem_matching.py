"""Installed gems are matched against RubyGems advisories with RubyGems' own version order.

The record is written here in OSV shape (no RubyGems snapshot is in ../shared/data): the
public advisory GHSA-6f62-3596-g6w7 (CVE-2024-47220, request smuggling in WEBrick), affected
versions < 1.8.2, as it stands in the GitHub Advisory Database. The package comes from
Debian 12's real ruby-webrick gemspec (tests/fixtures/catalog/gem).
"""

from __future__ import annotations

import shlex
from pathlib import Path

from keelwatch.catalog.gem import GemspecCataloger
from keelwatch.model import OSInfo
from keelwatch.vulndb.match import match_packages

SPEC = Path(__file__).resolve().parent.parent / "fixtures" / "catalog" / "gem" / "webrick-1.8.1.gemspec"
WEBRICK = {
    "id": "GHSA-6f62-3596-g6w7",
    "aliases": ["CVE-2024-47220"],
    "affected": [
        {
            "package": {"ecosystem": "RubyGems", "name": "webrick"},
            "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "1.8.2"}]}],
        }
    ],
}


def _webrick(version: str | None = None):  # type: ignore[no-untyped-def]
    path = "/usr/share/rubygems-integration/all/specifications/webrick-1.8.1.gemspec"
    [pkg] = GemspecCataloger().parse(path, SPEC.read_bytes()).packages
    if version is not None:
        pkg.version = version
    return pkg


def test_installed_gem_is_matched_with_its_upgrade(memory_kb) -> None:  # type: ignore[no-untyped-def]
    result = match_packages([_webrick()], OSInfo(id="debian", version_id="12"), memory_kb([WEBRICK]))
    [finding] = result.findings
    assert {finding.id, *finding.aliases} == {"CVE-2024-47220", "GHSA-6f62-3596-g6w7"}
    assert finding.fixed_versions == ["1.8.2"]
    assert shlex.split(finding.remediation.command) == ["gem", "install", "webrick:1.8.2"]


def test_rubygems_order_decides(memory_kb) -> None:  # type: ignore[no-untyped-def]
    kb = memory_kb([WEBRICK])
    # 1.8.2.pre1 is a pre-release of 1.8.2 (before it), 1.8.10 is after it
    affected = {
        v: bool(match_packages([_webrick(v)], OSInfo(), kb).findings)
        for v in ("1.8.2.pre1", "1.8.10", "1.8.2")
    }
    assert affected == {"1.8.2.pre1": True, "1.8.10": False, "1.8.2": False}
