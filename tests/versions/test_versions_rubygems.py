"""RubyGems ordering against the reference implementation: this machine's Ruby (`Gem::Version#<=>`)."""

from __future__ import annotations

import random
import shutil
import subprocess
from itertools import combinations

import pytest

from keelwatch.vulndb.versions import rubygems, scheme_for

# Real shapes from rubygems.org (rails, nokogiri, ...) and the corner cases of version.rb.
VERSIONS = [
    "0",
    "0.0",
    "0.0.1",
    "1",
    "1.0",
    "1.0.0",
    "1.0.0.0",
    "1.0.1",
    "1.0.10",
    "1.0.2",
    "1.1",
    "1.10",
    "1.2",
    "1.0.a",
    "1.0.a.1",
    "1.0.b",
    "1.0.0.a",
    "1.0.a10",
    "1.0.a9",
    "1.0.rc1",
    "1.0.rc.1",
    "1.0.pre",
    "1.0-pre",
    "1.0-1",
    "1.0-rc1",
    "1.0.0-alpha",
    "1.a",
    "1.A",
    "1.Z",
    "1.aa",
    "1.0.z",
    "2.0.0.beta2",
    "2.0.0.beta10",
    "2.0.0.rc1",
    "2.0.0",
    "7.1.3.4",
    "7.1.3.4.1",
    "7.0.0.alpha2",
    "1.16.0-x86-64-linux",
    "1.16.0",
    "1.15.6",
    "3.2.2.1",
    "0.9.12.1",
    "5.15.0",
    "13.0.6",
    "01.2",
    "1.02",
    "1.2.0000",
    " 1.2 ",
    "1.2.3.4.5.6.7",
    "2",
    "10",
    "9.99.999",
    "1.a.0.b",
    "1.a.b",
    "1.a.0",
    "1.a.0.1",
    "1.0.0.1.a",
]
INVALID = ["1.16.0-x86_64-linux", "1..2", "a", "1.2.", "-1", "1.2 3", "1.2_3", "v1.0", "1.0+build", "1.0-"]


def _ruby() -> str:
    found = shutil.which("ruby")
    if found is None:
        pytest.skip("ruby not installed (scripts/setup.sh installs it)")
    return found


def _ruby_answers(script: str, lines: list[str]) -> list[str]:
    out = subprocess.run(
        [_ruby(), "-e", script], input="\n".join(lines) + "\n", capture_output=True, text=True, check=True
    ).stdout
    return out.splitlines()


def _random_versions(n: int) -> list[str]:
    rng = random.Random(20261130)
    parts = ["0", "1", "2", "10", "00", "a", "b", "pre", "rc", "alpha", "Z", "rc1", "1a", "b2"]
    out = []
    while len(out) < n:
        head = [rng.choice(["0", "1", "2", "10", "3"])]
        head += [rng.choice(parts) for _ in range(rng.randint(0, 4))]
        v = ".".join(head)
        if rng.random() < 0.2:
            v += "-" + rng.choice(["pre", "rc1", "1", "beta.2", "x86-linux"])
        out.append(v)
    return out


def test_order_agrees_with_ruby() -> None:
    versions = VERSIONS + _random_versions(150)
    pairs = list(combinations(versions, 2))
    script = (
        'STDIN.each_line { |l| a, b = l.chomp.split("\\t", -1); '
        "puts(Gem::Version.new(a) <=> Gem::Version.new(b)) }"
    )
    answers = _ruby_answers(script, [f"{a}\t{b}" for a, b in pairs])
    assert len(answers) == len(pairs)
    wrong = [(a, b, int(r), rubygems.compare(a, b)) for (a, b), r in zip(pairs, answers, strict=True)]
    wrong = [w for w in wrong if w[2] != w[3]]
    assert not wrong, wrong[:10]


def test_validity_agrees_with_ruby() -> None:
    versions = VERSIONS + INVALID
    answers = _ruby_answers("STDIN.each_line { |l| puts Gem::Version.correct?(l.chomp) ? 1 : 0 }", versions)
    assert [bool(int(a)) for a in answers] == [rubygems.valid(v) for v in versions]
    assert not any(rubygems.valid(v) for v in INVALID)


def test_empty_is_refused_where_ruby_reads_zero() -> None:
    """The one documented difference: an empty bound in an advisory must not mean 0."""
    assert _ruby_answers("STDIN.each_line { |l| puts Gem::Version.new(l.chomp).to_s }", [""]) == ["0"]
    assert not rubygems.valid("") and not rubygems.valid("  ")


def test_osv_ecosystem_and_bounds() -> None:
    assert scheme_for("RubyGems") is rubygems.SCHEME
    assert not rubygems.valid("1." * 200 + "1")  # longer than any real version: refused, not parsed
    assert not rubygems.valid(None)  # type: ignore[arg-type]
