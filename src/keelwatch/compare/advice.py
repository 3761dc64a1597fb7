"""Base-upgrade advice: which approved base an image could move to, and what it would fix.

For each approved base of the same OS family, count the image's inherited findings
(those from base layers) that the candidate does not have; rank by the severity-
weighted count of findings that would disappear, then by fewest new ones. The
answer is a concrete FROM line pinned by digest.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from keelwatch.vulndb.findings import Finding
from keelwatch.vulndb.severity import Level

# How much one finding weighs in the ranking; unknown counts a little more than low
# (it may be anything) but far less than a known high.
SEVERITY_WEIGHT = {
    Level.CRITICAL: 10.0,
    Level.HIGH: 5.0,
    Level.MEDIUM: 2.0,
    Level.LOW: 0.5,
    Level.NEGLIGIBLE: 0.1,
    Level.UNKNOWN: 1.0,
}


@dataclass(slots=True)
class BaseCandidate:
    ref: str  # tag reference of the approved base
    digest: str
    os_id: str
    os_version: str
    findings: Sequence[Finding]


@dataclass(slots=True)
class Advice:
    ref: str
    digest: str
    from_line: str
    fixes: list[Finding] = field(default_factory=list)
    introduces: list[Finding] = field(default_factory=list)
    score: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "base": self.ref,
            "digest": self.digest,
            "from": self.from_line,
            "fixes": sorted({f.id for f in self.fixes}),
            "introduces": sorted({f.id for f in self.introduces}),
            "score": round(self.score, 2),
        }


def advise_bases(
    image_findings: Iterable[Finding],
    first_own_layer: int,
    os_id: str,
    candidates: Iterable[BaseCandidate],
    current_base_digest: str | None = None,
) -> list[Advice]:
    """Approved bases ranked by how much they would fix; only those that fix something."""
    inherited = [f for f in image_findings if f.layer_index is not None and f.layer_index < first_own_layer]
    inherited_keys = {(f.id, f.package.name) for f in inherited}
    ranked: list[Advice] = []
    for candidate in candidates:
        if candidate.os_id != os_id or candidate.digest == current_base_digest:
            continue
        candidate_keys = {(f.id, f.package.name) for f in candidate.findings}
        fixes = [f for f in inherited if (f.id, f.package.name) not in candidate_keys]
        introduces = [f for f in candidate.findings if (f.id, f.package.name) not in inherited_keys]
        score = sum(SEVERITY_WEIGHT[f.severity.rank] for f in fixes) - sum(
            SEVERITY_WEIGHT[f.severity.rank] for f in introduces
        )
        if not fixes:
            continue
        ranked.append(
            Advice(
                ref=candidate.ref,
                digest=candidate.digest,
                from_line=f"FROM {candidate.ref}@{candidate.digest}",
                fixes=fixes,
                introduces=introduces,
                score=score,
            )
        )
    return sorted(ranked, key=lambda a: (-a.score, len(a.introduces), a.ref))
