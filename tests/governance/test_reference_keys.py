"""Every Docker Hub spelling of one image is ONE catalogue entry and ONE approved base (real store).

And stores written before the one parser are re-keyed by migration 0007: old spellings
become the canonical repository, tag-history rows that meet are merged.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from sqlalchemy.orm import Session

from keelwatch.app.catalogue import Catalogue
from keelwatch.governance.workflow import Actor
from keelwatch.model import ImageInfo, OSInfo, ScanResult
from keelwatch.store.db import MIGRATIONS, open_store
from keelwatch.store.governance_models import BaseImage, TagRecord

EXPERT = Actor("erin", "platform-experts")
DEV = Actor("dan", "shop-team")
D1, D2 = "sha256:" + "1" * 64, "sha256:" + "2" * 64
SPELLINGS = [
    "debian:12",
    "docker.io/debian:12",
    "docker.io/library/debian:12",
    "index.docker.io/library/debian:12",
    "registry-1.docker.io/library/debian:12",
    "docker://debian:12",
]


def scan(digest: str, ref: str) -> ScanResult:
    return ScanResult(image=ImageInfo(ref=ref, digest=digest, os=OSInfo(id="debian", version_id="12")))


def test_every_docker_hub_spelling_is_one_entry_and_one_approved_base(store) -> None:
    cat = Catalogue(store, "platform-experts")
    entry, created = cat.register(scan(D1, "index.docker.io/library/debian:12"), SPELLINGS[3], DEV)
    assert created
    for spelling in SPELLINGS:
        again, created = cat.register(scan(D1, spelling), spelling, DEV)
        assert not created and again.id == entry.id
        assert cat.get(spelling).id == entry.id
    assert len(cat.list()) == 1
    cat.transition("debian:12", "approve", EXPERT)
    for spelling in SPELLINGS:
        assert cat.is_approved_tag(spelling), spelling
        assert cat.get(spelling).state == "approved"
    # a new digest under another spelling of the same tag is the next candidate of the SAME base
    newer, created = cat.register(scan(D2, "docker://debian:12"), "docker://debian:12", DEV)
    assert created and cat.get("debian:12").digest == D2
    assert {e.repository for e in cat.list()} == {"docker.io/library/debian"}


def test_tag_history_is_one_history_across_spellings(store) -> None:
    cat = Catalogue(store, "platform-experts")
    t0 = datetime(2026, 11, 1, tzinfo=UTC)
    for i, spelling in enumerate(SPELLINGS):
        cat.record_tag(spelling, D1, seen_at=t0 + timedelta(days=i), platform="linux/amd64")
    cat.record_tag("registry-1.docker.io/library/debian:12", D2, seen_at=t0 + timedelta(days=9))
    history = cat.tag_history("docker.io/debian:12")
    assert [(h.digest, h.first_seen.day, h.last_seen.day) for h in history] == [(D1, 1, 6), (D2, 10, 10)]
    with store.read() as conn:
        keys = set(conn.execute(sa.select(TagRecord.repository, TagRecord.tag)).all())
    assert keys == {("docker.io/library/debian", "12")}
    for spelling in SPELLINGS:
        assert cat.current_digest(spelling) == D2


def _store_at_0006(url: str) -> sa.Engine:
    engine = sa.create_engine(url)
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0006")
    return engine


def test_migration_rekeys_old_spellings_and_merges_history(store_url: str) -> None:
    engine = _store_at_0006(store_url)
    now = datetime(2026, 11, 1, tzinfo=UTC)
    old_keys = [  # what the loose split_ref made of these spellings
        ("index.docker.io/library/debian:12", "index.docker.io/library/debian", "12"),
        ("docker://debian:12", "docker://debian", "12"),
        ("debian", "docker.io/library/debian", ""),
    ]
    with Session(engine) as session, session.begin():
        for i, (ref, repository, tag) in enumerate(old_keys):
            session.add(BaseImage(digest=f"sha256:{i}", ref=ref, repository=repository, tag=tag,
                                  state="candidate", registered_at=now, updated_at=now))  # fmt: skip
        old_history = ["index.docker.io/library/debian", "docker://debian", "registry-1.docker.io/debian"]
        for i, repository in enumerate(old_history):
            seen = now + timedelta(days=i)
            session.add(TagRecord(repository=repository, tag="12", platform="linux/amd64", digest=D1,
                                  first_seen=seen, last_seen=seen))  # fmt: skip
        session.add(
            TagRecord(repository="oci:odd", tag="", platform="", digest=D2, first_seen=now, last_seen=now)
        )
    engine.dispose()
    store = open_store(store_url)  # migrates to head
    try:
        cat = Catalogue(store, "platform-experts")
        assert [(e.repository, e.tag) for e in cat.list()] == [
            ("docker.io/library/debian", "12"),
            ("docker.io/library/debian", "12"),
            ("docker.io/library/debian", "latest"),
        ]
        (row,) = cat.tag_history("debian:12")
        assert (row.digest, row.platform) == (D1, "linux/amd64")
        assert (row.first_seen.date(), row.last_seen.date()) == (now.date(), (now + timedelta(days=2)).date())
        with store.read() as conn:
            assert conn.execute(sa.select(sa.func.count()).select_from(TagRecord)).scalar() == 2
    finally:
        store.dispose()
