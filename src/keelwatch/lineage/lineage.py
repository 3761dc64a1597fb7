"""Resolve an image's full base-image lineage: parent, grandparent, … and the level of each layer.

Two sources of truth, combined:
- layers: the trie in `index.LineageIndex` (works for any image keelwatch knows);
- annotations: `org.opencontainers.image.base.name` / `base.digest` on the manifest
  (or the same keys as config labels), which name a parent even when it was never scanned.

The chain also tells which level each layer came from, so every package and finding
can be attributed: "from base X (level 1)", "from intermediate Y (level 2)", "from this image".
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from keelwatch.lineage.index import ChainImage, LineageIndex

BASE_NAME = "org.opencontainers.image.base.name"
BASE_DIGEST = "org.opencontainers.image.base.digest"


@dataclass(slots=True)
class KnownImage:
    """An image as the lineage resolver sees it: its chain plus names and metadata."""

    key: str  # manifest digest (or config digest when there is no manifest)
    diff_ids: tuple[str, ...]
    refs: tuple[str, ...] = ()  # names it was seen under: "registry/base/debian:12-20261101"
    history_length: int = 0
    annotations: Mapping[str, str] = field(default_factory=dict)
    labels: Mapping[str, str] = field(default_factory=dict)
    preference: int = 0

    def chain_image(self) -> ChainImage:
        return ChainImage(self.key, self.diff_ids, self.history_length, self.preference)

    @property
    def display_name(self) -> str:
        return self.refs[0] if self.refs else self.key

    @property
    def aliases(self) -> list[str]:
        """Its other names: the same digest seen under other references."""
        return list(self.refs[1:])

    def base_annotation(self) -> tuple[str | None, str | None]:
        """(base name, base digest) from manifest annotations, else config labels."""
        name = self.annotations.get(BASE_NAME) or self.labels.get(BASE_NAME)
        digest = self.annotations.get(BASE_DIGEST) or self.labels.get(BASE_DIGEST)
        return name, digest


@dataclass(slots=True)
class Ancestor:
    """One level of an image's lineage."""

    level: int  # 1 = root base image
    key: str | None  # digest, when known
    name: str  # best name: a ref, or the annotation's base name, or the digest
    source: str  # "layers" (detected from the chain) or "annotation" (declared only)
    scanned: bool  # False when known only from an annotation
    layer_count: int | None  # how many of the image's layers this level's chain covers
    outdated: bool = False  # its tag now points at another digest
    current_digest: str | None = None  # what its tag points at now, when outdated
    aliases: list[str] = field(default_factory=list)  # its other names

    def to_dict(self) -> dict[str, Any]:
        return {
            "level": self.level,
            "digest": self.key,
            "name": self.name,
            "aliases": list(self.aliases),
            "source": self.source,
            "scanned": self.scanned,
            "layer_count": self.layer_count,
            "outdated": self.outdated,
            "current_digest": self.current_digest,
        }


@dataclass(slots=True)
class Lineage:
    """The resolved lineage of one image: ancestors root first, and per-layer levels."""

    image: str
    ancestors: list[Ancestor]
    level: int  # this image's own level
    layer_levels: list[int]  # for every layer of the image, the level that added it
    notes: list[str] = field(default_factory=list)
    aliases: list[str] = field(default_factory=list)  # the image's other names (same digest)

    @property
    def parent(self) -> Ancestor | None:
        return self.ancestors[-1] if self.ancestors else None

    @property
    def first_own_layer(self) -> int:
        """Index of the first layer this image added itself (len(layers) if none)."""
        for index, level in enumerate(self.layer_levels):
            if level == self.level:
                return index
        return len(self.layer_levels)

    def origin_of_layer(self, layer_index: int | None) -> str:
        """Human wording for where a layer came from, as findings are attributed."""
        if layer_index is None or layer_index >= len(self.layer_levels):
            return "from this image"
        level = self.layer_levels[layer_index]
        if level == self.level:
            return "from this image"
        ancestor = next(a for a in self.ancestors if a.level == level)
        kind = "base" if level == 1 else "intermediate"
        return f"from {kind} `{ancestor.name}` (level {level})"

    def to_dict(self) -> dict[str, Any]:
        return {
            "image": self.image,
            "aliases": list(self.aliases),
            "level": self.level,
            "ancestors": [a.to_dict() for a in self.ancestors],
            "layer_levels": list(self.layer_levels),
            "notes": list(self.notes),
        }


TagResolver = Callable[[str], str | None]


def resolve_lineage(
    image: KnownImage,
    index: LineageIndex,
    known: Mapping[str, KnownImage],
    current_digest: TagResolver | None = None,
) -> Lineage:
    """Lineage of `image` from the layer index, completed by its base annotations.

    `known` maps keys to every indexed image (for names and annotations);
    `current_digest(ref)` tells what a tag points at now, to flag outdated bases.
    """
    detected = [known.get(c.key) for c in reversed(index.ancestry(image.chain_image()))]
    chain = [k for k in detected if k is not None]
    notes: list[str] = []
    ancestors: list[Ancestor] = []
    for level, ancestor in enumerate(chain, start=1):
        ancestors.append(
            Ancestor(
                level=level,
                key=ancestor.key,
                name=ancestor.display_name,
                source="layers",
                scanned=True,
                layer_count=len(ancestor.diff_ids),
                aliases=ancestor.aliases,
            )
        )
    _apply_annotation(image, known, ancestors, notes)
    if current_digest is not None:
        _flag_outdated(ancestors, current_digest, notes, image.key, known)
    level = len(ancestors) + 1
    return Lineage(
        image=image.display_name,
        aliases=image.aliases,
        ancestors=ancestors,
        level=level,
        layer_levels=_layer_levels(len(image.diff_ids), ancestors, level),
        notes=notes,
    )


def _apply_annotation(
    image: KnownImage, known: Mapping[str, KnownImage], ancestors: list[Ancestor], notes: list[str]
) -> None:
    """Add (or confirm) the parent an image declares in its base annotations."""
    name, digest = image.base_annotation()
    if not (name or digest):
        return
    parent = ancestors[-1] if ancestors else None
    if parent is not None and digest and parent.key == digest:
        if name and name != parent.name:
            parent.aliases = [n for n in (parent.name, *parent.aliases) if n != name]
            parent.name = name
        return
    if parent is not None and digest and parent.key != digest:
        notes.append(
            f"declared base {name or digest} ({digest}) differs from the detected base "
            f"{parent.name} ({parent.key})"
        )
        return
    if parent is not None:
        return  # a name without digest: the layer-detected parent stands
    declared = known.get(digest) if digest else None
    if declared is not None and declared.diff_ids != image.diff_ids[: len(declared.diff_ids)]:
        notes.append(f"declared base {name or digest} does not share its layers with this image")
    ancestors.append(
        Ancestor(
            level=1,
            key=digest,
            name=name or digest or "",
            source="annotation",
            scanned=declared is not None,
            layer_count=len(declared.diff_ids) if declared is not None else None,
        )
    )
    notes.append(
        f"base {name or digest} is known only from annotations; its own parents are not known, "
        "so levels count from it"
    )


def _flag_outdated(
    ancestors: list[Ancestor],
    current_digest: TagResolver,
    notes: list[str],
    own_key: str,
    known: Mapping[str, KnownImage],
) -> None:
    """A base whose tag now points at another digest: the image is built on an outdated base.

    Every tag the base was seen under counts (its display name is just the first one), and
    not when the tag now points at the image itself: a rebuild layered on its own previous
    version is that tag's newest build, not a child of an outdated base.
    """
    for ancestor in ancestors:
        if not ancestor.key:
            continue
        seen_as = known[ancestor.key].refs if ancestor.key in known else ()
        for name in dict.fromkeys((ancestor.name, *seen_as)):
            if "@" in name or name == ancestor.key:
                continue
            now = current_digest(name)
            if now and now != ancestor.key and now != own_key:
                ancestor.outdated = True
                ancestor.current_digest = now
                notes.append(
                    f"built on an outdated base: {name} was {ancestor.key}, now points at {now}; "
                    "rebuild to pick up the new base"
                )
                break


def _layer_levels(n_layers: int, ancestors: list[Ancestor], own_level: int) -> list[int]:
    """For each layer index, the level whose chain first contains it."""
    levels = [own_level] * n_layers
    start = 0
    for ancestor in ancestors:
        if ancestor.layer_count is None:
            continue
        end = min(ancestor.layer_count, n_layers)
        for i in range(start, end):
            levels[i] = ancestor.level
        start = max(start, end)
    return levels
