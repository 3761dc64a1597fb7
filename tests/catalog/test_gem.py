"""The gem cataloger on real gemspecs: this machine's (Debian's ruby packages) and fixtures from them.

Oracles: RubyGems itself (`gem list --local` on this machine) and Syft's
ruby-installed-gemspec cataloger on the same files.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

from keelwatch.catalog.gem import GemspecCataloger

from ._support import FIXTURES, make_root, need, parse_ok, primary_location, scan_dir, syft_artifacts

DIR = FIXTURES / "gem"
CAT = GemspecCataloger()
# Where Debian 12's ruby packages install specifications (default gems in default/).
SPEC_DIRS = (
    "/usr/lib/ruby/gems/3.1.0/specifications",
    "/usr/share/rubygems-integration/all/specifications",
    "/usr/lib/x86_64-linux-gnu/rubygems-integration/3.1.0/specifications",
)


def _machine_root(tmp_path: Path) -> Path:
    """This machine's real gemspecs, laid out at their own paths in a throwaway root."""
    need("gem")
    root = tmp_path / "root"
    for d in SPEC_DIRS:
        if Path(d).is_dir():
            shutil.copytree(d, root / d.lstrip("/"))
    assert list(root.rglob("*.gemspec")), "ruby is installed but no gemspec was found"
    return root


def test_agrees_with_gem_list(tmp_path: Path) -> None:
    """Every gem RubyGems reports as installed, and nothing else, with the same version."""
    root = _machine_root(tmp_path)
    out = subprocess.run(["gem", "list", "--local"], capture_output=True, text=True, check=True).stdout
    theirs = set()
    for line in out.splitlines():
        m = re.fullmatch(r"(\S+) \((.*)\)", line.strip())
        assert m, line
        theirs |= {(m[1], v.removeprefix("default: ")) for v in m[2].split(", ")}
    result = scan_dir(root)
    assert result.warnings == []
    ours = {(p.name, p.version) for p in result.packages if p.type == "gem"}
    assert len(ours) > 50 and ours == theirs


def test_agrees_with_syft(tmp_path: Path) -> None:
    """Same packages per file, names, versions, purls; the same licences (Syft sorts them)."""
    root = _machine_root(tmp_path)
    theirs = {
        (a["name"], a["version"], primary_location(a)): a
        for a in syft_artifacts(root, tmp_path)
        if a["type"] == "gem"
    }
    ours = {(p.name, p.version, p.locations[0]): p for p in scan_dir(root).packages if p.type == "gem"}
    assert ours and set(ours) == set(theirs)
    for key, pkg in ours.items():
        assert pkg.purl == theirs[key]["purl"]
        assert sorted(pkg.licenses) == sorted(lic["value"] for lic in theirs[key]["licenses"])


def test_fixtures() -> None:
    def one(name: str):  # type: ignore[no-untyped-def]
        path = f"/usr/share/rubygems-integration/all/specifications/{name}"
        [pkg] = parse_ok(CAT, path, (DIR / name).read_bytes()).packages
        return pkg

    rake = one("rake-13.0.6.gemspec")
    assert (rake.name, rake.version, rake.purl, rake.licenses) == (
        "rake",
        "13.0.6",
        "pkg:gem/rake@13.0.6",
        ["MIT"],
    )
    assert rake.metadata["homepage"] == "https://github.com/ruby/rake"
    assert one("test-unit-3.5.3.gemspec").licenses == ["Ruby", "BSDL", "PSFL"]
    # json's generated gemspec holds NUL bytes in its file list: still one clean package
    assert one("json-2.6.1.gemspec").purl == "pkg:gem/json@2.6.1"


def test_the_globs_take_specifications_only(tmp_path: Path) -> None:
    spec = DIR / "webrick-1.8.1.gemspec"
    root = make_root(
        tmp_path / "root",
        {
            "/usr/lib/ruby/gems/3.1.0/specifications/default/webrick-1.8.1.gemspec": spec,
            "/srv/app/vendor/webrick.gemspec": spec,  # a gem's source tree, not an installed gem
        },
    )
    found = [p.locations[0] for p in scan_dir(root).packages if p.type == "gem"]
    assert found == ["/usr/lib/ruby/gems/3.1.0/specifications/default/webrick-1.8.1.gemspec"]


def test_hostile_gemspecs_are_text() -> None:
    path = "/usr/lib/ruby/gems/3.1.0/specifications/x.gemspec"
    cases = {
        b"\xff\xfe\x00garbage": "no name/version",
        b'Gem::Specification.new do |s|\n  s.name = "x".freeze\nend\n': "no name/version",
        b'Gem::Specification.new do |s|\n  s.name = "../../etc"\n  s.version = "1"\nend\n': "not a gem name",
        b's.name = "' + b"a" * 100_000 + b'"\ns.version = "1"\n': "no name/version",
    }
    for data, warning in cases.items():
        result = parse_ok(CAT, path, data)
        assert result.packages == [] and warning in result.warnings[-1], (data[:40], result.warnings)
    # Ruby code in a gemspec is never run: a version that is not a literal is no version.
    code = b's.name = "evil"; system("touch /tmp/pwned")\ns.version = `id`.strip\ns.version = "2.0"\n'
    result = parse_ok(CAT, path, code)
    assert result.packages == [] and "no name/version" in result.warnings[-1]
