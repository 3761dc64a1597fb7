"""The `--fail-on` gate: may this image pass CI? It fails closed.

Exit codes (also in the README):
- 0: the data covers every ecosystem of the image, is fresh, and no unsuppressed finding
  is at or above the threshold;
- 1: an unsuppressed finding is at or above the threshold (this wins over 3: it is certain);
- 2: an error (bad input, unreadable image...), printed as one line by the CLI;
- 3: keelwatch cannot know: no vulnerability data at all (no opt-out: there is nothing to
  judge with), or the image holds packages of an ecosystem the loaded data does not cover
  (`--allow-uncovered` opts out), or whose data is older than the maximum age
  (`--allow-stale` opts out), or the scan itself hit a per-image bound and may have missed
  packages (`--allow-incomplete` opts out). Each opt-out prints a warning line, so a log
  always says what was not judged.

Unknown severity: the matcher first gives such a finding the highest severity
any stored record under one of its ids carries (vulndb.match). A finding still unknown
counts as `unknown_as`, HIGH by default: a flaw nobody scored may be anything, and a gate
that treats it as harmless passes exactly the images it knows least about. Users who
accept that risk say so with `--unknown-as low` (or any level).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from keelwatch.app.findings import ImageFindings
from keelwatch.vulndb.coverage import NOT_COVERED, STALE, Coverage
from keelwatch.vulndb.findings import Finding
from keelwatch.vulndb.severity import Level

EXIT_PASS = 0
EXIT_FINDINGS = 1
EXIT_ERROR = 2
EXIT_CANNOT_KNOW = 3


@dataclass(frozen=True, slots=True)
class GateOptions:
    fail_on: Level | None = None  # None: no severity threshold (coverage is still judged)
    unknown_as: Level = Level.HIGH
    allow_stale: bool = False
    allow_uncovered: bool = False
    allow_incomplete: bool = False


@dataclass(slots=True)
class Verdict:
    exit_code: int
    reason: str  # one line: why it passed or failed
    warnings: list[str] = field(default_factory=list)  # opt-outs used: what was not judged
    failing: list[Finding] = field(default_factory=list)  # findings at or above the threshold

    @property
    def passed(self) -> bool:
        return self.exit_code == EXIT_PASS


def gate_level(finding: Finding, unknown_as: Level) -> Level:
    """The level the gate judges a finding by: its own, or `unknown_as` when still unknown."""
    level = finding.severity.rank
    return unknown_as if level is Level.UNKNOWN else level


def judge_coverage(coverage: Coverage, options: GateOptions) -> Verdict:
    """Can the data judge this image? EXIT_CANNOT_KNOW with the gaps, else a pass that warns
    about each gap the user allowed (`--allow-stale`, `--allow-uncovered`)."""
    if not coverage.feeds:
        return Verdict(EXIT_CANNOT_KNOW, "cannot judge this image: no vulnerability data loaded")
    problems: list[str] = []
    warnings: list[str] = []
    for eco in coverage.ecosystems:
        allowed = {STALE: options.allow_stale, NOT_COVERED: options.allow_uncovered}.get(eco.status)
        if allowed is None:
            continue
        line = f"{eco.status}: {eco.reason(coverage.max_age_days)}"
        if allowed:
            flag = "--allow-stale" if eco.status == STALE else "--allow-uncovered"
            warnings.append(f"{line}; not judged ({flag})")
        else:
            problems.append(line)
    if problems:
        return Verdict(EXIT_CANNOT_KNOW, "cannot judge this image: " + "; ".join(problems), warnings)
    return Verdict(EXIT_PASS, "passed", warnings)


def judge_basis(found: ImageFindings, options: GateOptions) -> Verdict:
    """Can this image be judged at all? The data's coverage, then the scan's completeness: a scan
    that left files out (a per-image bound was hit) cannot vouch for the image."""
    verdict = judge_coverage(found.coverage, options)
    if not found.incomplete:
        return verdict
    line = "incomplete scan: " + "; ".join(found.incomplete)
    if options.allow_incomplete:
        return replace(verdict, warnings=[*verdict.warnings, f"{line}; not judged (--allow-incomplete)"])
    if verdict.passed:
        return Verdict(EXIT_CANNOT_KNOW, f"cannot judge this image: {line}", verdict.warnings)
    return Verdict(EXIT_CANNOT_KNOW, f"{verdict.reason}; {line}", verdict.warnings)


def judge(found: ImageFindings, options: GateOptions) -> Verdict:
    """The gate's verdict on one image's findings, the coverage of the data and the scan's completeness."""
    failing: list[Finding] = []
    if options.fail_on is not None:
        failing = [f for f in found.active if gate_level(f, options.unknown_as) >= options.fail_on]
    coverage = judge_basis(found, options)
    if failing:
        unknown = sum(1 for f in failing if f.severity.rank is Level.UNKNOWN)
        note = f" ({unknown} of unknown severity, counted as {options.unknown_as.label})" if unknown else ""
        threshold = options.fail_on.label if options.fail_on is not None else ""
        reason = f"{len(failing)} finding(s) at or above {threshold}{note}: failing (--fail-on {threshold})"
        return Verdict(EXIT_FINDINGS, reason, coverage.warnings, failing)
    return coverage
