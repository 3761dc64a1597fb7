"""One function per rule type: facts in, (ok, message with how to fix) out.

A rule returns None when it does not apply (e.g. no base to check), else a
tuple (passed, message). The engine turns a failed rule into `warn` or `fail`
by the rule's level and applies exceptions.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from keelwatch.oci.reference import try_parse
from keelwatch.policy.naming import matches_template
from keelwatch.policy.subject import ApprovalView, PolicySubject
from keelwatch.vulndb.findings import Finding
from keelwatch.vulndb.severity import Level

Outcome = tuple[bool, str] | None
MUTABLE_TAGS = {"latest", "stable", "edge", "main", "master", "nightly", "dev"}


def approved_base(subject: PolicySubject, params: dict[str, Any], approvals: ApprovalView) -> Outcome:
    lineage = subject.lineage
    parent = lineage.parent if lineage else None
    if parent is None:
        if subject.is_base:
            return None  # a root base has no base to approve
        return False, "no base image detected: build FROM an approved base image of the catalogue"
    by_tag = params.get("match", "digest") == "tag"
    ok = (
        approvals.is_approved_tag(parent.name)
        if by_tag
        else bool(parent.key) and approvals.is_approved_digest(parent.key or "")
    )
    if ok:
        return True, f"base {parent.name} is approved"
    what = f"{parent.name} ({parent.key[:19]})" if parent.key else parent.name  # sha256: + 12 hex, as tables
    return False, f"base {what} is not an approved catalogue image: rebuild FROM an approved base"


def max_lineage_depth(subject: PolicySubject, params: dict[str, Any], _: ApprovalView) -> Outcome:
    limit = int(params.get("max", 3))
    level = subject.lineage.level if subject.lineage else 1
    chain = (
        " -> ".join([a.name for a in subject.lineage.ancestors] + [subject.ref]) if subject.lineage else ""
    )
    if level <= limit:
        return True, f"lineage depth {level} (max {limit})"
    return False, (
        f"lineage depth {level} exceeds {limit} ({chain}): build FROM a base nearer the root or fold an "
        "intermediate image into its parent"
    )


def required_metadata(subject: PolicySubject, params: dict[str, Any], _: ApprovalView) -> Outcome:
    missing = [key for key in params["keys"] if not subject.metadata.get(key)]
    if not missing:
        return True, "all required metadata present"
    return False, (
        f"missing metadata: {', '.join(missing)}: set the org.opencontainers.image.* annotations/labels "
        "at build time or fill the catalogue entry (`keelwatch base edit`)"
    )


def naming(subject: PolicySubject, params: dict[str, Any], _: ApprovalView) -> Outcome:
    ref = try_parse(subject.ref)
    if ref is None:
        return False, f"{subject.ref!r} is not a valid image reference: name images host/repo:tag"
    tag, _digest = ref.tag, ref.digest
    if subject.local:  # a path has no repository name, and its `:` says nothing about a tag
        tag, _digest = None, None
    tag = subject.tag or tag
    problems: list[str] = []
    full_repo = ref.name
    if subject.local:
        pass  # checked when the image is pushed and checked under its registry name
    elif (template := params.get("repository")) and not matches_template(template, full_repo):
        problems.append(f"repository {full_repo!r} does not follow {template!r}")
    if (
        (pattern := params.get("repository_regex"))
        and not subject.local
        and not _fullmatch(pattern, full_repo)
    ):
        problems.append(f"repository {full_repo!r} does not match /{pattern}/")
    forbidden = set(params.get("forbid_tags", [])) | (MUTABLE_TAGS if params.get("forbid_mutable") else set())
    if tag is None and not _digest:
        tag = "latest"
    if tag is not None:
        if tag in forbidden:
            problems.append(f"tag {tag!r} is forbidden (mutable): use a dated, immutable tag")
        if (template := params.get("tag")) and not matches_template(template, tag):
            problems.append(f"tag {tag!r} does not follow {template!r}")
        if (pattern := params.get("tag_regex")) and not _fullmatch(pattern, tag):
            problems.append(f"tag {tag!r} does not match /{pattern}/")
    if problems:
        return False, "; ".join(problems)
    if subject.local:
        return True, f"tag {tag!r} follows the conventions (a local image: no repository name to check)"
    return True, "name and tag follow the conventions"


def max_fixable_severity(subject: PolicySubject, params: dict[str, Any], _: ApprovalView) -> Outcome:
    threshold = Level.of(params.get("severity", "high"))

    def level(f: Finding) -> Level:
        return subject.unknown_as if f.severity.rank is Level.UNKNOWN else f.severity.rank

    bad = [f for f in subject.findings if f.fixed_versions and level(f) >= threshold]
    if not bad:
        return True, f"no fixable finding at or above {threshold.label}"
    sample = ", ".join(sorted({f"{f.id} ({f.package.name})" for f in bad})[:5])
    return False, (
        f"{len(bad)} finding(s) at or above {threshold.label} have a fix: {sample}: "
        "upgrade the packages (see `keelwatch scan` remediation) or rebuild on a patched base"
    )


def no_kev(subject: PolicySubject, params: dict[str, Any], _: ApprovalView) -> Outcome:
    bad = sorted({f.id for f in subject.findings if f.kev.flag})
    if not bad:
        return True, "no known-exploited vulnerability"
    return False, f"known exploited (CISA KEV): {', '.join(bad[:5])}: patch these first"


def max_base_age(subject: PolicySubject, params: dict[str, Any], _: ApprovalView) -> Outcome:
    built = subject.created if subject.is_base else subject.base_created
    if built is None:
        return None
    now = datetime.now(UTC)
    if built.tzinfo is None:
        built = built.replace(tzinfo=UTC)
    age = (now - built).days
    limit = int(params["days"])
    what = "image" if subject.is_base else "base"
    if age <= limit:
        return True, f"{what} is {age} days old (max {limit})"
    return False, f"{what} is {age} days old (max {limit}): rebuild on a fresh base to pick up patches"


def _fullmatch(pattern: str, value: str) -> bool:
    return re.fullmatch(pattern, value) is not None


RULES: dict[str, Callable[[PolicySubject, dict[str, Any], ApprovalView], Outcome]] = {
    "approved_base": approved_base,
    "max_lineage_depth": max_lineage_depth,
    "required_metadata": required_metadata,
    "naming": naming,
    "max_fixable_severity": max_fixable_severity,
    "no_kev": no_kev,
    "max_base_age": max_base_age,
}
