"""Scan an image and keep what was learned: the scan, its lineage facts, its tag."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from keelwatch.app.lineage import remember_image
from keelwatch.governance.catalogue import Catalogue
from keelwatch.model import ScanResult
from keelwatch.store.db import Store
from keelwatch.store.scans import save_scan

Progress = Callable[[int, int, int], None]


@dataclass(slots=True)
class StoredScan:
    scan_id: int
    result: ScanResult


def is_registry_ref(ref: str) -> bool:
    return not ref.startswith(("oci:", "docker-archive:", "dir:"))


def scan_and_store(
    store: Store,
    ref: str,
    *,
    platform: str = "linux/amd64",
    insecure: bool = False,
    use_cache: bool = True,
    progress: Progress | None = None,
    catalogue: Catalogue | None = None,
) -> StoredScan:
    """Scan `ref`, save the result and its lineage facts; registry tags are recorded over time."""
    from keelwatch.scan import scan_reference

    result = scan_reference(ref, platform=platform, insecure=insecure, use_cache=use_cache, progress=progress)
    scan_id = save_scan(store, result)
    remember_image(store, result, scan_id)
    if catalogue is not None and is_registry_ref(ref) and result.image.digest and "@" not in ref:
        catalogue.record_tag(ref, result.image.digest, platform=result.image.platform or platform)
    return StoredScan(scan_id, result)
