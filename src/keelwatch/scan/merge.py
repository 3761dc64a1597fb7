"""Per-layer catalogues and their merge into one image with OCI whiteout semantics.

A `LayerCatalogue` is what one layer contributes, independent of the layers below
it (so it can be cached by diff_id): the cataloger results of every matching file,
the paths it removes (whiteouts, opaque directories) and its links. Merging applies
them in order as the OCI image spec describes: `.wh.NAME` removes NAME and all below
it from lower layers, `.wh..wh..opq` hides every lower-layer child of its directory,
and a later entry at a path replaces the earlier one.

Layer attribution: after each layer the visible package set is computed; a package
keeps the layer where it appeared in an unbroken run up to the top, i.e. the layer
that last introduced or changed it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from keelwatch.catalog.base import FileResult
from keelwatch.model import OSInfo, Package
from keelwatch.oci.layers import resolve_path

FORMAT = 2  # bump when the catalogue's JSON shape changes
OSRELEASE = "osrelease"
# Where the OS identity is read from, best first (os-release(5)).
_OS_FILES = ("/etc/os-release", "/usr/lib/os-release")


@dataclass
class LayerCatalogue:
    """What one layer contributes. `files[path]` is None when a non-file replaced the path."""

    files: dict[str, dict[str, FileResult] | None] = field(default_factory=dict)
    whiteouts: list[str] = field(default_factory=list)
    opaque: list[str] = field(default_factory=list)
    symlinks: dict[str, str] = field(default_factory=dict)
    hardlinks: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    # Files at other paths that a symlink may make catalogued (see keelwatch.scan.aliases):
    # parsed, but reported only if the final image's links lead a catalogued path to them.
    candidates: dict[str, dict[str, FileResult]] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "files": {
                path: None if results is None else _results_json(results)
                for path, results in self.files.items()
            },
            "candidates": {path: _results_json(results) for path, results in self.candidates.items()},
            "whiteouts": self.whiteouts,
            "opaque": self.opaque,
            "symlinks": self.symlinks,
            "hardlinks": self.hardlinks,
            "warnings": self.warnings,
        }

    @classmethod
    def from_json(cls, data: Any) -> LayerCatalogue:
        """Strict: anything of the wrong shape raises ValueError (cache files may be tampered with)."""
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise ValueError("unknown catalogue format")
        files: dict[str, dict[str, FileResult] | None] = {
            _str(path): None if results is None else _results(results)
            for path, results in _dict(data["files"]).items()
        }
        return cls(
            candidates={_str(p): _results(r) for p, r in _dict(data["candidates"]).items()},
            files=files,
            whiteouts=[_str(p) for p in _list(data["whiteouts"])],
            opaque=[_str(p) for p in _list(data["opaque"])],
            symlinks={_str(k): _str(v) for k, v in _dict(data["symlinks"]).items()},
            hardlinks={_str(k): _str(v) for k, v in _dict(data["hardlinks"]).items()},
            warnings=[_str(w) for w in _list(data["warnings"])],
        )


def _results_json(results: dict[str, FileResult]) -> dict[str, Any]:
    return {
        name: {"packages": [p.to_dict() for p in r.packages], "facts": r.facts, "warnings": r.warnings}
        for name, r in results.items()
    }


def _results(data: Any) -> dict[str, FileResult]:
    return {
        _str(name): FileResult(
            packages=[_package(p) for p in _list(r["packages"])],
            facts=_dict(r["facts"]),
            warnings=[_str(w) for w in _list(r["warnings"])],
        )
        for name, r in _dict(data).items()
    }


def _dict(v: Any) -> dict[str, Any]:
    if not isinstance(v, dict):
        raise ValueError("expected an object")
    return v


def _list(v: Any) -> list[Any]:
    if not isinstance(v, list):
        raise ValueError("expected a list")
    return v


def _str(v: Any) -> str:
    if not isinstance(v, str):
        raise ValueError("expected a string")
    return v


def _package(d: Any) -> Package:
    p = Package.from_dict(_dict(d))
    if not (isinstance(p.name, str) and isinstance(p.version, str) and isinstance(p.type, str)):
        raise ValueError("invalid package")
    if not isinstance(p.locations, list) or not isinstance(p.metadata, dict):
        raise ValueError("invalid package")
    return p


@dataclass
class Merged:
    """The visible image after all layers: attributed packages, facts and the OS."""

    packages: dict[str, list[Package]]  # per cataloger name
    facts: dict[str, list[tuple[str, dict[str, Any]]]]  # per cataloger name
    os_info: OSInfo
    warnings: list[str]


def _under(path: str, roots: set[str], include_self: bool) -> bool:
    """Is `path` one of `roots` (if include_self) or below one of them?"""
    if include_self and path in roots:
        return True
    if "/" in roots:
        return path != "/"
    cut = path.rfind("/")
    while cut > 0:
        path = path[:cut]
        if path in roots:
            return True
        cut = path.rfind("/")
    return False


def _remove(state: dict[str, Any], whiteouts: set[str], opaque: set[str]) -> bool:
    doomed = [
        p
        for p in state
        if (whiteouts and _under(p, whiteouts, True)) or (opaque and _under(p, opaque, False))
    ]
    for p in doomed:
        del state[p]
    return bool(doomed)


def _apply_links(symlinks: dict[str, str], layer: LayerCatalogue) -> None:
    """One layer's effect on the visible symlinks: removals, files replacing links, new links."""
    if layer.whiteouts or layer.opaque:
        _remove(symlinks, set(layer.whiteouts), set(layer.opaque))
    for path, results in layer.files.items():
        if results is not None:
            symlinks.pop(path, None)
    symlinks.update(layer.symlinks)


def visible_symlinks(layers: Sequence[LayerCatalogue]) -> dict[str, str]:
    """The symlinks of the final image (as far as the catalogues recorded them)."""
    symlinks: dict[str, str] = {}
    for layer in layers:
        _apply_links(symlinks, layer)
    return symlinks


def merge_layers(
    layers: Sequence[LayerCatalogue],
    diff_ids: Sequence[str | None],
) -> Merged:
    """Apply the layers in order; attribute each visible package to its layer."""
    files: dict[str, tuple[int, dict[str, FileResult]]] = {}
    symlinks: dict[str, str] = {}
    first_seen: dict[tuple[str, str, str, str], int] = {}
    warnings: list[str] = []
    for index, layer in enumerate(layers):
        warnings.extend(f"layer {index}: {w}" for w in layer.warnings)
        changed = False
        if layer.whiteouts or layer.opaque:
            changed = _remove(files, set(layer.whiteouts), set(layer.opaque))
        for path, results in layer.files.items():
            changed = changed or path in files or bool(results)
            if results is None:
                files.pop(path, None)
            else:
                files[path] = (index, results)
        _apply_links(symlinks, layer)
        if changed or index == 0:
            first_seen = {key: first_seen.get(key, index) for key in _keys(r for _, r in files.values())}

    packages: dict[str, list[Package]] = {}
    facts: dict[str, list[tuple[str, dict[str, Any]]]] = {}
    seen: set[tuple[str, str, str, str]] = set()
    for path in sorted(files):
        _, results = files[path]
        for name, result in results.items():
            if result.facts:
                facts.setdefault(name, []).append((path, result.facts))
            for w in result.warnings:
                warnings.append(w if path in w else f"{path}: {w}")
            out = packages.setdefault(name, [])
            for pkg in result.packages:
                key = pkg.key()
                if key in seen:
                    continue
                seen.add(key)
                idx = first_seen.get(key)
                copy = dataclasses.replace(
                    pkg,
                    licenses=list(pkg.licenses),
                    locations=list(pkg.locations),
                    metadata=dict(pkg.metadata),
                    layer_index=idx,
                    layer_diff_id=(diff_ids[idx] or None) if idx is not None else None,
                )
                out.append(copy)
    os_info = _os_info(files, symlinks, facts.get(OSRELEASE, []))
    return Merged(packages=packages, facts=facts, os_info=os_info, warnings=warnings)


def _keys(results: Iterable[dict[str, FileResult]]) -> set[tuple[str, str, str, str]]:
    return {pkg.key() for r in results for res in r.values() for pkg in res.packages}


def _os_info(
    files: dict[str, tuple[int, dict[str, FileResult]]],
    symlinks: dict[str, str],
    os_facts: list[tuple[str, dict[str, Any]]],
) -> OSInfo:
    """OSInfo from the osrelease cataloger's `os` facts, /etc/os-release first (symlink followed)."""
    by_path = {path: f["os"] for path, f in os_facts if isinstance(f.get("os"), dict)}
    if not by_path:
        return OSInfo()
    order: list[str] = []
    for path in _OS_FILES:
        resolved = resolve_path(path, symlinks.get) if path in symlinks else path
        if resolved:
            order.append(resolved)
        order.append(path)
    order.extend(sorted(by_path))
    for path in order:
        if path in by_path:
            try:
                return OSInfo.from_dict(by_path[path])
            except TypeError:
                continue
    return OSInfo()
