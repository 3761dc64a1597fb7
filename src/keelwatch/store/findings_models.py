"""What `rescan` keeps per scan: its package set and its last match (new / fixed findings).

`ScanPackageSet` is written with the scan (`store.scans`): the scan's distinct
package_versions ids as one packed blob, so a rescan reads one small row per scan
instead of the scan's hundreds of `scan_packages` links.

One row per scan: when it was last matched, a digest of its finding keys and the
compact list of those keys [id, package type, name, version, severity level],
zlib-compressed JSON like the other documents of the store. The list is rewritten
only when the digest changes.
"""

from __future__ import annotations

import zlib
from array import array
from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from keelwatch.store.models import Base


def pack_ids(ids: list[int]) -> bytes:
    """Sorted int64s (native order), zlib level 1: ~1-2 bytes per id for a typical scan."""
    return zlib.compress(array("q", sorted(ids)).tobytes(), 1)


def unpack_ids(blob: bytes) -> array[int]:
    """The ids as a C array (8 bytes each, not a Python int object each: 100,000 scans fit)."""
    out = array("q")
    out.frombytes(zlib.decompress(blob))
    return out


class ScanPackageSet(Base):
    __tablename__ = "scan_package_sets"

    scan_id: Mapped[int] = mapped_column(ForeignKey("scans.id", ondelete="CASCADE"), primary_key=True)
    packages: Mapped[bytes] = mapped_column(LargeBinary)  # pack_ids(distinct package_versions ids)


class ScanMatch(Base):
    __tablename__ = "scan_matches"

    scan_id: Mapped[int] = mapped_column(ForeignKey("scans.id", ondelete="CASCADE"), primary_key=True)
    matched_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    finding_count: Mapped[int] = mapped_column(Integer, default=0)
    # order-independent digest of the finding keys: an unchanged scan is not decoded or rewritten
    digest: Mapped[str] = mapped_column(String(32), default="")
    findings: Mapped[bytes] = mapped_column(LargeBinary)  # zlib(JSON [[id, type, name, version, level]])
    # for scans saved before `scan_package_sets` existed: their package_versions ids (pack_ids)
    # and the scan's created_at when they were read; while the scan is not re-saved, rescan needs
    # no scan_packages join (NULL for scans that have a package set)
    packages: Mapped[bytes | None] = mapped_column(LargeBinary)
    scan_created_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
