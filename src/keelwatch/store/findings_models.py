"""The last match of each stored scan, so `rescan` can report new and fixed findings.

One row per scan: when it was last matched, a digest of its finding keys and the
compact list of those keys [id, package type, name, version, severity level],
zlib-compressed JSON like the other documents of the store. The list is rewritten
only when the digest changes.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from keelwatch.store.models import Base


class ScanMatch(Base):
    __tablename__ = "scan_matches"

    scan_id: Mapped[int] = mapped_column(ForeignKey("scans.id", ondelete="CASCADE"), primary_key=True)
    matched_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    finding_count: Mapped[int] = mapped_column(Integer, default=0)
    # order-independent digest of the finding keys: an unchanged scan is not decoded or rewritten
    digest: Mapped[str] = mapped_column(String(32), default="")
    findings: Mapped[bytes] = mapped_column(LargeBinary)  # zlib(JSON [[id, type, name, version, level]])
    # the scan's package_versions ids (zlib of little-endian int64s) and the scan's created_at
    # when they were read: while the scan is not re-saved, rescan needs no scan_packages join
    packages: Mapped[bytes | None] = mapped_column(LargeBinary)
    scan_created_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
