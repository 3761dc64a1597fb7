"""Catalogued paths seen through the image's own symlinks, as the running container sees them.

`/var/lib/dpkg/status` may be a symlink to another file, or one of its directories a
symlink (`/var/lib/dpkg -> /opt/db`): dpkg in the container follows the links, so the
scan must too. Links are resolved inside the image root only (`..` and absolute targets
never leave it), across layers (the final, visible links), with loops bounded.

How, without reading any layer twice in the usual case: while a layer streams, files
whose name fits a *relocated* pattern (an absolute pattern's tail anywhere in the tree:
`/var/lib/dpkg/status` -> `**/status`) are parsed too and kept apart as candidates
(`LayerCatalogue.candidates`), never reported on their own. After the layers are read,
each absolute pattern is resolved through the final symlinks; where it lands on a
candidate, that candidate is reported under the catalogued path, in the layer that holds
it. Only when the link's own name hides the target (`status -> status.real`) are the
layers read again, looking for exactly those targets.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from keelwatch.catalog.base import Cataloger
from keelwatch.oci.layers import MAX_LINKS, resolve_path
from keelwatch.scan.globs import PathMatcher
from keelwatch.scan.merge import LayerCatalogue

Match = Callable[[str], tuple[Cataloger, ...]]


def _parts(pattern: str) -> tuple[list[str], list[str]]:
    """(literal leading components, the rest from the first wildcard component on)."""
    parts = pattern.strip("/").split("/")
    for i, part in enumerate(parts):
        if any(c in part for c in "*?["):
            return parts[:i], parts[i:]
    return parts, []


def relocated(pattern: str) -> str | None:
    """The tail of an absolute pattern, anywhere: where its file lands behind a symlinked directory."""
    if not pattern.startswith("/"):
        return None  # `**/...` patterns match anywhere already
    literal, rest = _parts(pattern)
    if not literal:
        return None
    return "**/" + "/".join([literal[-1], *rest])


@dataclass(frozen=True, slots=True)
class _Relocated:
    """A cataloger's patterns moved under `**/`, matched on its behalf."""

    patterns: tuple[str, ...]
    cat: Cataloger


class CandidateMatcher:
    """path -> catalogers, for the relocated patterns (and, on a second pass, exact targets)."""

    def __init__(
        self, catalogers: Sequence[Cataloger], extra: dict[str, tuple[Cataloger, ...]] | None = None
    ) -> None:
        proxies = []
        for cat in catalogers:
            patterns = tuple(p for p in map(relocated, cat.patterns) if p)
            if patterns:
                proxies.append(_Relocated(patterns, cat))
        for pattern, cats in (extra or {}).items():
            proxies.extend(_Relocated((pattern,), cat) for cat in cats)
        self._match = PathMatcher(proxies)

    def __call__(self, path: str) -> tuple[Cataloger, ...]:
        hits = self._match(path)
        if not hits:
            return ()
        return tuple(dict.fromkeys(proxy.cat for proxy in hits))


@dataclass(frozen=True)
class Alias:
    """Files at `real` (exactly, or below it when `prefix`) are seen by the container at `alias`."""

    real: str
    alias: str
    prefix: bool
    hidden: bool  # the link's own name differs from the target's: candidates cannot hold it


def plan(catalogers: Sequence[Cataloger], symlinks: dict[str, str]) -> tuple[list[Alias], list[str]]:
    """Every absolute pattern (or its literal directory) that the final symlinks move elsewhere,
    and a warning for each one caught in a symlink loop."""
    out: dict[tuple[str, str], Alias] = {}
    loops: dict[str, str] = {}
    if not symlinks:
        return [], []
    for cat in catalogers:
        for pattern in cat.patterns:
            if not pattern.startswith("/"):
                continue
            literal, rest = _parts(pattern)
            if not literal:
                continue
            path = "/" + "/".join(literal)
            real = resolve_path(path, symlinks.get)
            if real is None:
                loops[path] = f"{path}: symlink loop (over {MAX_LINKS} links): not catalogued"
                continue
            if real == path:
                continue
            hidden = real.rsplit("/", 1)[-1] != literal[-1]
            out[(real, path)] = Alias(real, path, bool(rest), hidden)
    return list(out.values()), list(loops.values())


def _aliased(path: str, aliases: Sequence[Alias]) -> str | None:
    for a in aliases:
        if path == a.real and not a.prefix:
            return a.alias
        if a.prefix and path.startswith(a.real + "/"):
            return a.alias + path[len(a.real) :]
    return None


def second_pass_targets(
    aliases: Sequence[Alias], catalogues: Sequence[LayerCatalogue], match: Match
) -> dict[str, tuple[Cataloger, ...]]:
    """Exact targets (or target globs) that no candidate holds: the layers must be read for them."""
    held = {path for c in catalogues for path in c.candidates}
    out: dict[str, tuple[Cataloger, ...]] = {}
    for a in aliases:
        if not a.hidden:
            continue
        if a.prefix:
            if not any(p.startswith(a.real + "/") for p in held):
                cats = match(a.alias + "/x")  # representative: which catalogers own this directory
                if cats:
                    out[a.real + "/*"] = cats
        elif a.real not in held and (cats := match(a.alias)):
            out[a.real] = cats
    return out


def apply(
    catalogues: Sequence[LayerCatalogue], aliases: Sequence[Alias], match: Match
) -> tuple[list[LayerCatalogue], list[str]]:
    """Copies of the catalogues with each aliased candidate reported at its catalogued path."""
    if not aliases:
        return list(catalogues), []
    per_layer: list[dict[str, dict[str, Any]]] = []
    for layer in catalogues:
        moved: dict[str, dict[str, Any]] = {}
        for path, results in layer.candidates.items():
            alias = _aliased(path, aliases)
            if alias is None:
                continue
            names = {c.name for c in match(alias)}
            kept = {name: r for name, r in results.items() if name in names}
            if kept:
                moved[alias] = kept
        per_layer.append(moved)
    found = {path for moved in per_layer for path in moved}
    out = []
    for layer, moved in zip(catalogues, per_layer, strict=True):
        # The link itself no longer hides what it leads to (only where that was found).
        files = {p: r for p, r in layer.files.items() if r is not None or p not in found}
        files.update(moved)
        whiteouts = list(layer.whiteouts)
        for gone in layer.whiteouts:
            for a in aliases:
                if a.real == gone or a.real.startswith(gone + "/"):
                    whiteouts.append(a.alias)
                elif a.prefix and gone.startswith(a.real + "/"):
                    whiteouts.append(a.alias + gone[len(a.real) :])
        out.append(dataclasses.replace(layer, files=files, whiteouts=whiteouts))
    warnings = [
        f"{a.alias}: a symlink to {a.real}, which is not a readable file in the image: not catalogued"
        for a in aliases
        if not a.prefix and a.hidden and a.alias not in found
    ]
    return out, warnings
