"""Evaluate a policy against one image: each rule pass, warn or fail, exceptions applied.

`keelwatch check` exits 1 when any result is `fail`. A violation covered by a
current exception is reported as `pass` with the exception (owner, reason, expiry)
attached; an expired exception no longer covers anything and the result says so.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from fnmatch import fnmatchcase
from typing import Any

from keelwatch.policy.loader import Policy, PolicyException, Rule
from keelwatch.policy.rules import RULES
from keelwatch.policy.subject import ApprovalView, PolicySubject


@dataclass(slots=True)
class RuleResult:
    rule: str
    type: str
    status: str  # pass | warn | fail | skip
    message: str
    line: int = 0
    exception: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "rule": self.rule,
            "type": self.type,
            "status": self.status,
            "message": self.message,
        }
        if self.exception:
            out["exception"] = self.exception
        return out


@dataclass(slots=True)
class PolicyReport:
    policy: str
    version: str
    image: str
    digest: str | None
    results: list[RuleResult] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        return any(r.status == "fail" for r in self.results)

    @property
    def status(self) -> str:
        statuses = {r.status for r in self.results}
        return "fail" if "fail" in statuses else "warn" if "warn" in statuses else "pass"

    def to_dict(self) -> dict[str, Any]:
        return {
            "policy": self.policy,
            "version": self.version,
            "image": self.image,
            "digest": self.digest,
            "status": self.status,
            "results": [r.to_dict() for r in self.results],
        }


def evaluate(
    policy: Policy, subject: PolicySubject, approvals: ApprovalView, today: date | None = None
) -> PolicyReport:
    today = today or date.today()
    report = PolicyReport(policy.name, policy.version, subject.ref, subject.digest)
    for rule in policy.rules:
        report.results.append(_evaluate_rule(rule, policy, subject, approvals, today))
    return report


def _evaluate_rule(
    rule: Rule, policy: Policy, subject: PolicySubject, approvals: ApprovalView, today: date
) -> RuleResult:
    if (rule.applies_to == "base" and not subject.is_base) or (rule.applies_to == "app" and subject.is_base):
        return RuleResult(rule.id, rule.type, "skip", f"applies to {rule.applies_to} images only", rule.line)
    outcome = RULES[rule.type](subject, rule.params, approvals)
    if outcome is None:
        return RuleResult(rule.id, rule.type, "skip", "not applicable", rule.line)
    passed, message = outcome
    if passed:
        return RuleResult(rule.id, rule.type, "pass", message, rule.line)
    if custom := rule.params.get("message"):
        message = f"{custom} ({message})"
    exception = _exception_for(rule, policy.exceptions, subject.ref)
    if exception is not None:
        info = {
            "owner": exception.owner,
            "reason": exception.reason,
            "expires": exception.expires.isoformat(),
        }
        if exception.expires >= today:
            return RuleResult(rule.id, rule.type, "pass", f"excepted: {message}", rule.line, info)
        message = f"{message} (exception by {exception.owner} expired on {exception.expires.isoformat()})"
    return RuleResult(rule.id, rule.type, rule.level, message, rule.line)


def _exception_for(rule: Rule, exceptions: list[PolicyException], ref: str) -> PolicyException | None:
    """The latest-expiring exception for this rule whose image glob matches the reference."""
    matching = [e for e in exceptions if e.rule == rule.id and fnmatchcase(ref, e.image)]
    return max(matching, key=lambda e: e.expires, default=None)
