"""`keelwatch lineage`, `check` and `diff` on chains of 1 to 4 levels in a real registry."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.registry, pytest.mark.slow]


def chain(kit, registry, prefix: str, annotate: bool) -> tuple[list[str], list[str]]:
    refs = [f"{prefix}/base/debian:12", f"{prefix}/base/python:3.11", f"{prefix}/apps/web:1.0",
            f"{prefix}/apps/web-plugin:1.0"]  # fmt: skip
    images = [kit.debian, kit.python, kit.app, kit.plugin]
    digests = kit.push_chain(registry, list(zip(images, refs, strict=True)), annotate=annotate)
    return [f"{registry.host}/{r}" for r in refs], digests


def lineage(kw, ref: str) -> dict:
    run = kw("lineage", ref, "--insecure", "-q", "-f", "json")
    assert run.exit_code == 0, run.stderr
    return run.json()


@pytest.mark.parametrize("annotate", [True, False], ids=["annotated", "layers-only"])
def test_levels_and_parents_of_a_four_level_chain(kit, e2e_registry, kw, annotate: bool) -> None:
    refs, digests = chain(kit, e2e_registry, f"lin-{'a' if annotate else 'n'}", annotate)
    for level, ref in enumerate(refs, start=1):
        out = lineage(kw, ref)
        assert out["level"] == level
        ancestors = out["ancestors"]
        assert [a["level"] for a in ancestors] == list(range(1, level))
        assert [a["digest"] for a in ancestors] == digests[: level - 1]
        assert [a["name"] for a in ancestors] == refs[: level - 1]
        assert all(a["source"] == "layers" and a["scanned"] for a in ancestors)
        assert not out["notes"], out["notes"]
    # every layer is attributed to the level that added it (app-python adds two layers)
    assert out["layer_levels"] == [1, 2, 3, 3, 4]


def test_annotation_names_a_parent_that_was_never_scanned(kit, e2e_registry, kw) -> None:
    refs, digests = chain(kit, e2e_registry, "lin-ann-only", annotate=True)
    out = lineage(kw, refs[3])  # nothing else scanned in this store
    assert out["level"] == 2
    (parent,) = out["ancestors"]
    assert (parent["name"], parent["digest"], parent["source"]) == (refs[2], digests[2], "annotation")
    assert parent["scanned"] is False
    assert any("known only from annotations" in n for n in out["notes"])


POLICY = """\
apiVersion: keelwatch/v1
kind: Policy
name: depth-only
version: 1
rules:
  - id: max-depth
    type: max_lineage_depth
    max: 3
"""


def test_four_levels_fail_a_max_depth_three_policy(kit, e2e_registry, kw, tmp_path: Path) -> None:
    refs, _ = chain(kit, e2e_registry, "pol", annotate=True)
    policy = tmp_path / "policy.yaml"
    policy.write_text(POLICY)
    for ref in refs[:3]:
        run = kw("check", ref, "--policy", str(policy), "--insecure", "-q", "-f", "json")
        assert run.exit_code == 0, run.stdout + run.stderr
        (result,) = run.json()["results"]
        assert result["rule"] == "max-depth" and result["status"] == "pass"
    run = kw("check", refs[3], "--policy", str(policy), "--insecure", "-q", "-f", "json")
    assert run.exit_code == 1, run.stdout + run.stderr
    (result,) = run.json()["results"]
    assert result["status"] == "fail" and "lineage depth 4 exceeds 3" in result["message"]
    sarif = kw("check", refs[3], "--policy", str(policy), "--insecure", "-q", "-f", "sarif")
    assert sarif.exit_code == 1
    assert json.loads(sarif.stdout)["runs"][0]["results"][0]["ruleId"] == "max-depth"


def test_a_base_rebuilt_under_its_tag_makes_old_children_outdated(kit, e2e_registry, kw) -> None:
    refs, digests = chain(kit, e2e_registry, "rebuild", annotate=False)
    for ref in refs[:3]:
        lineage(kw, ref)
    before = lineage(kw, refs[2])
    assert not any(a["outdated"] for a in before["ancestors"])
    # the base is rebuilt and pushed under the same tag: a new digest
    new = kit.push(kit.rebuilt, refs[0])
    assert new != digests[0]
    rebuilt = lineage(kw, refs[0])  # keelwatch sees the tag move
    assert not any("outdated base" in n for n in rebuilt["notes"]), rebuilt["notes"]
    after = lineage(kw, refs[2])
    base = after["ancestors"][0]
    assert base["outdated"] and base["current_digest"] == new and base["digest"] == digests[0]
    assert any(n.startswith(f"built on an outdated base: {refs[0]}") for n in after["notes"])
    table = kw("lineage", refs[2], "--insecure", "-q")
    assert "built on an outdated base" in table.stdout
    history = kw("registry", "history", refs[0], "-f", "json").json()
    assert [h["digest"] for h in history] == [digests[0], new]


def test_diff_of_a_base_and_its_child(kit, e2e_registry, kw) -> None:
    refs, _ = chain(kit, e2e_registry, "diff", annotate=True)
    run = kw("diff", refs[0], refs[1], "--insecure", "-q", "-f", "json")
    assert run.exit_code == 0, run.stderr
    out = run.json()
    added = {(p["type"], p["name"], p["version"]) for p in out["packages"]["added"]}
    assert ("python", "pip", "24.3.1") in added and ("python", "six", "1.16.0") in added
    assert not out["packages"]["removed"] and not out["packages"]["changed"]
    layers = out["layers"]
    assert layers["shared"] == 1 and len(layers["only_b"]) == 1 and not layers["only_a"]
    # app-python -> plugin: werkzeug added; six 1.11.0 stays deleted by app-python's whiteout
    run = kw("diff", refs[2], refs[3], "--insecure", "-q", "-f", "json")
    assert {p["name"] for p in run.json()["packages"]["added"]} == {"werkzeug"}


def test_lineage_is_titled_with_the_name_given_and_lists_the_others(e2e_registry, kw, tmp_path: Path) -> None:
    """One digest, three names (an OCI layout, a registry tag, another spelling of that tag)."""
    from imagebuilder import FileEntry, make_layer
    from keelwatch.oci.push import push_layout

    builder = sys.modules["kw_build_images"]
    debian = builder.build_debian_base()
    builder.write_image(tmp_path, debian)
    local = f"oci:{tmp_path / debian.name}:{debian.tag}"
    ref = f"{e2e_registry.host}/lin-names/base/debian:12"
    digest = push_layout(local, ref, insecure=True).digest
    assert lineage(kw, local)["image"] == local
    out = lineage(kw, ref)  # first seen as the layout: still titled with the name given now
    assert (out["image"], out["aliases"]) == (ref, [local])
    out = lineage(kw, f"docker://{ref}")  # another spelling of the same name is not an alias
    assert (out["image"], out["aliases"]) == (f"docker://{ref}", [local])
    table = kw("lineage", ref, "--insecure", "-q")
    assert f"lineage of {ref} (level 1)" in table.stdout and f"also known as: {local}" in table.stdout
    app = builder.child(debian, "names-app", "1", [make_layer([FileEntry("app/x", b"x\n")])], ["ADD x"], "x")
    builder.write_image(tmp_path, app, base_annotations=False)
    (parent,) = lineage(kw, f"oci:{tmp_path / app.name}:1")["ancestors"]
    assert (parent["digest"], parent["name"], parent["aliases"]) == (digest, ref, [local])  # registry first
