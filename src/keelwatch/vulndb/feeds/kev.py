"""CISA Known Exploited Vulnerabilities catalogue (JSON feed) -> KevEntry rows."""

from __future__ import annotations

import re
from pathlib import Path

from keelwatch.errors import FeedError
from keelwatch.vulndb.feeds.base import Report, parse_json
from keelwatch.vulndb.model import KevEntry

DEFAULT_URL = "https://www.cisa.gov/sites/default/files/feeds/known_exploited_vulnerabilities.json"
_CVE = re.compile(r"^CVE-\d{4}-\d{4,}$")


def read_kev(path: Path, report: Report) -> tuple[list[KevEntry], str]:
    """(entries, snapshot date) from the catalogue; FeedError if it is not the CISA document."""
    try:
        data = parse_json(path.read_bytes(), f"{report.feed}: catalogue")
    except OSError as exc:
        raise FeedError(f"{report.feed}: cannot read: {exc.strerror}") from None
    if not isinstance(data, dict) or not isinstance(data.get("vulnerabilities"), list):
        raise FeedError(f"{report.feed}: not a KEV catalogue (no 'vulnerabilities' list)")
    entries: dict[str, KevEntry] = {}
    for i, item in enumerate(data["vulnerabilities"]):
        cve = item.get("cveID") if isinstance(item, dict) else None
        if not isinstance(cve, str) or not _CVE.match(cve.strip()):
            report.bad(f"vulnerabilities[{i}]", f"invalid cveID {cve!r}")
            continue
        cve = cve.strip()
        if cve in entries:
            report.bad(cve, "listed twice; first entry kept")
            continue
        entries[cve] = KevEntry(
            cve=cve,
            date_added=str(item.get("dateAdded") or ""),
            due_date=str(item.get("dueDate") or ""),
            known_ransomware=str(item.get("knownRansomwareCampaignUse") or ""),
            vendor=str(item.get("vendorProject") or ""),
            product=str(item.get("product") or ""),
            name=str(item.get("vulnerabilityName") or ""),
        )
    snapshot = str(data.get("dateReleased") or data.get("catalogVersion") or "")
    return list(entries.values()), snapshot
