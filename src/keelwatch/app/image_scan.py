"""`keelwatch scan` as a use case: scan an image, keep it, and produce its findings.

The same steps as every other command (`app.scanning.scan_and_store`, then
`app.findings.findings_of`), so `scan` and `check` cannot disagree about an image.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from keelwatch.app.findings import ImageFindings
from keelwatch.model import ScanResult
from keelwatch.oci.reference import Reference, as_reference
from keelwatch.vulndb.suppress import Suppressor


@dataclass(slots=True)
class ImageScan:
    result: ScanResult
    findings: ImageFindings | None  # None with match=False
    scan_id: int | None = None  # None with keep=False


def scan_image(
    ref: str | Reference,
    *,
    platform: str = "linux/amd64",
    insecure: bool = False,
    use_cache: bool = True,
    progress: Callable[[int, int, int], None] | None = None,
    keep: bool = True,
    match: bool = True,
    suppressor: Suppressor | None = None,
    max_age_days: float | None = None,
) -> ImageScan:
    """Scan `ref`; keep it in the store (for rescans and lineage) unless `keep` is False; match it."""
    from keelwatch.scan import scan_reference

    ref = as_reference(ref)  # parsed once: a bad reference fails before the store is opened
    options = {"platform": platform, "insecure": insecure, "use_cache": use_cache, "progress": progress}
    if not keep and not match:  # packages only: the store is not even opened
        return ImageScan(scan_reference(ref, **options), None)  # type: ignore[arg-type]
    from keelwatch.app.catalogue import Catalogue
    from keelwatch.app.findings import findings_of
    from keelwatch.app.lineage import FleetLineage
    from keelwatch.app.scanning import scan_and_store
    from keelwatch.config import load_settings
    from keelwatch.store.db import open_store

    with open_store() as store:
        catalogue = Catalogue(store, load_settings().expert_team)
        scan_id = None
        if keep:
            stored = scan_and_store(store, ref, **options)  # type: ignore[arg-type]
            result, scan_id = stored.result, stored.scan_id
        else:
            result = scan_reference(ref, **options)  # type: ignore[arg-type]
        if not match:
            return ImageScan(result, None, scan_id)
        fleet = FleetLineage(store, catalogue)
        found = findings_of(store, result, suppressor=suppressor, fleet=fleet, max_age_days=max_age_days)
        return ImageScan(result, found, scan_id)
