"""Match a whole fleet's distinct packages once, and sum each scan's findings cheaply.

A fleet of 100,000 images holds only a few thousand distinct (type, name, version,
source, distro) packages. `match_distinct` evaluates each of them once against a
`KnowledgeBase`; a scan's findings are then the union of its packages' findings.

So that a scan's figures cost one C-level `sum` over its package ids (not a set union
per scan), each package's findings are also kept as one integer (`tally`): the low
`_BASE` bits hold a 64-bit digest of its finding keys (summed, order-independent), and
above them 24-bit counters: the total, then one per severity level. Summing the
integers of a scan's packages sums every field at once; `read_tally` splits the sum.
A finding key reported by two packages of one scan counts twice, as it did before.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import NamedTuple

from keelwatch.vulndb.ecosystems import query_parts
from keelwatch.vulndb.match import Matcher
from keelwatch.vulndb.model import KnowledgeBase
from keelwatch.vulndb.severity import LEVELS

FindingKey = tuple[str, str, str, str, str]  # (id, package type, name, version, severity level)
_FIELD = (1 << 24) - 1
_BASE = 96  # counters start above the digests' sum (64 bits + carries of up to 2**32 packages)


class FleetPackage(NamedTuple):
    """One distinct package of the fleet, as the store's package index holds it."""

    type: str
    name: str
    version: str
    source_name: str | None
    source_version: str | None
    distro: str | None  # "<os id>:<version id>"


@dataclass(slots=True)
class DistinctMatches:
    """Per distinct package id: its finding keys, their JSON list items, and their tally."""

    keys: dict[int, tuple[FindingKey, ...]] = field(default_factory=dict)
    fragments: dict[int, str] = field(default_factory=dict)  # a scan's stored list is a string join
    tallies: dict[int, int] = field(default_factory=dict)
    evaluations: int = 0
    warnings: list[str] = field(default_factory=list)


@dataclass(slots=True)
class ScanTally:
    """One scan's figures, read from the sum of its packages' tallies."""

    total: int
    by_level: dict[str, int]
    digest: str  # changes when the scan's finding keys change


def _digest(keys: tuple[FindingKey, ...]) -> int:
    """Stable 64-bit contribution of one package's findings (summed per scan, mod 2**64)."""
    total = 0
    for key in keys:
        h = hashlib.blake2b("\x1f".join(key).encode(), digest_size=8).digest()
        total += int.from_bytes(h, "big")
    return total


def tally(keys: tuple[FindingKey, ...]) -> int:
    """One package's findings as one integer: digest, total and per-level counters."""
    counts = Counter(k[4] for k in keys)
    value = _digest(keys) % 2**64 + (len(keys) << _BASE)
    for i, level in enumerate(LEVELS, 1):
        value += counts.get(level, 0) << (_BASE + 24 * i)
    return value


def read_tally(summed: int) -> ScanTally:
    """Split the sum of a scan's package tallies into its figures."""
    total = (summed >> _BASE) & _FIELD
    by_level = {lv: n for i, lv in enumerate(LEVELS, 1) if (n := (summed >> (_BASE + 24 * i)) & _FIELD)}
    return ScanTally(total, by_level, f"{summed % 2**64:016x}{total:x}")


def match_distinct(packages: Mapping[int, FleetPackage], kb: KnowledgeBase) -> DistinctMatches:
    """Evaluate every distinct package once (advisories prefetched in bulk)."""
    queries = {}
    for pid, p in packages.items():
        os_id, _, version_id = (p.distro or "").partition(":")
        queries[pid] = query_parts(
            p.type, p.name, p.version, p.source_name, p.source_version, os_id, version_id
        )
    matcher = Matcher(kb)
    wanted = [q for q in queries.values() if q is not None]
    matcher.prefetch(wanted)
    matcher.prepare(wanted)
    out = DistinctMatches()
    for pid, q in queries.items():
        p = packages[pid]
        flaws = matcher.flaws_for(q) if q is not None else []
        keys = tuple((f.id, p.type, p.name, p.version, f.severity.level) for f in flaws)
        out.keys[pid] = keys
        out.fragments[pid] = ",".join(
            json.dumps(list(k), separators=(",", ":"), ensure_ascii=False) for k in keys
        )
        out.tallies[pid] = tally(keys)
    out.evaluations = matcher.memo.evaluations
    out.warnings = sorted({w for ws in matcher.memo.warnings.values() for w in ws})
    return out
