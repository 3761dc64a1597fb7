"""FIRST EPSS daily scores: gzipped CSV with a `#model_version:…,score_date:…` line first.

    #model_version:v2023.03.01,score_date:2024-04-15T00:00:00+0000
    cve,epss,percentile
    CVE-1999-0001,0.0046,0.7385

Rows stream from the file (about 250,000 of them), so memory stays flat.
"""

from __future__ import annotations

import csv
import gzip
import io
import re
import zlib
from collections.abc import Iterator
from pathlib import Path

from keelwatch.errors import FeedError
from keelwatch.vulndb.feeds.base import MAX_LINE, Report, bounded_lines
from keelwatch.vulndb.model import EpssScore

# FIRST's daily file, published by Empirical Security (formerly at epss.cyentia.com)
DEFAULT_URL = "https://epss.empiricalsecurity.com/epss_scores-current.csv.gz"
_CVE = re.compile(r"^CVE-\d{4}-\d{4,}$")


class EpssFile:
    """Open with `with EpssFile(path, report) as f:`; `f.model_version`, `f.date`, iterate scores."""

    def __init__(self, path: Path, report: Report) -> None:
        self.path, self.report = path, report
        self.model_version = self.date = ""

    def __enter__(self) -> EpssFile:
        with self.path.open("rb") as raw:
            magic = raw.read(2)
        binary = gzip.open(self.path, "rb") if magic == b"\x1f\x8b" else self.path.open("rb")
        self._fh = io.TextIOWrapper(binary, encoding="utf-8", newline="")
        try:
            first = self._fh.readline(MAX_LINE)
        except (OSError, EOFError, zlib.error) as exc:
            raise FeedError(f"{self.report.feed}: unreadable file: {exc}") from None
        if first.startswith("#"):
            meta = dict(part.split(":", 1) for part in first[1:].strip().split(",") if ":" in part)
            self.model_version = meta.get("model_version", "")
            self.date = meta.get("score_date", "")[:10]
            header = self._fh.readline(MAX_LINE)
        else:
            header = first
        if [h.strip() for h in header.split(",")][:3] != ["cve", "epss", "percentile"]:
            raise FeedError(f"{self.report.feed}: not an EPSS CSV (header {header.strip()[:60]!r})")
        return self

    def __exit__(self, *exc: object) -> None:
        self._fh.close()

    def _lines(self) -> Iterator[str]:
        """Data lines, each bounded: a gzip bomb of one endless line is skipped, not held whole."""
        for lineno, line, whole in bounded_lines(self._fh):
            if not whole:
                self.report.bad(f"line {lineno + 2}", f"longer than {MAX_LINE} characters")
                continue
            yield line

    def __iter__(self) -> Iterator[EpssScore]:
        try:
            for lineno, row in enumerate(csv.reader(self._lines()), 3):
                if not row:
                    continue
                try:
                    cve, score, pct = row[0].strip(), float(row[1]), float(row[2])
                except (IndexError, ValueError):
                    self.report.bad(f"line {lineno}", f"invalid row {','.join(row)[:60]!r}")
                    continue
                if not _CVE.match(cve) or not (0.0 <= score <= 1.0 and 0.0 <= pct <= 1.0):
                    self.report.bad(f"line {lineno}", f"invalid row {','.join(row)[:60]!r}")
                    continue
                yield EpssScore(
                    cve=cve, score=score, percentile=pct, model_version=self.model_version, date=self.date
                )
        except (OSError, EOFError, zlib.error, csv.Error) as exc:
            raise FeedError(f"{self.report.feed}: {self.path.name} is corrupt or truncated: {exc}") from None
