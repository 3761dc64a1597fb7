"""Scan an image and keep what was learned: the scan, its lineage facts, its tag, in one transaction."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from keelwatch.app.catalogue import tag_sighting
from keelwatch.app.lineage import image_facts
from keelwatch.model import ScanResult
from keelwatch.oci.reference import Reference, Transport, as_reference, try_parse
from keelwatch.store.db import Store
from keelwatch.store.scan_record import save_scan_record

Progress = Callable[[int, int, int], None]


@dataclass(slots=True)
class StoredScan:
    scan_id: int
    result: ScanResult


def keep_scan(store: Store, result: ScanResult, platform: str = "", ref: Reference | None = None) -> int:
    """Save a scan with its lineage facts and, for a registry tag, where the tag points: all or nothing.

    Local sources have no tag history, and a digest-pinned reference says nothing about a tag.
    """
    ref = ref or try_parse(result.image.ref)
    tag = None
    if ref is not None and ref.transport is Transport.REGISTRY and ref.digest is None and result.image.digest:
        tag = tag_sighting(ref, result.image.digest, result.image.platform or platform)
    return save_scan_record(store, result, image_facts(result), tag)


def scan_and_store(
    store: Store,
    ref: str | Reference,
    *,
    platform: str = "linux/amd64",
    insecure: bool = False,
    use_cache: bool = True,
    progress: Progress | None = None,
) -> StoredScan:
    """Scan `ref`, save the result with its lineage facts; registry tags are recorded over time."""
    from keelwatch.scan import scan_reference

    ref = as_reference(ref)
    result = scan_reference(ref, platform=platform, insecure=insecure, use_cache=use_cache, progress=progress)
    return StoredScan(keep_scan(store, result, platform, ref), result)
