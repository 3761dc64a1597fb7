"""Near-duplicate base images: the catalogue's live bases compared by their stored scans."""

from __future__ import annotations

from keelwatch.app.catalogue import Catalogue
from keelwatch.compare.similarity import SimilarPair, similar_images
from keelwatch.store.db import Store
from keelwatch.store.scans import load_scan

LIVE_STATES = ("candidate", "approved")


def similar_bases(store: Store, catalogue: Catalogue, threshold: float) -> list[SimilarPair]:
    """Pairs of candidate or approved bases at or above `threshold`: merge candidates for the experts."""
    scans = []
    for entry in catalogue.list():
        if entry.state not in LIVE_STATES or not entry.scan_id:
            continue
        scan = load_scan(store, entry.scan_id)
        if scan is not None:
            scan.image.ref = entry.ref  # compare under the catalogue's name, not the path it was scanned from
            scans.append(scan)
    return similar_images(scans, threshold)
