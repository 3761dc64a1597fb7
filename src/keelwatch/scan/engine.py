"""The scan engine: image -> per-layer catalogues (cached by diff_id) -> merged ScanResult.

Each layer is streamed once (`keelwatch.oci.layers`); every regular file (or
hardlink to one) whose path matches a cataloger's globs is read, bounded, and
offered to `cataloger.parse(path, data)`. A cataloger that raises or returns
garbage costs a warning naming the file, never the scan. Layers whose catalogue is
in the cache are not opened at all. The merged, attributed packages then go through
each cataloger's `finalize` with the facts of the visible files and the OS identity.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from keelwatch.catalog.base import Cataloger, FileResult
from keelwatch.errors import KeelwatchError, LayerError
from keelwatch.model import ImageInfo, LayerInfo, Package, ScanResult
from keelwatch.oci.image import Image
from keelwatch.oci.layers import DEFAULT_LIMITS, FILE, HARDLINK, OPAQUE, SYMLINK, WHITEOUT, LayerLimits
from keelwatch.scan.aliases import CandidateMatcher, apply, plan, second_pass_targets
from keelwatch.scan.cache import LayerCache, cataloger_signature
from keelwatch.scan.globs import PathMatcher
from keelwatch.scan.merge import LayerCatalogue, merge_layers, visible_symlinks

if TYPE_CHECKING:
    from keelwatch.oci.reference import Reference

Progress = Callable[[int, int, int], None]
# Bytes of matched file content kept per layer so hardlinks to them can be parsed too.
_HARDLINK_KEEP = 64 << 20
# Symlinks recorded per layer (for resolving /etc/os-release and friends); bounds memory
# and cache size against a layer made of nothing but links.
MAX_SYMLINKS = 100_000
# Files parsed per layer only in case a symlink makes them catalogued (keelwatch.scan.aliases).
MAX_CANDIDATES = 1_000
Match = Callable[[str], tuple[Cataloger, ...]]
PATH_MAX = 4096  # Linux: no symlink target is longer


def default_catalogers() -> list[Cataloger]:
    from keelwatch.catalog import ALL_CATALOGERS

    return list(ALL_CATALOGERS)


def _parse(cat: Cataloger, path: str, data: bytes, warnings: list[str]) -> FileResult | None:
    """One cataloger on one file; any failure becomes a warning naming the file."""
    name = cat.name
    if len(data) > cat.max_file_size:
        warnings.append(f"{path}: skipped by {name}, {len(data)} bytes is over its size limit")
        return None
    try:
        result = cat.parse(path, data)
    except Exception as exc:  # a cataloger bug or hostile input must not end the scan
        warnings.append(f"{path}: {name} cataloger failed: {type(exc).__name__}: {exc}")
        return None
    if not isinstance(result, FileResult) or not all(isinstance(p, Package) for p in result.packages):
        warnings.append(f"{path}: {name} cataloger returned an invalid result")
        return None
    for pkg in result.packages:
        if not pkg.locations:
            pkg.locations = [path]
    return result


INCOMPLETE = (
    "the scan hit a per-image limit (files offered to catalogers or symlink bytes kept): "
    "packages may be missing"
)


@dataclass
class Budget:
    """What is left, for the whole image, of the files offered to catalogers and of the bytes of
    symlinks kept: a layer of 200,000 package.json or of 100,000 long links must not cost minutes
    and gigabytes. A layer read past the budget is incomplete (`truncated`): never cached."""

    files: int
    link_bytes: int
    truncated: bool = False

    @classmethod
    def of(cls, limits: LayerLimits) -> Budget:
        return cls(limits.max_catalogued_files, limits.max_link_bytes)

    def take_file(self, path: str, warnings: list[str]) -> bool:
        if self.files > 0:
            self.files -= 1
            return True
        if not self.truncated:
            warnings.append(
                f"{path} and later files not catalogued: over the limit of files offered to catalogers"
            )
        self.truncated = True
        return False

    def take_link(self, path: str, target: str, warn: Callable[[str], None]) -> bool:
        if len(target) > PATH_MAX:
            warn(f"{path}: symlink target of {len(target)} bytes ignored (longer than PATH_MAX)")
            return False
        cost = len(path) + len(target)
        if self.link_bytes >= cost:
            self.link_bytes -= cost
            return True
        if not self.truncated:
            warn(f"{path} and later symlinks not resolved: over the limit of symlink bytes kept")
        self.truncated = True
        return False


def catalogue_entries(
    reader: Any,
    match: Match,
    limits: LayerLimits,
    candidates: Match | None = None,
    budget: Budget | None = None,
) -> LayerCatalogue:
    """Stream one layer's entries (a LayerReader or DirReader) into its catalogue."""
    budget = budget or Budget.of(limits)
    cat = LayerCatalogue()
    files = cat.files
    warnings = cat.warnings
    kept: dict[str, bytes] = {}  # matched file content, for hardlinks later in the layer
    kept_bytes = 0
    max_file = limits.max_file_size
    for entry in reader:
        etype = entry.type
        if etype == FILE:
            cats = match(entry.path)
            if not cats:
                found = candidates(entry.path) if candidates is not None else ()
                if found and budget.take_file(entry.path, warnings):
                    _candidate(reader, entry.path, found, cat, max_file)
                continue
            if not budget.take_file(entry.path, warnings):
                continue
            limit = min(max_file, max(c.max_file_size for c in cats))
            data = reader.read(limit)
            if data is None:
                files[entry.path] = {}
                continue
            if kept_bytes + len(data) <= _HARDLINK_KEEP:
                kept[entry.path] = data
                kept_bytes += len(data)
            files[entry.path] = _parse_all(cats, entry.path, data, warnings)
        elif etype == WHITEOUT:
            cat.whiteouts.append(entry.path)
        elif etype == OPAQUE:
            cat.opaque.append(entry.path)
        elif etype == SYMLINK:
            if len(cat.symlinks) < MAX_SYMLINKS:
                if budget.take_link(entry.path, entry.linkname, reader.warn):
                    cat.symlinks[entry.path] = entry.linkname
            elif len(cat.symlinks) == MAX_SYMLINKS:
                cat.symlinks[entry.path] = entry.linkname
                warnings.append(f"more than {MAX_SYMLINKS} symlinks: later ones are not resolved")
            if match(entry.path):
                files[entry.path] = None
        elif etype == HARDLINK:
            cats = match(entry.path)
            if not cats:
                continue
            if not budget.take_file(entry.path, warnings):
                continue
            cat.hardlinks[entry.path] = entry.linkname
            data = kept.get(entry.linkname)
            if data is None:
                if entry.linkname not in files:
                    warnings.append(f"{entry.path}: hardlink target {entry.linkname} not readable, skipped")
                files[entry.path] = {}
                continue
            kept[entry.path] = data  # same object: a chain of hardlinks resolves too
            files[entry.path] = _parse_all(cats, entry.path, data, warnings)
        elif match(entry.path):  # a directory or device now occupies a catalogued path
            files[entry.path] = None
    warnings.extend(reader.warnings)
    return cat


def _candidate(reader: Any, path: str, cats: Sequence[Cataloger], cat: LayerCatalogue, max_file: int) -> None:
    """Parse a file a symlink may put at a catalogued path; kept apart, reported only if it does."""
    if len(cat.candidates) >= MAX_CANDIDATES:
        return
    limit = min(max_file, max(c.max_file_size for c in cats))
    data = reader.read(limit)
    if data is not None:
        cat.candidates[path] = _parse_all(cats, path, data, [])


def _parse_all(
    cats: Sequence[Cataloger], path: str, data: bytes, warnings: list[str]
) -> dict[str, FileResult]:
    out: dict[str, FileResult] = {}
    for c in cats:
        result = _parse(c, path, data, warnings)
        if result is not None:
            out[c.name] = result
    return out


def _cached(
    image: Image, layer: LayerInfo, cache: LayerCache | None, signature: str
) -> LayerCatalogue | None:
    """The cached catalogue of a layer whose (blob digest, diff_id) pair was verified before.

    The blob must still be in the image (a source that can tell is asked, without reading
    it): an image with a missing blob is an error, never a result from the cache.
    """
    if cache is None or not layer.digest or not layer.diff_id:
        return None
    catalogue = cache.get(layer.digest, layer.diff_id, signature)
    present = getattr(image.source, "has_blob", None)
    if catalogue is not None and present is not None and not present(layer.digest, layer.size or None):
        return None  # read it, so the source reports what is wrong with the blob
    return catalogue


def _platform(image: Image) -> str:
    cfg = image.config or {}
    if cfg.get("os") and cfg.get("architecture"):
        plat = f"{cfg['os']}/{cfg['architecture']}"
        return f"{plat}/{cfg['variant']}" if cfg.get("variant") else plat
    return image.platform or ""


def _read_layer(
    image: Image,
    index: int,
    match: Match,
    candidates: Match | None,
    limits: LayerLimits,
    progress: Progress | None,
    budget: Budget,
) -> tuple[LayerCatalogue, bool]:
    """Stream one layer (or the directory of a `dir:` source) into its catalogue; (catalogue, verified)."""
    from keelwatch.oci.dirsource import DirSource

    layer = image.layers[index]
    label = f"layer {index} ({layer.diff_id or layer.digest or 'directory'})"
    blob = None
    if isinstance(image.source, DirSource):
        reader: Any = image.source.reader()
    else:
        from keelwatch.oci.layers import LayerReader

        on_bytes = None
        if progress is not None:
            n = len(image.layers)

            def on_bytes(done: int) -> None:
                progress(index, n, done)

        blob = image.open_layer(index)
        reader = LayerReader(
            blob,
            diff_id=layer.diff_id,
            limits=limits,
            progress=on_bytes,
            label=label,
            size_hint=layer.size or None,
        )
    try:
        truncated = budget.truncated
        catalogue = catalogue_entries(reader, match, limits, candidates, budget)
        return catalogue, bool(reader.verified) and budget.truncated == truncated
    except KeelwatchError:
        raise
    except (OSError, EOFError) as exc:
        raise LayerError(f"{label}: cannot read: {exc}") from None
    finally:
        if blob is not None:
            blob.close()


def _through_links(
    image: Image,
    cats: Sequence[Cataloger],
    catalogues: list[LayerCatalogue],
    match: Match,
    limits: LayerLimits,
) -> tuple[list[LayerCatalogue], list[str]]:
    """Report files that the image's symlinks put at catalogued paths (keelwatch.scan.aliases).

    The layers are read a second time only for a link whose name hides its target
    (`status -> status.real`), which no relocated pattern can foresee.
    """
    aliases, loops = plan(cats, visible_symlinks(catalogues))
    if not aliases:
        return catalogues, loops
    targets = second_pass_targets(aliases, catalogues, match)
    if targets:
        extra = CandidateMatcher(cats, targets)
        budget = Budget.of(limits)
        catalogues = [
            _read_layer(image, i, match, extra, limits, None, budget)[0] for i in range(len(image.layers))
        ]
    catalogues, warnings = apply(catalogues, aliases, match)
    return catalogues, loops + warnings


def scan_image(
    image: Image,
    catalogers: Sequence[Cataloger] | None = None,
    *,
    cache: LayerCache | None = None,
    progress: Progress | None = None,
    limits: LayerLimits = DEFAULT_LIMITS,
) -> ScanResult:
    """Catalogue every layer (from the cache where possible), merge, finalize."""

    cats = list(default_catalogers() if catalogers is None else catalogers)
    match = PathMatcher(cats)
    signature = cataloger_signature(cats, extra=f"max_file={limits.max_file_size}")
    candidates = CandidateMatcher(cats)
    n = len(image.layers)
    catalogues: list[LayerCatalogue] = []
    budget = Budget.of(limits)
    for index, layer in enumerate(image.layers):
        catalogue = _cached(image, layer, cache, signature)
        if catalogue is None:
            catalogue, complete = _read_layer(image, index, match, candidates, limits, progress, budget)
            if cache is not None and complete:  # blob digest and diff_id checked, nothing left out
                cache.put(layer.digest, layer.diff_id, signature, catalogue)
        else:
            budget.files -= len(catalogue.files) + len(catalogue.candidates)
            budget.link_bytes -= sum(len(p) + len(t) for p, t in catalogue.symlinks.items())
        if progress is not None:
            progress(index, n, layer.size)
        catalogues.append(catalogue)
    catalogues, alias_warnings = _through_links(image, cats, catalogues, match, limits)

    merged = merge_layers(catalogues, [layer.diff_id for layer in image.layers])
    warnings = list(cache.warnings) if cache is not None else []
    warnings.extend(merged.warnings)
    warnings.extend(alias_warnings)
    packages: list[Package] = []
    for c in cats:
        name = c.name
        pkgs = merged.packages.get(name, [])
        facts = merged.facts.get(name, [])
        try:
            out = c.finalize(pkgs, facts, merged.os_info)
        except Exception as exc:
            warnings.append(f"{name} cataloger failed to finalize: {type(exc).__name__}: {exc}")
            out = pkgs
        if not isinstance(out, list) or not all(isinstance(p, Package) for p in out):
            warnings.append(f"{name} cataloger returned an invalid finalize result")
            out = pkgs
        packages.extend(out)
    _restore_attribution(packages, merged.packages)

    info = ImageInfo(
        ref=image.ref,
        digest=image.manifest_digest,
        config_digest=image.config_digest,
        platform=_platform(image),
        os=merged.os_info,
        layers=list(image.layers),
        labels=image.labels,
        annotations=dict(image.annotations),
        created=(image.config or {}).get("created"),
        history_length=len((image.config or {}).get("history") or []),
        tag=image.tag,
    )
    incomplete = [INCOMPLETE] if budget.truncated else []
    return ScanResult(image=info, packages=packages, warnings=warnings, incomplete=incomplete)


def _restore_attribution(packages: list[Package], before: dict[str, list[Package]]) -> None:
    """finalize may build new Package objects: keep the layer each identity was attributed to."""
    if all(p.layer_index is not None for p in packages):
        return
    layer_of = {p.key(): (p.layer_index, p.layer_diff_id) for ps in before.values() for p in ps}
    for p in packages:
        if p.layer_index is None and (hit := layer_of.get(p.key())):
            p.layer_index, p.layer_diff_id = hit


def scan_reference(
    ref: str | Reference,
    *,
    platform: str = "linux/amd64",
    insecure: bool = False,
    use_cache: bool = True,
    progress: Progress | None = None,
    catalogers: Sequence[Cataloger] | None = None,
) -> ScanResult:
    """Resolve `ref` (any transport of `keelwatch.oci.reference`) and scan it."""
    from keelwatch.oci.reference import Transport, as_reference

    ref = as_reference(ref)
    if ref.transport is Transport.DIR:
        from keelwatch.oci.dirsource import open_dir

        assert ref.path is not None
        image = open_dir(ref.path)
        cache = None
    else:
        from keelwatch.oci.resolve import open_image

        image = open_image(ref, platform=platform, insecure=insecure)
        cache = LayerCache() if use_cache else None
    try:
        return scan_image(image, catalogers, cache=cache, progress=progress)
    finally:
        if image.source is not None:
            image.source.close()
