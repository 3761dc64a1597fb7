"""Saving one scan of an image whole: its packages, its lineage facts and its tag, one transaction.

A crash between the parts (a killed process, a lost connection) leaves nothing of
the scan, never a scan without its lineage facts or a tag pointing at an image the
store does not have. The parts are the `*_in` functions of `store.scans` and
`store.images`, called here on one connection.
"""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError

from keelwatch.model import ScanResult
from keelwatch.store import images, scans
from keelwatch.store.db import Store
from keelwatch.store.images import ImageFacts, TagSighting


def save_scan_record(
    store: Store, result: ScanResult, facts: ImageFacts, tag: TagSighting | None = None
) -> int:
    """Store the scan, its lineage facts and (for a registry tag) the tag's digest; the scan's id.

    Idempotent like `save_scan`: the same image again updates the same rows.
    """
    for attempt in range(2):
        try:
            with store.write() as conn:
                scan_id = scans.save_in(conn, result)
                images.remember_in(conn, facts, scan_id)
                if tag is not None:
                    images.record_tag_in(conn, tag)
                return scan_id
        except IntegrityError:  # a concurrent saver inserted the same image or tag first
            if attempt:
                raise
    raise AssertionError("unreachable")
