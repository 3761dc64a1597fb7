"""The catalogue on the real store (SQLite and PostgreSQL): workflow, permissions, audit, tags."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from keelwatch.app.catalogue import Catalogue, CatalogueError
from keelwatch.governance.workflow import Actor, PermissionDenied, WorkflowError
from keelwatch.model import ImageInfo, OSInfo, ScanResult

EXPERT = Actor("erin", "platform-experts")
DEV = Actor("dan", "shop-team")


def scan(digest: str, ref: str = "reg.example/base/debian-slim:12-20261101") -> ScanResult:
    return ScanResult(
        image=ImageInfo(
            ref=ref,
            digest=digest,
            os=OSInfo(id="debian", version_id="12"),
            annotations={
                "org.opencontainers.image.authors": "platform@example.com",
                "org.opencontainers.image.source": "https://git.example/base/debian",
                "org.opencontainers.image.revision": "0123abc",
                "org.opencontainers.image.version": "12.7",
            },
        )
    )


def test_register_reads_metadata_and_is_idempotent(store) -> None:
    cat = Catalogue(store, "platform-experts")
    entry, created = cat.register(scan("sha256:aa"), "reg.example/base/debian-slim:12-20261101", DEV)
    assert created and entry.state == "candidate"
    assert (entry.source, entry.revision, entry.maintainer) == (
        "https://git.example/base/debian",
        "0123abc",
        "platform@example.com",
    )
    again, created = cat.register(scan("sha256:aa"), "reg.example/base/debian-slim:12-20261101", DEV)
    assert not created and again.id == entry.id
    assert cat.get("reg.example/base/debian-slim:12-20261101").digest == "sha256:aa"


def test_workflow_permissions_and_audit(store) -> None:
    cat = Catalogue(store, "platform-experts")
    cat.register(scan("sha256:bb"), "reg.example/base/debian-slim:12-20261101", DEV)
    with pytest.raises(PermissionDenied, match="only the expert team"):
        cat.transition("sha256:bb", "approve", DEV)
    with pytest.raises(CatalogueError, match="needs a reason"):
        cat.transition("sha256:bb", "reject", EXPERT)
    assert cat.transition("sha256:bb", "approve", EXPERT, "meets the standard").state == "approved"
    assert cat.is_approved_digest("sha256:bb") and cat.is_approved_tag(
        "reg.example/base/debian-slim:12-20261101"
    )
    with pytest.raises(WorkflowError, match="from approved you can: deprecate, revoke"):
        cat.transition("sha256:bb", "approve", EXPERT)
    cat.transition("sha256:bb", "deprecate", EXPERT, "superseded by 12-20261115")
    cat.transition("sha256:bb", "revoke", EXPERT, "CVE-2026-0001 in libc")
    events = cat.audit("sha256:bb")
    assert [(e.action, e.from_state, e.to_state, e.actor) for e in events] == [
        ("register", "", "candidate", "dan"),
        ("approve", "candidate", "approved", "erin"),
        ("deprecate", "approved", "deprecated", "erin"),
        ("revoke", "deprecated", "revoked", "erin"),
    ]
    assert events[-1].reason == "CVE-2026-0001 in libc"
    assert not cat.is_approved_digest("sha256:bb")


def test_new_digest_under_same_tag_is_a_new_candidate(store) -> None:
    cat = Catalogue(store, "platform-experts")
    cat.register(scan("sha256:c1"), "reg.example/base/debian-slim:12", DEV)
    cat.transition("sha256:c1", "approve", EXPERT)
    entry, created = cat.register(scan("sha256:c2"), "reg.example/base/debian-slim:12", DEV)
    assert created and entry.state == "candidate"
    assert cat.is_approved_digest("sha256:c1") and not cat.is_approved_digest("sha256:c2")


def test_approval_can_require_a_passing_policy(store) -> None:
    cat = Catalogue(store, "platform-experts")
    cat.register(scan("sha256:dd"), "reg.example/base/debian-slim:12", DEV)
    with pytest.raises(CatalogueError, match="requires a passing policy"):
        cat.transition("sha256:dd", "approve", EXPERT, require_policy=True)
    failing = {"policy": "corp", "status": "fail", "results": [{"rule": "base-naming", "status": "fail"}]}
    with pytest.raises(CatalogueError, match="base-naming"):
        cat.transition("sha256:dd", "approve", EXPERT, policy=failing, require_policy=True)
    passing = {"policy": "corp", "status": "pass", "results": []}
    assert (
        cat.transition("sha256:dd", "approve", EXPERT, policy=passing, require_policy=True).state
        == "approved"
    )
    assert cat.audit("sha256:dd")[-1].details["policy"] == {"name": "corp", "status": "pass"}


def test_edit_records_changes_and_checks_team(store) -> None:
    cat = Catalogue(store, "platform-experts")
    cat.register(scan("sha256:ee"), "reg.example/base/debian-slim:12", DEV)
    cat.edit("sha256:ee", EXPERT, {"owning_team": "shop-team", "eol_date": "2028-06-30"})
    cat.edit("sha256:ee", DEV, {"support_status": "supported"})
    with pytest.raises(PermissionDenied):
        cat.edit("sha256:ee", Actor("mallory", "other-team"), {"maintainer": "m"})
    with pytest.raises(CatalogueError, match="not editable"):
        cat.edit("sha256:ee", EXPERT, {"state": "approved"})
    last = cat.audit("sha256:ee")[-1]
    assert last.details["changes"] == {"support_status": ["", "supported"]}
    assert cat.get("sha256:ee").eol_date.isoformat() == "2028-06-30"


def test_audit_log_is_append_only_in_the_database(store) -> None:
    cat = Catalogue(store, "platform-experts")
    cat.register(scan("sha256:ff"), "reg.example/base/debian-slim:12", DEV)
    for statement in ("UPDATE audit_events SET actor = 'x'", "DELETE FROM audit_events"):
        with pytest.raises(Exception, match="append-only"), store.write() as conn:
            conn.execute(text(statement))
    assert [e.actor for e in cat.audit()] == ["dan"]


def test_unknown_actor_is_refused(store) -> None:
    cat = Catalogue(store, "platform-experts")
    with pytest.raises(PermissionDenied, match="no actor configured"):
        cat.register(scan("sha256:gg"), "reg.example/base/x:1", Actor("", ""))


def test_tag_history_and_current_digest(store) -> None:
    cat = Catalogue(store, "platform-experts")
    t0 = datetime(2026, 11, 1, tzinfo=UTC)
    assert cat.record_tag("reg.example/base/debian-slim:12", "sha256:old", t0)
    assert not cat.record_tag("reg.example/base/debian-slim:12", "sha256:old", t0 + timedelta(days=1))
    assert cat.record_tag("reg.example/base/debian-slim:12", "sha256:new", t0 + timedelta(days=7))
    assert cat.current_digest("reg.example/base/debian-slim:12") == "sha256:new"
    assert [r.digest for r in cat.tag_history("reg.example/base/debian-slim:12")] == [
        "sha256:old",
        "sha256:new",
    ]
    assert cat.current_digest("reg.example/base/other:1") is None


def test_tag_history_is_per_platform(store) -> None:
    """A multi-arch tag points at one image per platform: checking arm64 must not make amd64 look moved."""
    cat = Catalogue(store, "platform-experts")
    t0 = datetime(2026, 11, 1, tzinfo=UTC)
    ref = "reg.example/base/debian-slim:12"
    cat.record_tag(ref, "sha256:amd", t0, platform="linux/amd64")
    cat.record_tag(ref, "sha256:arm", t0 + timedelta(hours=1), platform="linux/arm64/v8")
    assert cat.current_digest(ref, "linux/amd64") == "sha256:amd"
    assert cat.current_digest(ref, "linux/arm64") == "sha256:arm"  # arm64 and arm64/v8 are one platform
    assert cat.current_digest(ref) == "sha256:arm"  # no platform: the latest of any
    assert cat.record_tag(ref, "sha256:amd2", t0 + timedelta(days=7), platform="linux/amd64")
    assert cat.current_digest(ref, "linux/amd64") == "sha256:amd2"
