"""Move a base image through the catalogue workflow; approving with a policy checks it first.

The rule (for the CLI and the coming API alike): an approval with `--policy` judges the
very digest it approves. The image is scanned ONCE, pinned (`ref@digest` for a registry);
if what is there now is not the digest the catalogue registered (a local layout rewritten
in place, a tag moved), the approval is refused, never granted to a digest nobody checked.
The policy is evaluated on that one scan, and a check that cannot judge the image (no,
stale or uncovered data for a findings rule) refuses too: a safety gate fails closed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from keelwatch.app.catalogue import Catalogue
from keelwatch.app.checks import check_scan
from keelwatch.app.gate import EXIT_CANNOT_KNOW, GateOptions
from keelwatch.app.scanning import scan_and_store
from keelwatch.config import load_settings
from keelwatch.errors import KeelwatchError
from keelwatch.governance.catalogue import CatalogueEntry
from keelwatch.governance.workflow import Actor, check_permission
from keelwatch.oci.reference import parse_reference
from keelwatch.store.db import Store


class ApprovalRefused(KeelwatchError):
    """The image at the reference is not the one the catalogue holds, or cannot be judged."""


@dataclass(slots=True)
class Transitioned:
    entry: CatalogueEntry
    warnings: list[str] = field(default_factory=list)  # gaps in the data the user allowed


def transition(
    store: Store,
    ref: str,
    action: str,
    actor: Actor,
    reason: str = "",
    *,
    policy: Path | None = None,
    insecure: bool = False,
    platform: str = "linux/amd64",
    gate: GateOptions | None = None,
) -> Transitioned:
    """Apply `action` to the catalogue entry of `ref`; with `policy`, approve only what passed it."""
    from keelwatch.policy.loader import load_policy

    settings = load_settings()
    catalogue = Catalogue(store, settings.expert_team)
    entry = catalogue.require(ref)
    require = bool(settings.raw.get("governance", {}).get("require_policy_on_approve", False))
    report = None
    warnings: list[str] = []
    if policy is not None and action == "approve":
        loaded = load_policy(policy)
        check_permission(action, actor, settings.expert_team)  # before the (long) scan
        pinned = parse_reference(entry.ref).pinned(entry.digest)  # a registry ref pinned; a path as is
        stored = scan_and_store(store, pinned, platform=platform, insecure=insecure)
        found = stored.result.image.digest
        if found != entry.digest:
            raise ApprovalRefused(
                f"approval refused: {entry.ref} is now {found}, not the registered {entry.digest}: "
                f"register it (`keelwatch base add {entry.ref}`) and approve that digest"
            )
        outcome = check_scan(store, pinned, stored.result, loaded, catalogue, gate=gate)
        if outcome.verdict.exit_code == EXIT_CANNOT_KNOW:
            raise ApprovalRefused(f"approval refused: {outcome.verdict.reason}")
        report = outcome.report.to_dict()
        warnings = outcome.verdict.warnings
    entry = catalogue.transition(
        entry.digest, action, actor, reason, report, require_policy=require or report is not None
    )
    return Transitioned(entry, warnings)
