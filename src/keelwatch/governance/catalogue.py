"""The base-image catalogue as domain values: an entry, an audit event, and the rules on them.

Pure: no database. `keelwatch.store.catalogue` keeps these values, and the use case
(`keelwatch.app.catalogue`) applies the workflow and permissions and writes an entry
with its audit event in one transaction, so the log never misses a change and never
records one that did not happen.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from keelwatch.errors import KeelwatchError
from keelwatch.governance import workflow
from keelwatch.governance.workflow import Actor
from keelwatch.model import ScanResult
from keelwatch.oci.reference import Reference, as_reference
from keelwatch.policy.subject import OCI_METADATA_KEYS

EDITABLE = ("maintainer", "owning_team", "support_status", "eol_date", "notes")
REASON_REQUIRED = frozenset({"reject", "deprecate", "revoke"})


class CatalogueError(KeelwatchError):
    """A catalogue operation that cannot be done (unknown image, missing reason, failing policy)."""


def now() -> datetime:
    return datetime.now(UTC)


def repository_of(ref: str | Reference) -> tuple[str, str]:
    """(canonical repository, tag) of a reference: THE key of catalogue entries and tag history.

    Every spelling of one image gives one key (`docker.io/library/debian`, `12` for `debian:12`,
    `index.docker.io/library/debian:12`, `docker://debian:12`…); this is the only place it is computed.
    """
    parsed = as_reference(ref)
    return parsed.name, parsed.tag or ""


def platform_key(platform: str) -> str:
    """One spelling per platform: arm64 means arm64/v8, as registries match it."""
    key = platform.strip().lower()
    return key[: -len("/v8")] if key.endswith("arm64/v8") else key


@dataclass(slots=True)
class CatalogueEntry:
    """One base image of the catalogue: one *digest*, as approval pins it."""

    digest: str
    ref: str  # the reference it was registered under
    repository: str  # registry/repository
    tag: str
    state: str
    registered_at: datetime
    updated_at: datetime
    os_id: str = ""
    os_version: str = ""
    # metadata read from OCI annotations/labels at registration
    authors: str = ""
    version: str = ""
    source: str = ""
    revision: str = ""
    vendor: str = ""
    created: str = ""
    # editable fields (EDITABLE)
    maintainer: str = ""
    owning_team: str = ""
    support_status: str = ""
    eol_date: date | None = None
    notes: str = ""
    scan_id: int | None = None
    labels: dict[str, str] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)
    id: int | None = None  # given by the store


@dataclass(slots=True)
class AuditRecord:
    """One line of the append-only audit log: who changed which digest, how and why."""

    at: datetime
    actor: str
    team: str
    action: str
    subject: str  # the digest
    ref: str = ""
    from_state: str = ""
    to_state: str = ""
    reason: str = ""
    details: dict[str, Any] = field(default_factory=dict)
    id: int | None = None  # given by the store


def new_entry(scan: ScanResult, ref: str | Reference, scan_id: int | None = None) -> CatalogueEntry:
    """A candidate entry for a scanned image, its metadata read from annotations and labels."""
    ref = as_reference(ref)
    digest = scan.image.digest or scan.image.config_digest
    if not digest:
        raise CatalogueError(
            f"{ref} has no digest: only images from a registry or an OCI layout can be registered"
        )
    meta = oci_metadata(scan)
    repository, tag = repository_of(ref)
    at = now()
    return CatalogueEntry(
        digest=digest,
        ref=ref.raw,
        repository=repository,
        tag=tag,
        state=workflow.CANDIDATE,
        os_id=scan.image.os.id,
        os_version=scan.image.os.version_id,
        authors=meta.get("maintainer", ""),
        version=meta.get("version", ""),
        source=meta.get("source", ""),
        revision=meta.get("revision", ""),
        vendor=meta.get("vendor", ""),
        created=meta.get("created", "") or (scan.image.created or ""),
        maintainer=meta.get("maintainer", ""),
        labels=dict(scan.image.labels),
        annotations=dict(scan.image.annotations),
        scan_id=scan_id,
        registered_at=at,
        updated_at=at,
    )


def oci_metadata(scan: ScanResult) -> dict[str, str]:
    out: dict[str, str] = {}
    for short, key in OCI_METADATA_KEYS.items():
        value = scan.image.annotations.get(key) or scan.image.labels.get(key)
        if value:
            out[short] = value
    return out


def apply_fields(entry: CatalogueEntry, fields: dict[str, Any]) -> dict[str, list[Any]]:
    """Set editable fields; {field: [before, after]} of what actually changed."""
    changes: dict[str, list[Any]] = {}
    for name, value in fields.items():
        if name not in EDITABLE:
            raise CatalogueError(f"{name!r} is not editable (editable: {', '.join(EDITABLE)})")
        if name == "eol_date" and isinstance(value, str):
            try:
                value = date.fromisoformat(value) if value else None
            except ValueError:
                raise CatalogueError(f"invalid eol_date {value!r}: use YYYY-MM-DD") from None
        before = _show(getattr(entry, name))
        setattr(entry, name, value)
        if before != _show(value):
            changes[name] = [before, _show(value)]
    return changes


def _show(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date) else value


def check_may_edit(entry: CatalogueEntry, actor: Actor, expert_team: str) -> None:
    """The expert team or the entry's owning team may edit it."""
    if actor.team not in (expert_team, entry.owning_team or expert_team):
        raise workflow.PermissionDenied(f"{actor.name} (team {actor.team}) may not edit {entry.ref}")
    workflow.check_permission("edit", actor, expert_team)


def check_transition(action: str, reason: str, policy: dict[str, Any] | None, require_policy: bool) -> None:
    """A reason where one is required; a passing policy report where approval requires one."""
    if action in REASON_REQUIRED and not reason.strip():
        raise CatalogueError(f"{action} needs a reason (--reason)")
    if action == "approve" and require_policy:
        if policy is None:
            raise CatalogueError("approval requires a passing policy check: pass --policy FILE")
        if policy.get("status") == "fail":
            failed = [r["rule"] for r in policy.get("results", []) if r.get("status") == "fail"]
            name = policy.get("policy")
            raise CatalogueError(f"approval refused: policy {name} fails ({', '.join(failed)})")


def event(
    actor: Actor,
    action: str,
    entry: CatalogueEntry,
    before: str,
    after: str,
    reason: str = "",
    details: dict[str, Any] | None = None,
) -> AuditRecord:
    return AuditRecord(
        at=now(),
        actor=actor.name,
        team=actor.team,
        action=action,
        subject=entry.digest,
        ref=entry.ref,
        from_state=before,
        to_state=after,
        reason=reason,
        details=details or {},
    )
