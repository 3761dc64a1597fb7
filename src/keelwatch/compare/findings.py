"""The little the comparisons need to know of a finding, independent of the matcher's model."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class FindingRef:
    id: str
    package: str
    package_type: str
    severity: str = "unknown"
    layer_index: int | None = None
    fixed_version: str | None = None

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.id, self.package_type, self.package)


SEVERITY_WEIGHT = {
    "critical": 10.0,
    "high": 5.0,
    "medium": 2.0,
    "low": 0.5,
    "negligible": 0.1,
    "unknown": 1.0,
}
