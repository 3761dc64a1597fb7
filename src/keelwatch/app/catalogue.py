"""The base-image catalogue use case: register, edit, approve… each change with its audit event.

The rules (workflow states, permissions, reasons, policy gate) are `keelwatch.governance`;
the rows are `keelwatch.store.catalogue` (entry and audit event in one transaction) and
`keelwatch.store.images` (tag history). Every reference is turned into its catalogue key
by `governance.catalogue.repository_of` and nowhere else.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from keelwatch.governance import workflow
from keelwatch.governance.catalogue import (
    AuditRecord,
    CatalogueEntry,
    CatalogueError,
    apply_fields,
    check_may_edit,
    check_transition,
    event,
    new_entry,
    now,
    platform_key,
    repository_of,
)
from keelwatch.governance.workflow import Actor
from keelwatch.model import ScanResult
from keelwatch.oci.reference import Reference, as_reference
from keelwatch.store import images
from keelwatch.store.catalogue import CatalogueRepository, Change
from keelwatch.store.db import Store
from keelwatch.store.images import TagSighting, TagSpan

__all__ = ["Catalogue", "CatalogueError", "tag_sighting"]


def tag_sighting(
    ref: str | Reference, digest: str, platform: str = "", seen_at: datetime | None = None
) -> TagSighting:
    """`ref` (a registry tag) pointed at `digest`, the image for `platform`, at `seen_at` (now)."""
    repository, tag = repository_of(ref)
    return TagSighting(repository, tag, platform_key(platform), digest, seen_at or now())


class Catalogue:
    def __init__(self, store: Store, expert_team: str) -> None:
        self.store = store
        self.expert_team = expert_team
        self.entries = CatalogueRepository(store)

    # -- reading -----------------------------------------------------------------
    def get(self, key: str | Reference) -> CatalogueEntry | None:
        """By digest, or by reference (the most recently registered digest under it)."""
        if isinstance(key, str) and key.startswith("sha256:"):
            return self.entries.by_digest(key)
        ref = as_reference(key)
        if ref.digest:
            return self.entries.by_digest(ref.digest)
        return self.entries.latest_under(*repository_of(ref))

    def require(self, key: str | Reference) -> CatalogueEntry:
        entry = self.get(key)
        if entry is None:
            raise CatalogueError(
                f"{key} is not in the base-image catalogue (register it with `keelwatch base add`)"
            )
        return entry

    def list(self, state: str | None = None) -> list[CatalogueEntry]:
        return self.entries.entries(state)

    def audit(self, key: str | None = None) -> list[AuditRecord]:
        return self.entries.events(self.require(key).digest if key else None)

    def approved_digests(self) -> set[str]:
        return self.entries.digests_in_state(workflow.APPROVED)

    # -- the ApprovalView protocol of keelwatch.policy ----------------------------
    def is_approved_digest(self, digest: str) -> bool:
        entry = self.get(digest)
        return entry is not None and entry.state == workflow.APPROVED

    def is_approved_tag(self, ref: str | Reference) -> bool:
        return self.entries.in_state_under(*repository_of(ref), workflow.APPROVED)

    # -- writing -----------------------------------------------------------------
    def register(
        self,
        scan: ScanResult,
        ref: str | Reference,
        actor: Actor,
        fields: dict[str, Any] | None = None,
        scan_id: int | None = None,
    ) -> tuple[CatalogueEntry, bool]:
        """Add the scanned image as a candidate: (entry, created). An existing digest is left alone."""
        workflow.check_permission("register", actor, self.expert_team)
        entry = new_entry(scan, ref, scan_id)
        ref = entry.ref
        existing = self.entries.by_digest(entry.digest)
        if existing is not None:
            return existing, False
        apply_fields(entry, fields or {})
        return self.entries.add(entry, event(actor, "register", entry, "", entry.state, "", {"ref": ref}))

    def edit(self, key: str, actor: Actor, fields: dict[str, Any], reason: str = "") -> CatalogueEntry:
        """Change editable fields; the expert team or the owning team may."""
        check_may_edit(self.require(key), actor, self.expert_team)

        def apply(entry: CatalogueEntry) -> AuditRecord:
            changes = apply_fields(entry, fields)
            entry.updated_at = now()
            return event(actor, "edit", entry, entry.state, entry.state, reason, {"changes": changes})

        return self._change(key, apply)

    def transition(
        self,
        key: str,
        action: str,
        actor: Actor,
        reason: str = "",
        policy: dict[str, Any] | None = None,
        require_policy: bool = False,
    ) -> CatalogueEntry:
        """Move an entry through the workflow; `policy` is a policy report dict (see keelwatch check)."""
        workflow.check_permission(action, actor, self.expert_team)
        check_transition(action, reason, policy, require_policy)
        details: dict[str, Any] = {}
        if policy is not None:
            details["policy"] = {"name": policy.get("policy"), "status": policy.get("status")}

        def apply(entry: CatalogueEntry) -> AuditRecord:
            before, entry.state = entry.state, workflow.next_state(action, entry.state)
            entry.updated_at = now()
            return event(actor, action, entry, before, entry.state, reason, details)

        return self._change(key, apply)

    def _change(self, key: str, apply: Change) -> CatalogueEntry:
        changed = self.entries.change(self.require(key).digest, apply)
        if changed is None:  # removed between the lookup and the write
            raise CatalogueError(f"{key} is not in the base-image catalogue")
        return changed

    # -- tags over time ----------------------------------------------------------
    def record_tag(
        self, ref: str | Reference, digest: str, seen_at: datetime | None = None, platform: str = ""
    ) -> bool:
        """Remember that `ref` pointed at `digest` (the image for `platform`); True when new."""
        return images.record_tag(self.store, tag_sighting(ref, digest, platform, seen_at))

    def current_digest(self, ref: str | Reference, platform: str = "") -> str | None:
        """What the tag pointed at most recently for `platform` (for any platform when empty)."""
        platforms = (platform_key(platform), "") if platform else ()
        return images.current_digest(self.store, *repository_of(ref), platforms)

    def current_digests(self, repository: str, platform: str) -> dict[str, str]:
        """tag -> current digest for `platform`, for every tag of `repository` (registry/repository)."""
        return images.current_digests(self.store, repository, (platform_key(platform), ""))

    def tag_history(self, ref: str | Reference) -> list[TagSpan]:
        return images.tag_history(self.store, *repository_of(ref))
