"""Lineage resolution: levels, layer attribution, annotations, outdated bases."""

from __future__ import annotations

import hashlib

from keelwatch.lineage.index import LineageIndex
from keelwatch.lineage.lineage import BASE_DIGEST, BASE_NAME, KnownImage, resolve_lineage


def d(label: str) -> str:
    return "sha256:" + hashlib.sha256(label.encode()).hexdigest()


BASE_OLD = KnownImage("sha256:old", (d("l1"),), refs=("reg/base/debian:12",), history_length=1)
BASE_NEW = KnownImage("sha256:new", (d("l1b"),), refs=("reg/base/debian:12",), history_length=1)
PY = KnownImage("sha256:py", (d("l1"), d("l2")), refs=("reg/base/python:3.12",), history_length=2)
APP = KnownImage("sha256:app", (d("l1"), d("l2"), d("l3"), d("l4")), refs=("reg/app:1",), history_length=4)


def _resolve(image: KnownImage, images: list[KnownImage], tags: dict[str, str] | None = None):
    index = LineageIndex(i.chain_image() for i in images)
    known = {i.key: i for i in images}
    return resolve_lineage(image, index, known, (tags or {}).get)


def test_three_levels_and_layer_attribution() -> None:
    lineage = _resolve(APP, [BASE_OLD, PY, APP])
    assert lineage.level == 3
    assert [(a.level, a.name) for a in lineage.ancestors] == [
        (1, "reg/base/debian:12"),
        (2, "reg/base/python:3.12"),
    ]
    assert lineage.layer_levels == [1, 2, 3, 3]
    assert lineage.first_own_layer == 2
    assert lineage.origin_of_layer(0) == "from base `reg/base/debian:12` (level 1)"
    assert lineage.origin_of_layer(1) == "from intermediate `reg/base/python:3.12` (level 2)"
    assert lineage.origin_of_layer(3) == "from this image"


def test_rebuilt_base_is_outdated_for_old_children() -> None:
    lineage = _resolve(APP, [BASE_OLD, BASE_NEW, PY, APP], tags={"reg/base/debian:12": "sha256:new"})
    assert lineage.ancestors[0].outdated and lineage.ancestors[0].current_digest == "sha256:new"
    assert any("outdated base" in note for note in lineage.notes)


def test_parent_known_only_from_annotations() -> None:
    child = KnownImage(
        "sha256:child",
        (d("zz1"), d("zz2")),
        annotations={BASE_NAME: "docker.io/library/debian:12", BASE_DIGEST: "sha256:upstream"},
    )
    lineage = _resolve(child, [child])
    assert lineage.level == 2
    parent = lineage.parent
    assert parent is not None and parent.source == "annotation" and not parent.scanned
    assert parent.name == "docker.io/library/debian:12"
    assert lineage.layer_levels == [2, 2]


def test_annotation_confirming_the_detected_parent_names_it() -> None:
    py = KnownImage(PY.key, PY.diff_ids, history_length=2, annotations={BASE_NAME: "reg/base/debian:12"})
    base = KnownImage(BASE_OLD.key, BASE_OLD.diff_ids, history_length=1)
    py_annotated = KnownImage(
        py.key,
        py.diff_ids,
        history_length=2,
        annotations={BASE_NAME: "reg/base/debian:12", BASE_DIGEST: base.key},
    )
    lineage = _resolve(py_annotated, [base, py_annotated])
    assert lineage.parent is not None and lineage.parent.name == "reg/base/debian:12"
    assert lineage.parent.source == "layers" and lineage.notes == []


def test_conflicting_annotation_is_noted() -> None:
    py = KnownImage(PY.key, PY.diff_ids, history_length=2, annotations={BASE_DIGEST: "sha256:elsewhere"})
    lineage = _resolve(py, [BASE_OLD, py])
    assert lineage.parent is not None and lineage.parent.key == BASE_OLD.key
    assert any("differs from the detected base" in note for note in lineage.notes)
