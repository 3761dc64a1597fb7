"""`keelwatch registry sync` on a real registry: tags over time, only new digests scanned."""

from __future__ import annotations

import json
import os

import pytest
from sqlalchemy import func, select

from imagebuilder import BuiltLayer, sha256_digest
from keelwatch.oci.push import push_layout
from keelwatch.oci.registry import RegistryClient
from keelwatch.store.db import open_store
from keelwatch.store.governance_models import BaseImage, KnownImageRow, TagRecord
from keelwatch.store.models import Scan

pytestmark = [pytest.mark.registry, pytest.mark.slow]

SBOM_TYPE = "application/spdx+json"


def push_artifact(registry, repo: str, tag: str) -> str:
    """An OCI artifact (an SBOM), not a container image: sync must skip it, not fail."""
    config, sbom = b"{}", json.dumps({"spdxVersion": "SPDX-2.3"}).encode()
    with RegistryClient(registry.host, insecure=True) as client:
        for blob in (config, sbom):
            client.upload_blob(repo, sha256_digest(blob), len(blob), blob)
        manifest = {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "artifactType": SBOM_TYPE,
            "config": {"mediaType": "application/vnd.oci.empty.v1+json", "digest": sha256_digest(config),
                       "size": len(config)},
            "layers": [{"mediaType": SBOM_TYPE, "digest": sha256_digest(sbom), "size": len(sbom)}],
        }  # fmt: skip
        data = json.dumps(manifest).encode()
        return client.put_manifest(repo, tag, data, manifest["mediaType"])


def broken_image(kit):
    """A real image whose second layer claims gzip but holds garbage: its scan fails."""
    garbage = os.urandom(4096)
    layer = BuiltLayer(garbage, sha256_digest(garbage), sha256_digest(garbage + b"x"), len(garbage),
                       "application/vnd.oci.image.layer.v1.tar+gzip")  # fmt: skip
    return kit.child(kit.debian, "broken", "1", layer, "RUN corrupt")


def sync(kw, registry, *extra: str):
    run = kw("registry", "sync", registry.host, "--insecure", "-q", "-f", "json", *extra)
    assert run.exit_code in (0, 2), run.stderr
    return run.exit_code, run.json()


def by_ref(report) -> dict[str, dict]:
    return {o["ref"].split("/", 1)[1]: o for o in report["outcomes"]}


def scan_times(url: str) -> dict[int, object]:
    store = open_store(url)
    try:
        with store.session() as session:
            return dict(session.execute(select(Scan.id, Scan.created_at)).all())
    finally:
        store.dispose()


@pytest.fixture
def db_url(store_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """Run the CLI on SQLite and on PostgreSQL."""
    monkeypatch.setenv("KEELWATCH_DB_URL", store_url)
    return store_url


def test_sync_records_tags_and_scans_only_new_digests(kit, own_registry, kw, db_url, monkeypatch) -> None:
    monkeypatch.setenv("KEELWATCH_ACTOR", "dan")  # any known actor may register candidates
    monkeypatch.setenv("KEELWATCH_TEAM", "shop-team")
    reg = own_registry
    names = ["base/debian:12", "base/python:3.11", "apps/web:1.0", "apps/web-plugin:1.0"]
    digests = kit.push_chain(
        reg, list(zip([kit.debian, kit.python, kit.app, kit.plugin], names, strict=True))
    )
    kit.push(kit.debian, f"{reg.host}/base/debian:latest")  # a second tag on a known digest
    push_artifact(reg, "apps/web", "sbom")
    broken = kit.push(broken_image(kit), f"{reg.host}/apps/broken:1")

    # 1. first sync, one entry per page: every digest scanned once, bases registered
    code, first = sync(kw, reg, "--page-size", "1", "--register-bases")
    assert code == 2  # the broken image failed; everything else was synced
    outcomes = by_ref(first)
    assert first["repositories"] == 5 and first["tags"] == 7
    scanned = {r for r, o in outcomes.items() if o["status"] == "scanned"}
    # :12 and :latest name one digest: whichever tag comes first is scanned, the other is not
    assert scanned - {"base/debian:12", "base/debian:latest"} == set(names[1:])
    debian_tags = [outcomes[t] for t in ("base/debian:12", "base/debian:latest")]
    assert sorted(o["status"] for o in debian_tags) == ["known", "scanned"]
    assert {o["digest"] for o in debian_tags} == {digests[0]}
    assert (
        outcomes["apps/web:sbom"]["status"] == "skipped"
        and "artifact" in outcomes["apps/web:sbom"]["message"]
    )
    assert outcomes["apps/broken:1"]["status"] == "failed"
    assert first["new_digests"] == 4 and first["registered"] == 2 and first["moved_tags"] == 0
    assert [outcomes[n]["digest"] for n in names] == digests
    registered = {r for r, o in outcomes.items() if o["registered"]}
    assert len(registered) == 2 and "base/python:3.11" in registered

    # the broken tag is deleted; the repository stays in the catalog with no tags
    with RegistryClient(reg.host, insecure=True) as client:
        scope = "repository:apps/broken:*"
        resp = client.request("DELETE", f"/v2/apps/broken/manifests/{broken}", scope=scope, what="delete")
        assert resp.status_code == 202
    before = scan_times(db_url)
    assert len(before) == 4

    # 2. nothing new: nothing scanned, every tag recorded again
    code, second = sync(kw, reg, "--register-bases")
    assert code == 0
    assert second["new_digests"] == 0 and second["moved_tags"] == 0 and second["registered"] == 0
    assert {o["status"] for o in second["outcomes"]} == {"known", "skipped"}
    assert scan_times(db_url) == before  # no scan row was written again

    # 3. the base is rebuilt under its tag, and a new tag names a known digest
    rebuilt = kit.push(kit.rebuilt, f"{reg.host}/base/debian:12")
    kit.push(kit.python, f"{reg.host}/base/python:stable", parent=(f"{reg.host}/base/debian:12", digests[0]))
    code, third = sync(kw, reg, "--register-bases")
    outcomes = by_ref(third)
    assert code == 0 and third["new_digests"] == 1 and third["moved_tags"] == 1
    moved = outcomes["base/debian:12"]
    assert (moved["status"], moved["previous"], moved["digest"]) == ("scanned", digests[0], rebuilt)
    assert (
        outcomes["base/python:stable"]["first_seen"] and outcomes["base/python:stable"]["status"] == "known"
    )
    assert third["registered"] == 1 and moved["registered"]  # the rebuild is a new candidate

    store = open_store(db_url)
    try:
        with store.session() as session:
            history = session.scalars(
                select(TagRecord.digest).where(TagRecord.tag == "12").order_by(TagRecord.first_seen)
            ).all()
            assert history == [digests[0], rebuilt]
            assert session.scalar(select(func.count()).select_from(BaseImage)) == 3
            python_refs = session.scalar(select(KnownImageRow.refs).where(KnownImageRow.key == digests[1]))
            assert sorted(python_refs) == [f"{reg.host}/base/python:3.11", f"{reg.host}/base/python:stable"]
    finally:
        store.dispose()

    # lineage of an application built on the old base now says so
    run = kw("lineage", f"{reg.host}/apps/web:1.0", "--insecure", "-q", "-f", "json")
    notes = run.json()["notes"]
    assert any(n.startswith(f"built on an outdated base: {reg.host}/base/debian:12") for n in notes), notes


def test_sync_of_one_namespace_with_a_multi_arch_index(kit, own_registry, kw, tmp_path) -> None:
    reg = own_registry
    (debian,) = kit.push_chain(reg, [(kit.debian, "base/debian:12")])
    kit.push(kit.python, f"{reg.host}/apps/py:1")
    kit.builder.write_multiarch(tmp_path, kit.debian)  # linux/amd64 + linux/arm64/v8 under one index
    index = push_layout(
        f"oci:{tmp_path / 'debian-base-multiarch'}:12", f"{reg.host}/base/multi:12", insecure=True
    )
    run = kw("registry", "sync", reg.host, "--insecure", "--namespace", "base/", "-q")
    assert run.exit_code == 0, run.stderr
    assert "2 repositories, 2 tags (2 new), 2 new digests scanned, 0 moved tags" in run.stdout
    report = kw("registry", "sync", reg.host, "--insecure", "--namespace", "base", "-f", "json", "-q").json()
    outcomes = by_ref(report)
    assert report["tags"] == 2 and report["new_digests"] == 0 and "apps/py:1" not in outcomes
    multi = outcomes["base/multi:12"]
    # the tag names the index; what is recorded and scanned is the platform's image
    assert multi["status"] == "known" and multi["digest"] not in (index.digest, debian)
    arm = kw(
        "registry",
        "sync",
        reg.host,
        "--insecure",
        "-n",
        "base/",
        "--platform",
        "linux/arm64/v8",
        "-f",
        "json",
    )
    outcomes = by_ref(arm.json())
    assert outcomes["base/multi:12"]["status"] == "scanned" and outcomes["base/multi:12"]["moved"] is False
    # a plain manifest (no index) is the tag's only image, whatever platform is asked for
    assert outcomes["base/debian:12"]["status"] == "known"


def test_sync_with_token_auth_and_the_catalog_scope(kit, registry_factory, kw, tmp_path, monkeypatch) -> None:
    reg = registry_factory(auth="token", users={"alice": "wonderland"})
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path / "anonymous"))
    denied = kw("registry", "sync", reg.host, "--insecure", "-q")
    assert denied.exit_code == 2 and denied.stderr.startswith("error: ")
    assert "Traceback" not in denied.stderr
    monkeypatch.setenv("DOCKER_CONFIG", str(reg.docker_config(tmp_path / "docker", "alice", "wonderland")))
    kit.push_chain(reg, [(kit.debian, "base/debian:12")])
    run = kw("registry", "sync", reg.host, "--insecure", "-q", "-f", "json")
    assert run.exit_code == 0, run.stderr
    report = run.json()
    assert report["repositories"] == 1 and report["new_digests"] == 1 and report["failed"] == 0


def test_sync_errors_are_one_line(kw, own_registry, tmp_path) -> None:
    run = kw("registry", "sync", "127.0.0.1:9", "--insecure", "-q")
    assert run.exit_code == 2 and run.stderr.startswith("error: cannot reach registry 127.0.0.1:9")
    run = kw("registry", "sync", "registry.example.com", "--insecure", "-q")
    assert run.exit_code == 2 and "only allowed for loopback" in run.stderr
    run = kw("registry", "sync", own_registry.host, "--insecure", "--register-bases", "-q")
    assert run.exit_code == 2 and "no actor configured" in run.stderr
