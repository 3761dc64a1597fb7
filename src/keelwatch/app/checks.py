"""`keelwatch check`: gather the facts about one image and evaluate a policy on them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from keelwatch.app.catalogue import Catalogue
from keelwatch.app.findings import ImageFindings, findings_of
from keelwatch.app.gate import EXIT_FINDINGS, EXIT_PASS, GateOptions, Verdict, judge_basis
from keelwatch.app.lineage import FleetLineage
from keelwatch.app.scanning import scan_and_store
from keelwatch.config import load_settings
from keelwatch.model import ScanResult
from keelwatch.oci.reference import Reference, as_reference, try_parse
from keelwatch.policy.engine import PolicyReport, evaluate
from keelwatch.policy.loader import Policy
from keelwatch.policy.subject import PolicySubject, metadata_from_oci
from keelwatch.store.db import Store
from keelwatch.vulndb.suppress import Suppressor


def parse_time(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def is_base_ref(ref: Reference | None, namespace: str) -> bool:
    """Base images live under a namespace such as `base/` in the registry (configurable)."""
    if ref is None:
        return False
    repository = ref.repo_path
    return repository.startswith(namespace) or f"/{namespace}" in f"/{repository}"


def check_image(
    store: Store,
    ref: str | Reference,
    policy: Policy,
    *,
    platform: str = "linux/amd64",
    insecure: bool = False,
    progress: Callable[[int, int, int], None] | None = None,
    suppressor: Suppressor | None = None,
    gate: GateOptions | None = None,
    max_age_days: float | None = None,
) -> CheckOutcome:
    """Scan `ref`, keep the scan, and evaluate `policy` on it."""
    catalogue = Catalogue(store, load_settings().expert_team)
    ref = as_reference(ref)
    stored = scan_and_store(store, ref, platform=platform, insecure=insecure, progress=progress)
    return check_scan(
        store,
        ref,
        stored.result,
        policy,
        catalogue,
        suppressor=suppressor,
        gate=gate,
        max_age_days=max_age_days,
    )


def check_scan(
    store: Store,
    ref: Reference,
    result: ScanResult,
    policy: Policy,
    catalogue: Catalogue,
    *,
    suppressor: Suppressor | None = None,
    gate: GateOptions | None = None,
    max_age_days: float | None = None,
) -> CheckOutcome:
    """Evaluate `policy` on one scan already made: the report judges exactly this image's digest.

    The findings come from the same pipeline as `scan` and the verdict from the same gate
    rules (unknown severity, coverage), so `check` and `scan --fail-on` agree on one image.
    """
    gate = gate or GateOptions()
    settings = load_settings()
    fleet = FleetLineage(store, catalogue)
    found = findings_of(store, result, suppressor=suppressor, fleet=fleet, max_age_days=max_age_days)
    lineage = found.lineage
    entry = catalogue.get(result.image.digest) if result.image.digest else None
    extra = {}
    if entry is not None:
        extra = {"maintainer": entry.maintainer, "owning_team": entry.owning_team}
    namespace = settings.raw.get("governance", {}).get("base_namespace", "base/")
    parent = lineage.parent
    base_created = None
    if parent is not None and parent.key and parent.key in fleet.known:
        base_created = parse_time(fleet.known[parent.key].labels.get("org.opencontainers.image.created"))
        base_created = base_created or parse_time(
            fleet.known[parent.key].annotations.get("org.opencontainers.image.created")
        )
    subject = PolicySubject(
        ref=ref.raw,
        tag=ref.tag or result.image.tag,
        local=ref.transport.is_local,
        digest=result.image.digest,
        is_base=entry is not None or is_base_ref(try_parse(result.image.ref), namespace),
        lineage=lineage,
        metadata=metadata_from_oci(result.image.annotations, result.image.labels, extra),
        findings=found.active,
        created=parse_time(result.image.created),
        base_created=base_created,
        unknown_as=gate.unknown_as,
    )
    report = evaluate(policy, subject, catalogue)
    return CheckOutcome(report, found, _verdict(report, found, policy, gate))


@dataclass(slots=True)
class CheckOutcome:
    report: PolicyReport
    findings: ImageFindings
    verdict: Verdict  # exit code and one-line reason, as the `scan --fail-on` gate gives them


# rules that judge findings: they need data that covers the image, as the gate does
FINDINGS_RULES = frozenset({"max_fixable_severity", "no_kev"})


def _verdict(report: PolicyReport, found: ImageFindings, policy: Policy, gate: GateOptions) -> Verdict:
    if report.failed:
        failed = [r.rule for r in report.results if r.status == "fail"]
        return Verdict(EXIT_FINDINGS, f"policy {report.policy}: failing rule(s): {', '.join(failed)}")
    if not any(rule.type in FINDINGS_RULES for rule in policy.rules):
        return Verdict(EXIT_PASS, "passed")
    return judge_basis(found, gate)
