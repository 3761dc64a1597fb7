"""Lineage of a large fleet: build the diff_id trie, then resolve every image's parent chain.

Synthetic diff_id chains (issue 4 allows it): a forest of base images (level 1),
intermediates (level 2-3) and applications (level 2-4), like a real organisation's
registry. Prints index-build time and the time to resolve the full ancestry and
level of every image.

    uv run python bench/lineage_index.py --images 10000 --images 100000
"""

from __future__ import annotations

import argparse
import hashlib
import random
import time

from keelwatch.lineage.index import ChainImage, LineageIndex


def make_fleet(n: int, seed: int = 1) -> list[ChainImage]:
    rng = random.Random(seed)
    bases = max(10, n // 500)
    images: list[ChainImage] = []
    counter = 0

    def digest() -> str:
        nonlocal counter
        counter += 1
        return "sha256:" + hashlib.sha256(str(counter).encode()).hexdigest()

    for b in range(bases):
        chain = tuple(digest() for _ in range(rng.randint(1, 3)))
        images.append(ChainImage(f"base{b}", chain, history_length=len(chain)))
    intermediates: list[ChainImage] = []
    for m in range(bases * 4):
        parent = rng.choice(images[:bases] + intermediates)
        chain = parent.diff_ids + tuple(digest() for _ in range(rng.randint(1, 3)))
        intermediates.append(ChainImage(f"mid{m}", chain, history_length=len(chain)))
    images.extend(intermediates)
    while len(images) < n:
        parent = rng.choice(images[: bases + len(intermediates)])
        chain = parent.diff_ids + tuple(digest() for _ in range(rng.randint(1, 6)))
        images.append(ChainImage(f"app{len(images)}", chain, history_length=len(chain)))
    return images


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--images", type=int, action="append", help="fleet sizes (repeatable)")
    sizes = parser.parse_args().images or [1_000, 10_000, 100_000]
    print("| images | build index (s) | resolve all lineages (s) | per image (µs) | max level |")
    print("|---:|---:|---:|---:|---:|")
    for n in sizes:
        fleet = make_fleet(n)
        t0 = time.perf_counter()
        index = LineageIndex(fleet)
        t1 = time.perf_counter()
        levels = [index.level(image) for image in fleet]
        t2 = time.perf_counter()
        per = (t2 - t1) / n * 1e6
        print(f"| {n:,} | {t1 - t0:.3f} | {t2 - t1:.3f} | {per:.1f} | {max(levels)} |")


if __name__ == "__main__":
    main()
