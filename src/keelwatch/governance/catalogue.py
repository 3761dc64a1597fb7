"""The base-image catalogue: register, edit, approve… with every change in the audit log.

All writes of one operation (the entry and its audit event) happen in one
transaction, so the log never misses a change and never records one that did
not happen.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import select

from keelwatch.errors import KeelwatchError
from keelwatch.governance import workflow
from keelwatch.governance.models import AuditEvent, BaseImage, TagRecord
from keelwatch.governance.workflow import Actor, PermissionDenied
from keelwatch.model import ScanResult
from keelwatch.policy.subject import OCI_METADATA_KEYS, split_ref
from keelwatch.store.db import Store

EDITABLE = ("maintainer", "owning_team", "support_status", "eol_date", "notes")
REASON_REQUIRED = frozenset({"reject", "deprecate", "revoke"})


class CatalogueError(KeelwatchError):
    """A catalogue operation that cannot be done (unknown image, missing reason, failing policy)."""


def _now() -> datetime:
    return datetime.now(UTC)


def repository_of(ref: str) -> tuple[str, str]:
    """("registry/repository", "tag") of a reference."""
    registry, repository, tag, _ = split_ref(ref)
    return f"{registry}/{repository}", tag or ""


class Catalogue:
    def __init__(self, store: Store, expert_team: str) -> None:
        self.store = store
        self.expert_team = expert_team

    # -- reading -----------------------------------------------------------------
    def get(self, key: str) -> BaseImage | None:
        """By digest, or by reference (the most recently registered digest under it)."""
        with self.store.session() as session:
            if key.startswith("sha256:") or "@" in key:
                digest = key.rsplit("@", 1)[-1]
                return session.scalar(select(BaseImage).where(BaseImage.digest == digest))
            repository, tag = repository_of(key)
            stmt = (
                select(BaseImage)
                .where(BaseImage.repository == repository, BaseImage.tag == tag)
                .order_by(BaseImage.registered_at.desc(), BaseImage.id.desc())
            )
            return session.scalars(stmt).first()

    def require(self, key: str) -> BaseImage:
        entry = self.get(key)
        if entry is None:
            raise CatalogueError(
                f"{key} is not in the base-image catalogue (register it with `keelwatch base add`)"
            )
        return entry

    def list(self, state: str | None = None) -> list[BaseImage]:
        with self.store.session() as session:
            stmt = select(BaseImage).order_by(BaseImage.repository, BaseImage.tag, BaseImage.registered_at)
            if state:
                stmt = stmt.where(BaseImage.state == state)
            return list(session.scalars(stmt))

    def audit(self, key: str | None = None) -> list[AuditEvent]:
        with self.store.session() as session:
            stmt = select(AuditEvent).order_by(AuditEvent.id)
            if key:
                stmt = stmt.where(AuditEvent.subject == self.require(key).digest)
            return list(session.scalars(stmt))

    # -- the ApprovalView protocol of keelwatch.policy ----------------------------
    def is_approved_digest(self, digest: str) -> bool:
        entry = self.get(digest)
        return entry is not None and entry.state == workflow.APPROVED

    def is_approved_tag(self, ref: str) -> bool:
        repository, tag = repository_of(ref)
        with self.store.session() as session:
            stmt = select(BaseImage.id).where(
                BaseImage.repository == repository, BaseImage.tag == tag, BaseImage.state == workflow.APPROVED
            )
            return session.scalar(stmt) is not None

    # -- writing -----------------------------------------------------------------
    def register(
        self,
        scan: ScanResult,
        ref: str,
        actor: Actor,
        fields: dict[str, Any] | None = None,
        scan_id: int | None = None,
    ) -> tuple[BaseImage, bool]:
        """Add the scanned image as a candidate: (entry, created). An existing digest is left alone."""
        workflow.check_permission("register", actor, self.expert_team)
        digest = scan.image.digest or scan.image.config_digest
        if not digest:
            raise CatalogueError(
                f"{ref} has no digest: only images from a registry or an OCI layout can be registered"
            )
        existing = self.get(digest)
        if existing is not None:
            return existing, False
        meta = _oci_metadata(scan)
        repository, tag = repository_of(ref)
        now = _now()
        entry = BaseImage(
            digest=digest,
            ref=ref,
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
            registered_at=now,
            updated_at=now,
        )
        _apply_fields(entry, fields or {})
        with self.store.write_session() as session:
            session.add(entry)
            session.add(_event(actor, "register", entry, "", workflow.CANDIDATE, "", {"ref": ref}))
        return entry, True

    def edit(self, key: str, actor: Actor, fields: dict[str, Any], reason: str = "") -> BaseImage:
        """Change editable fields; the expert team or the owning team may."""
        entry = self.require(key)
        if actor.team not in (self.expert_team, entry.owning_team or self.expert_team):
            raise PermissionDenied(f"{actor.name} (team {actor.team}) may not edit {entry.ref}")
        workflow.check_permission("edit", actor, self.expert_team)
        with self.store.write_session() as session:
            current = session.get(BaseImage, entry.id)
            assert current is not None
            before = {k: _show(getattr(current, k)) for k in fields}
            _apply_fields(current, fields)
            current.updated_at = _now()
            after = {k: _show(getattr(current, k)) for k in fields}
            changes = {k: [before[k], after[k]] for k in fields if before[k] != after[k]}
            session.add(
                _event(actor, "edit", current, current.state, current.state, reason, {"changes": changes})
            )
            entry = current
        return entry

    def transition(
        self,
        key: str,
        action: str,
        actor: Actor,
        reason: str = "",
        policy: dict[str, Any] | None = None,
        require_policy: bool = False,
    ) -> BaseImage:
        """Move an entry through the workflow; `policy` is a policy report dict (see keelwatch check)."""
        workflow.check_permission(action, actor, self.expert_team)
        if action in REASON_REQUIRED and not reason.strip():
            raise CatalogueError(f"{action} needs a reason (--reason)")
        if action == "approve" and require_policy:
            if policy is None:
                raise CatalogueError("approval requires a passing policy check: pass --policy FILE")
            if policy.get("status") == "fail":
                failed = [r["rule"] for r in policy.get("results", []) if r.get("status") == "fail"]
                raise CatalogueError(
                    f"approval refused: policy {policy.get('policy')} fails ({', '.join(failed)})"
                )
        with self.store.write_session() as session:
            found = self.require(key)
            entry = session.get(BaseImage, found.id)
            assert entry is not None
            target = workflow.next_state(action, entry.state)
            details: dict[str, Any] = {}
            if policy is not None:
                details["policy"] = {"name": policy.get("policy"), "status": policy.get("status")}
            session.add(_event(actor, action, entry, entry.state, target, reason, details))
            entry.state = target
            entry.updated_at = _now()
        return entry

    # -- tags over time ----------------------------------------------------------
    def record_tag(self, ref: str, digest: str, seen_at: datetime | None = None, platform: str = "") -> bool:
        """Remember that `ref` pointed at `digest` (the image for `platform`); True when new."""
        repository, tag = repository_of(ref)
        platform = platform_key(platform)
        seen_at = seen_at or _now()
        with self.store.write_session() as session:
            row = session.scalar(
                select(TagRecord).where(
                    TagRecord.repository == repository,
                    TagRecord.tag == tag,
                    TagRecord.platform == platform,
                    TagRecord.digest == digest,
                )
            )
            if row is not None:
                row.last_seen = seen_at
                return False
            session.add(
                TagRecord(
                    repository=repository,
                    tag=tag,
                    platform=platform,
                    digest=digest,
                    first_seen=seen_at,
                    last_seen=seen_at,
                )
            )
            return True

    def current_digest(self, ref: str, platform: str = "") -> str | None:
        """What the tag pointed at most recently for `platform` (for any platform when empty)."""
        repository, tag = repository_of(ref)
        with self.store.session() as session:
            stmt = (
                select(TagRecord.digest)
                .where(TagRecord.repository == repository, TagRecord.tag == tag)
                .order_by(TagRecord.last_seen.desc(), TagRecord.id.desc())
            )
            if platform:
                stmt = stmt.where(TagRecord.platform.in_((platform_key(platform), "")))
            return session.scalars(stmt).first()

    def tag_history(self, ref: str) -> list[TagRecord]:
        repository, tag = repository_of(ref)
        with self.store.session() as session:
            stmt = (
                select(TagRecord)
                .where(TagRecord.repository == repository, TagRecord.tag == tag)
                .order_by(TagRecord.first_seen)
            )
            return list(session.scalars(stmt))


def platform_key(platform: str) -> str:
    """One spelling per platform: arm64 means arm64/v8, as registries match it."""
    key = platform.strip().lower()
    return key[: -len("/v8")] if key.endswith("arm64/v8") else key


def _oci_metadata(scan: ScanResult) -> dict[str, str]:
    out: dict[str, str] = {}
    for short, key in OCI_METADATA_KEYS.items():
        value = scan.image.annotations.get(key) or scan.image.labels.get(key)
        if value:
            out[short] = value
    return out


def _apply_fields(entry: BaseImage, fields: dict[str, Any]) -> None:
    for name, value in fields.items():
        if name not in EDITABLE:
            raise CatalogueError(f"{name!r} is not editable (editable: {', '.join(EDITABLE)})")
        if name == "eol_date" and isinstance(value, str):
            try:
                value = date.fromisoformat(value) if value else None
            except ValueError:
                raise CatalogueError(f"invalid eol_date {value!r}: use YYYY-MM-DD") from None
        setattr(entry, name, value)


def _show(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date) else value


def _event(
    actor: Actor, action: str, entry: BaseImage, before: str, after: str, reason: str, details: dict[str, Any]
) -> AuditEvent:
    return AuditEvent(
        at=_now(),
        actor=actor.name,
        team=actor.team,
        action=action,
        subject=entry.digest,
        ref=entry.ref,
        from_state=before,
        to_state=after,
        reason=reason,
        details=details,
    )
