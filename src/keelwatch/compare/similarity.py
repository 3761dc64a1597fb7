"""Near-duplicate base images: merge candidates for the expert team.

Two catalogue images are near-duplicates when they run the same OS release and
their package sets mostly overlap; similar repository names make the case
stronger. Scores are explained (the numbers and the differences), never a
bare verdict.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from difflib import SequenceMatcher
from typing import Any

from keelwatch.model import ScanResult
from keelwatch.oci.reference import try_parse


@dataclass(slots=True)
class SimilarPair:
    a: str
    b: str
    same_os: bool
    name_similarity: float  # 0..1, repository names
    package_similarity: float  # Jaccard of (type, name) sets
    version_similarity: float  # Jaccard of (type, name, version) sets
    only_a: list[str] = field(default_factory=list)
    only_b: list[str] = field(default_factory=list)

    @property
    def score(self) -> float:
        return 0.6 * self.package_similarity + 0.25 * self.version_similarity + 0.15 * self.name_similarity

    def to_dict(self) -> dict[str, Any]:
        return {
            "a": self.a,
            "b": self.b,
            "score": round(self.score, 3),
            "same_os": self.same_os,
            "name_similarity": round(self.name_similarity, 3),
            "package_similarity": round(self.package_similarity, 3),
            "version_similarity": round(self.version_similarity, 3),
            "only_a": self.only_a,
            "only_b": self.only_b,
        }


def _jaccard(a: set[Any], b: set[Any]) -> float:
    return len(a & b) / len(a | b) if a or b else 1.0


def _layered(a: ScanResult, b: ScanResult) -> bool:
    """One image is built on the other (its layers start with all of the other's): a base and
    its derivative share the OS packages by construction, so that is lineage, not duplication."""
    la = [layer.diff_id for layer in a.image.layers]
    lb = [layer.diff_id for layer in b.image.layers]
    short, long = sorted((la, lb), key=len)
    return bool(short) and len(short) < len(long) and long[: len(short)] == short


def similar_images(
    scans: Sequence[ScanResult], threshold: float = 0.85, max_listed: int = 20
) -> list[SimilarPair]:
    """Pairs of images of the same OS whose score reaches `threshold`, most similar first."""
    prepared = []
    for scan in scans:
        names = {(p.type, p.name) for p in scan.packages}
        versions = {(p.type, p.name, p.version) for p in scan.packages}
        os_key = (scan.image.os.id, scan.image.os.version_id)
        ref = try_parse(scan.image.ref)
        repository = ref.repo_path if ref is not None else scan.image.ref
        prepared.append((scan, names, versions, os_key, repository.rsplit("/", 1)[-1]))
    pairs: list[SimilarPair] = []
    for i, (sa, na, va, osa, ra) in enumerate(prepared):
        for sb, nb, vb, osb, rb in prepared[i + 1 :]:
            if osa != osb or sa.image.digest == sb.image.digest and sa.image.digest:
                continue
            if _layered(sa, sb):
                continue
            pair = SimilarPair(
                sa.image.ref,
                sb.image.ref,
                same_os=True,
                name_similarity=SequenceMatcher(None, ra, rb).ratio(),
                package_similarity=_jaccard(na, nb),
                version_similarity=_jaccard(va, vb),
                only_a=sorted(f"{t}:{n}" for t, n in na - nb)[:max_listed],
                only_b=sorted(f"{t}:{n}" for t, n in nb - na)[:max_listed],
            )
            if pair.score >= threshold:
                pairs.append(pair)
    return sorted(pairs, key=lambda p: -p.score)
