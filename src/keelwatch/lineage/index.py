"""Find each image's parent from its layer chain, fast for tens of thousands of images.

An image built FROM another starts with that image's full layer chain
(config `rootfs.diff_ids`): so the parent is the known image whose whole
chain is the longest strict prefix of this image's chain. A trie over
diff_id chains answers that in O(chain length) per lookup, whatever the
number of images.

Images with the same chain (a retag, a copy in another registry, or a child
that only changed metadata such as ENV or LABEL) end at the same trie node;
`history` (config history entry count) then tells a metadata-only child from
its parent: the one with the longer history derives from the other.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class ChainImage:
    """What the index needs to know of an image: an id and its diff_id chain."""

    key: str  # a unique id: usually the manifest (or config) digest
    diff_ids: tuple[str, ...]
    history_length: int = 0  # number of config history entries, empty layers included
    preference: int = 0  # higher wins among equal candidates (e.g. approved catalogue images)


@dataclass(slots=True)
class _Node:
    children: dict[str, _Node] = field(default_factory=dict)
    images: list[ChainImage] = field(default_factory=list)


class LineageIndex:
    """A trie of diff_id chains over every image keelwatch knows."""

    def __init__(self, images: Iterable[ChainImage] = ()) -> None:
        self._root = _Node()
        self._by_key: dict[str, ChainImage] = {}
        for image in images:
            self.add(image)

    def __len__(self) -> int:
        return len(self._by_key)

    def __contains__(self, key: str) -> bool:
        return key in self._by_key

    def get(self, key: str) -> ChainImage | None:
        return self._by_key.get(key)

    def add(self, image: ChainImage) -> None:
        """Insert (or replace) an image; replacing keeps the index consistent."""
        if image.key in self._by_key:
            self.remove(image.key)
        node = self._root
        for diff_id in image.diff_ids:
            node = node.children.setdefault(diff_id, _Node())
        node.images.append(image)
        self._by_key[image.key] = image

    def remove(self, key: str) -> None:
        image = self._by_key.pop(key, None)
        if image is None:
            return
        node = self._walk(image.diff_ids)
        if node is not None:
            node.images = [i for i in node.images if i.key != key]

    def _walk(self, chain: Sequence[str]) -> _Node | None:
        node = self._root
        for diff_id in chain:
            nxt = node.children.get(diff_id)
            if nxt is None:
                return None
            node = nxt
        return node

    def parent_of(self, image: ChainImage) -> ChainImage | None:
        """The nearest known image this one derives from, or None for a root (level 1)."""
        chain = image.diff_ids
        node = self._root
        best: ChainImage | None = None
        for depth, diff_id in enumerate(chain):
            node = node.children.get(diff_id)  # type: ignore[assignment]
            if node is None:
                break
            if depth == len(chain) - 1:
                # Same chain: only an image with a strictly shorter history can be the parent.
                same = [
                    i for i in node.images if i.key != image.key and i.history_length < image.history_length
                ]
                if same:
                    return _pick(same)
            elif node.images:
                best = _pick(node.images)
        return best

    def ancestry(self, image: ChainImage, limit: int = 64) -> list[ChainImage]:
        """Parent, grandparent, … up to the root (nearest first). `limit` guards cycles."""
        chain: list[ChainImage] = []
        seen = {image.key}
        current = self.parent_of(image)
        while current is not None and current.key not in seen and len(chain) < limit:
            chain.append(current)
            seen.add(current.key)
            current = self.parent_of(current)
        return chain

    def level(self, image: ChainImage) -> int:
        """1 for an image with no known parent, its parent's level + 1 otherwise."""
        return len(self.ancestry(image)) + 1

    def children_of(self, image: ChainImage) -> list[ChainImage]:
        """Every known image that derives (directly or not) from this one."""
        node = self._walk(image.diff_ids)
        if node is None:
            return []
        found: list[ChainImage] = [
            i for i in node.images if i.key != image.key and i.history_length > image.history_length
        ]
        stack = list(node.children.values())
        while stack:
            current = stack.pop()
            found.extend(current.images)
            stack.extend(current.children.values())
        return found


def _pick(candidates: list[ChainImage]) -> ChainImage:
    """Deterministic choice among images with the same chain: the nearest (longest history)
    first, then the preferred one (e.g. approved in the catalogue), then the key."""
    return max(candidates, key=lambda i: (i.history_length, i.preference, i.key))
