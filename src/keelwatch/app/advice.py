"""Base-upgrade advice for one image, from the catalogue's approved bases and their findings."""

from __future__ import annotations

from collections.abc import Callable

from keelwatch.app.catalogue import Catalogue
from keelwatch.app.findings import findings_of
from keelwatch.app.lineage import FleetLineage
from keelwatch.app.scanning import scan_and_store
from keelwatch.compare.advice import Advice, BaseCandidate, advise_bases
from keelwatch.config import load_settings
from keelwatch.oci.reference import Reference
from keelwatch.store.db import Store
from keelwatch.store.scans import load_scan


def advise_image(
    store: Store,
    ref: str | Reference,
    *,
    platform: str = "linux/amd64",
    insecure: bool = False,
    progress: Callable[[int, int, int], None] | None = None,
) -> list[Advice]:
    catalogue = Catalogue(store, load_settings().expert_team)
    stored = scan_and_store(store, ref, platform=platform, insecure=insecure, progress=progress)
    fleet = FleetLineage(store, catalogue)
    found = findings_of(store, stored.result, fleet=fleet)
    lineage = found.lineage
    candidates = []
    for entry in catalogue.list("approved"):
        scan = load_scan(store, entry.scan_id) if entry.scan_id else None
        if scan is None:
            continue
        candidates.append(
            BaseCandidate(
                entry.ref,
                entry.digest,
                entry.os_id,
                entry.os_version,
                findings_of(store, scan, fleet=fleet).active,
            )
        )
    parent = lineage.parent
    return advise_bases(
        found.active,
        lineage.first_own_layer,
        stored.result.image.os.id,
        candidates,
        current_base_digest=parent.key if parent else None,
    )
