"""The catalogue through the CLI on a real registry: add, approve, audit, similar, advise."""

from __future__ import annotations

import pytest

pytestmark = [pytest.mark.registry, pytest.mark.slow]

OLD_DEPS = ("requests==2.19.1", "urllib3==1.24.1", "idna==2.7", "certifi==2018.4.16")
NEW_DEPS = ("requests==2.32.3", "urllib3==2.2.3", "idna==3.10", "certifi==2024.8.30")
DEV = {"KEELWATCH_ACTOR": "dan", "KEELWATCH_TEAM": "shop-team"}
EXPERT = {"KEELWATCH_ACTOR": "erin", "KEELWATCH_TEAM": "platform-experts"}


def test_add_approve_audit_with_the_expert_team(kit, e2e_registry, kw) -> None:
    ref = f"{e2e_registry.host}/gov/base/debian:12"
    (digest,) = kit.push_chain(e2e_registry, [(kit.debian, "gov/base/debian:12")])
    run = kw("base", "add", ref, "--insecure", "--owning-team", "shop-team", "-q", env=DEV)
    assert run.exit_code == 0, run.stderr
    assert f"{ref} {digest}: registered as candidate" in run.stdout
    again = kw("base", "add", ref, "--insecure", "-q", env=DEV)
    assert "already in the catalogue (candidate)" in again.stdout

    denied = kw("base", "approve", ref, env=DEV)
    assert denied.exit_code == 2
    assert "only the expert team 'platform-experts' may" in denied.stderr
    nobody = kw("base", "approve", ref, env={"KEELWATCH_ACTOR": "", "KEELWATCH_TEAM": ""})
    assert nobody.exit_code == 2 and "no actor configured" in nobody.stderr
    approved = kw("base", "approve", ref, "--reason", "reviewed", env=EXPERT)
    assert approved.exit_code == 0 and approved.stdout.strip().endswith("approved")
    revoke = kw("base", "revoke", ref, env=EXPERT)
    assert revoke.exit_code == 2 and "revoke needs a reason" in revoke.stderr

    shown = kw("base", "show", ref).json()
    assert (shown["state"], shown["owning_team"], shown["version"]) == ("approved", "shop-team", "12")
    events = kw("base", "audit", ref, "-f", "json").json()
    assert [(e["action"], e["actor"], e["team"], e["from"], e["to"]) for e in events] == [
        ("register", "dan", "shop-team", "", "candidate"),
        ("approve", "erin", "platform-experts", "candidate", "approved"),
    ]  # refused attempts change nothing and log nothing
    assert events[1]["reason"] == "reviewed" and {e["digest"] for e in events} == {digest}


def independent_debian_with(kit, spec: str):
    """Another team's Debian base: the same OS tree plus one tool, built as its own single layer
    (not FROM debian-base), so only the package sets say it duplicates debian-base."""
    b = kit.builder
    tree = b.debian_tree()
    b.install_wheel(tree, kit.dl.wheel(spec))
    meta = b.oci_metadata("debian-tools", "12", "Debian 12 plus tools, built by another team")
    return b.Built("debian-tools", "12", [tree.layer()], [f"COPY rootfs / && pip install {spec}"], meta, meta)


def test_similar_finds_a_near_duplicate_base(kit, e2e_registry, kw) -> None:
    host = e2e_registry.host
    tools = independent_debian_with(kit, "click==8.1.7")
    kit.push_chain(e2e_registry, [(kit.debian, "sim/base/debian:12"), (kit.python, "sim/base/python:3.11")])
    kit.push(tools, f"{host}/sim/base/debian-tools:12")
    rpm = builder_rpm(kit)
    if rpm is not None:
        kit.push(rpm, f"{host}/sim/base/rpm:1")
    debian, dup, python, other_os = (
        f"{host}/sim/base/{n}" for n in ("debian:12", "debian-tools:12", "python:3.11", "rpm:1")
    )
    refs = [debian, dup, python] + ([other_os] if rpm is not None else [])
    assert kw("base", "add", *refs, "--insecure", "-q", env=DEV).exit_code == 0
    pairs = kw("base", "similar", "--threshold", "0.8", "-f", "json").json()
    pair = pairs[0]  # the most similar first
    assert {pair["a"], pair["b"]} == {debian, dup}, pairs
    # python-base is built FROM debian-base: lineage, not a duplicate; rpm-base is another OS
    paired = [{p["a"], p["b"]} for p in pairs]
    assert {debian, python} not in paired and not any(other_os in p for p in paired)
    only = pair["only_a"] + pair["only_b"]
    assert only == ["python:click"] and pair["score"] >= 0.9
    table = kw("base", "similar")
    assert "debian-tools:12" in table.stdout and "python:click" in table.stdout
    assert kw("base", "similar", "--threshold", "1.0", "-f", "json").json() == []


def builder_rpm(kit):
    import sys

    try:
        return sys.modules["kw_build_images"].build_rpm_base()
    except LookupError:
        return None


def test_advise_suggests_the_rebuilt_base_that_fixes_inherited_findings(
    kit, e2e_registry, kw, shared_data
) -> None:
    host = e2e_registry.host
    old = kit.child(
        kit.python, "pybase", "2019", kit.wheels_layer(OLD_DEPS), "RUN pip install " + " ".join(OLD_DEPS)
    )
    new = kit.child(
        kit.python, "pybase", "2024", kit.wheels_layer(NEW_DEPS), "RUN pip install " + " ".join(NEW_DEPS)
    )
    svc = kit.child(
        old, "svc", "1", kit.wheels_layer((), {"/app/svc.py": b"import requests\n"}), "COPY svc.py"
    )
    old_digest, _ = kit.push_chain(e2e_registry, [(old, "adv/base/pybase:2019"), (svc, "adv/apps/svc:1")])
    new_digest = kit.push(new, f"{host}/adv/base/pybase:2024")
    osv = shared_data / "osv" / "PyPI" / "all.zip"
    update = kw("db", "update", "--source", "osv", "--from", str(osv))
    assert update.exit_code == 0, update.stdout + update.stderr

    bases = [f"{host}/adv/base/pybase:2019", f"{host}/adv/base/pybase:2024"]
    assert kw("base", "add", *bases, "--insecure", "-q", env=DEV).exit_code == 0
    nothing = kw("base", "advise", f"{host}/adv/apps/svc:1", "--insecure", "-q", "-f", "json")
    assert nothing.exit_code == 0 and nothing.json() == []  # no approved base yet
    for ref in bases:
        assert kw("base", "approve", ref, env=EXPERT).exit_code == 0

    run = kw("base", "advise", f"{host}/adv/apps/svc:1", "--insecure", "-q", "-f", "json")
    assert run.exit_code == 0, run.stderr
    (advice,) = run.json()  # the image's own base is not advice
    assert advice["base"] == bases[1] and advice["digest"] == new_digest != old_digest
    assert advice["from"] == f"FROM {bases[1]}@{new_digest}"
    assert len(advice["fixes"]) >= 5 and not advice["introduces"]
    # the fixes are the old requests/urllib3 advisories the base layers brought in
    diff = kw("diff", bases[0], bases[1], "--insecure", "-q", "-f", "json").json()
    fixed = {f["id"] for f in diff["findings"]["fixed"]}
    assert set(advice["fixes"]) <= fixed and {f["package"] for f in diff["findings"]["fixed"]} >= {
        "requests",
        "urllib3",
    }
    table = kw("base", "advise", f"{host}/adv/apps/svc:1", "--insecure", "-q")
    assert f"FROM {bases[1]}@{new_digest}" in table.stdout
