"""The layer-chain trie: parents, levels, metadata-only children, removal."""

from __future__ import annotations

import hashlib
import random

from keelwatch.lineage.index import ChainImage, LineageIndex


def d(label: str) -> str:
    return "sha256:" + hashlib.sha256(label.encode()).hexdigest()


BASE = ChainImage("base", (d("l1"), d("l2")), history_length=2)
PY = ChainImage("py", (*BASE.diff_ids, d("l3")), history_length=4)
APP = ChainImage("app", (*PY.diff_ids, d("l4"), d("l5")), history_length=7)
APP_ENV_ONLY = ChainImage("app-env", APP.diff_ids, history_length=8)
PLUGIN = ChainImage("plugin", (*APP.diff_ids, d("l6")), history_length=9)


def test_nearest_parent_and_levels() -> None:
    index = LineageIndex([BASE, PY, APP, PLUGIN])
    assert index.parent_of(BASE) is None
    assert index.parent_of(PY) == BASE
    assert index.parent_of(APP) == PY
    assert index.parent_of(PLUGIN) == APP
    assert [i.key for i in index.ancestry(PLUGIN)] == ["app", "py", "base"]
    assert [index.level(i) for i in (BASE, PY, APP, PLUGIN)] == [1, 2, 3, 4]


def test_unknown_intermediate_is_skipped_to_the_nearest_known() -> None:
    index = LineageIndex([BASE, APP])
    assert index.parent_of(APP) == BASE
    assert index.level(APP) == 2


def test_metadata_only_child_derives_from_the_image_with_shorter_history() -> None:
    index = LineageIndex([BASE, PY, APP, APP_ENV_ONLY])
    assert index.parent_of(APP_ENV_ONLY) == APP
    assert index.parent_of(APP) == PY  # the longer-history twin is not its parent
    assert index.level(APP_ENV_ONLY) == 4


def test_same_content_twins_prefer_the_preferred_image() -> None:
    mirror = ChainImage("base-mirror", BASE.diff_ids, history_length=2, preference=1)
    index = LineageIndex([BASE, mirror, PY])
    assert index.parent_of(PY) == mirror


def test_children_and_removal() -> None:
    index = LineageIndex([BASE, PY, APP, PLUGIN])
    assert {c.key for c in index.children_of(PY)} == {"app", "plugin"}
    index.remove("app")
    assert index.parent_of(PLUGIN) == PY
    assert "app" not in index and len(index) == 3


def test_unrelated_image_has_no_parent() -> None:
    other = ChainImage("other", (d("x1"), d("l2")), history_length=2)
    index = LineageIndex([BASE, other])
    assert index.parent_of(other) is None


def test_random_forest_parent_is_longest_proper_prefix() -> None:
    """Against a brute-force definition on a random forest of chains."""
    rng = random.Random(7)
    images: list[ChainImage] = []
    for n in range(400):
        if images and rng.random() < 0.8:
            parent = rng.choice(images)
            chain = parent.diff_ids + tuple(d(f"{n}-{k}") for k in range(rng.randint(1, 3)))
        else:
            chain = tuple(d(f"{n}-root-{k}") for k in range(rng.randint(1, 4)))
        images.append(ChainImage(f"img{n}", chain, history_length=len(chain)))
    index = LineageIndex(images)
    for image in images:
        candidates = [
            o
            for o in images
            if len(o.diff_ids) < len(image.diff_ids) and image.diff_ids[: len(o.diff_ids)] == o.diff_ids
        ]
        expected = max(candidates, key=lambda o: len(o.diff_ids)) if candidates else None
        got = index.parent_of(image)
        assert (got.key if got else None) == (expected.key if expected else None)
