"""The last match of each stored scan, so `rescan` can report new and fixed findings.

One row per scan (replaced on every rescan): when it was matched and the compact
list of finding keys [id, package type, name, version, severity level] it produced,
zlib-compressed JSON like the other documents of the store.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Integer, LargeBinary
from sqlalchemy.orm import Mapped, mapped_column

from keelwatch.store.models import Base


class ScanMatch(Base):
    __tablename__ = "scan_matches"

    scan_id: Mapped[int] = mapped_column(ForeignKey("scans.id", ondelete="CASCADE"), primary_key=True)
    matched_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    finding_count: Mapped[int] = mapped_column(Integer, default=0)
    findings: Mapped[bytes] = mapped_column(LargeBinary)  # zlib(JSON [[id, type, name, version, level]])
