"""Memoisation shared across a fleet match: results per (ecosystem, name, version).

Thousands of images share most of their packages, so a fleet match asks the
knowledge base once per (ecosystem, name) and evaluates each distinct
(ecosystem, name, version) once; version keys are cached by the schemes themselves
(lru caches in `vulndb.versions`). One `MatchMemo` lives for one match run, so a
data update between runs is always seen.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from keelwatch.vulndb.ecosystems import Query


@dataclass(slots=True)
class Hit:
    """One record that affects one (ecosystem, name, version)."""

    advisory: Any  # Advisory
    fixed: list[str]
    statuses: list[str]
    entries: list[dict[str, Any]]


@dataclass(slots=True)
class MatchMemo:
    hits: dict[Query, list[Hit]] = field(default_factory=dict)
    warnings: dict[Query, list[str]] = field(default_factory=dict)
    evaluations: int = 0

    def get(self, query: Query, compute: Callable[[Query], tuple[list[Hit], list[str]]]) -> list[Hit]:
        found = self.hits.get(query)
        if found is not None:
            return found
        hits, warns = compute(query)
        self.evaluations += 1
        self.hits[query] = hits
        if warns:
            self.warnings[query] = warns
        return hits
