"""Scan an image and keep what was learned: the scan, its lineage facts, its tag, in one transaction."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from keelwatch.app.catalogue import tag_sighting
from keelwatch.app.lineage import image_facts
from keelwatch.model import ScanResult
from keelwatch.store.db import Store
from keelwatch.store.scan_record import save_scan_record

Progress = Callable[[int, int, int], None]


@dataclass(slots=True)
class StoredScan:
    scan_id: int
    result: ScanResult


def is_registry_ref(ref: str) -> bool:
    return not ref.startswith(("oci:", "docker-archive:", "dir:"))


def keep_scan(store: Store, result: ScanResult, platform: str = "") -> int:
    """Save a scan with its lineage facts and, for a registry tag, where the tag points: all or nothing."""
    ref = result.image.ref
    tag = None
    if is_registry_ref(ref) and result.image.digest and "@" not in ref:
        tag = tag_sighting(ref, result.image.digest, result.image.platform or platform)
    return save_scan_record(store, result, image_facts(result), tag)


def scan_and_store(
    store: Store,
    ref: str,
    *,
    platform: str = "linux/amd64",
    insecure: bool = False,
    use_cache: bool = True,
    progress: Progress | None = None,
) -> StoredScan:
    """Scan `ref`, save the result with its lineage facts; registry tags are recorded over time."""
    from keelwatch.scan import scan_reference

    result = scan_reference(ref, platform=platform, insecure=insecure, use_cache=use_cache, progress=progress)
    return StoredScan(keep_scan(store, result, platform), result)
