"""`keelwatch diff A B`: what changed between two images.

Packages added, removed and changed (by type and name), findings fixed and
introduced, layers shared and different, metadata (labels, annotations, OS) changes.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from keelwatch.model import Package, ScanResult
from keelwatch.vulndb.findings import Finding


@dataclass(slots=True)
class PackageChange:
    type: str
    name: str
    before: str
    after: str

    def to_dict(self) -> dict[str, str]:
        return {"type": self.type, "name": self.name, "before": self.before, "after": self.after}


@dataclass(slots=True)
class ImageDiff:
    a: str
    b: str
    added: list[Package] = field(default_factory=list)
    removed: list[Package] = field(default_factory=list)
    changed: list[PackageChange] = field(default_factory=list)
    findings_fixed: list[Finding] = field(default_factory=list)
    findings_introduced: list[Finding] = field(default_factory=list)
    shared_layers: int = 0
    layers_only_a: list[str] = field(default_factory=list)
    layers_only_b: list[str] = field(default_factory=list)
    metadata: dict[str, tuple[str | None, str | None]] = field(default_factory=dict)

    @property
    def identical(self) -> bool:
        return not (self.added or self.removed or self.changed or self.layers_only_a or self.layers_only_b)

    def to_dict(self) -> dict[str, Any]:
        def pkg(p: Package) -> dict[str, str]:
            return {"type": p.type, "name": p.name, "version": p.version}

        def fnd(f: Finding) -> dict[str, Any]:
            return {
                "id": f.id,
                "package": f.package.name,
                "type": f.package.type,
                "severity": f.severity.level,
            }

        return {
            "a": self.a,
            "b": self.b,
            "packages": {
                "added": [pkg(p) for p in self.added],
                "removed": [pkg(p) for p in self.removed],
                "changed": [c.to_dict() for c in self.changed],
            },
            "findings": {
                "fixed": [fnd(f) for f in self.findings_fixed],
                "introduced": [fnd(f) for f in self.findings_introduced],
            },
            "layers": {
                "shared": self.shared_layers,
                "only_a": self.layers_only_a,
                "only_b": self.layers_only_b,
            },
            "metadata": {k: {"a": v[0], "b": v[1]} for k, v in self.metadata.items()},
        }


def _by_name(packages: Iterable[Package]) -> dict[tuple[str, str], list[str]]:
    out: dict[tuple[str, str], list[str]] = {}
    for p in packages:
        out.setdefault((p.type, p.name), []).append(p.version)
    return {k: sorted(set(v)) for k, v in out.items()}


def diff_images(
    a: ScanResult,
    b: ScanResult,
    findings_a: Iterable[Finding] = (),
    findings_b: Iterable[Finding] = (),
) -> ImageDiff:
    result = ImageDiff(a.image.ref, b.image.ref)
    names_a, names_b = _by_name(a.packages), _by_name(b.packages)
    first_a = {(p.type, p.name): p for p in a.packages}
    first_b = {(p.type, p.name): p for p in b.packages}
    for key in sorted(names_b.keys() - names_a.keys()):
        result.added.append(first_b[key])
    for key in sorted(names_a.keys() - names_b.keys()):
        result.removed.append(first_a[key])
    for key in sorted(names_a.keys() & names_b.keys()):
        if names_a[key] != names_b[key]:
            result.changed.append(
                PackageChange(key[0], key[1], ", ".join(names_a[key]), ", ".join(names_b[key]))
            )
    fa = {_flaw_in_package(f): f for f in findings_a}
    fb = {_flaw_in_package(f): f for f in findings_b}
    result.findings_fixed = [fa[k] for k in sorted(fa.keys() - fb.keys())]
    result.findings_introduced = [fb[k] for k in sorted(fb.keys() - fa.keys())]
    chain_a = [layer.diff_id for layer in a.image.layers]
    chain_b = [layer.diff_id for layer in b.image.layers]
    shared = 0
    while shared < min(len(chain_a), len(chain_b)) and chain_a[shared] == chain_b[shared]:
        shared += 1
    result.shared_layers = shared
    result.layers_only_a = chain_a[shared:]
    result.layers_only_b = chain_b[shared:]
    result.metadata = _metadata_changes(a, b)
    return result


def _flaw_in_package(f: Finding) -> tuple[str, str, str]:
    """A finding across two images: the same flaw in the same package, whatever its version."""
    return (f.id, f.package.type, f.package.name)


def _metadata_changes(a: ScanResult, b: ScanResult) -> dict[str, tuple[str | None, str | None]]:
    def flat(scan: ScanResult) -> dict[str, str]:
        out = {f"label:{k}": v for k, v in scan.image.labels.items()}
        out.update({f"annotation:{k}": v for k, v in scan.image.annotations.items()})
        os_info = scan.image.os
        out["os"] = f"{os_info.id} {os_info.version_id}".strip()
        return out

    fa, fb = flat(a), flat(b)
    return {k: (fa.get(k), fb.get(k)) for k in sorted(fa.keys() | fb.keys()) if fa.get(k) != fb.get(k)}
