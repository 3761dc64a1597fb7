"""Output writers: one module per format, each a pure `render(result, *, findings=None) -> str`.

`findings` is the hook for vulnerability results: writers accept it now and ignore it until
the matcher's findings model lands (then json/cyclonedx add a findings section and SARIF
joins). Writers import lazily so `keelwatch scan` only loads the one it needs.
"""

from __future__ import annotations

from collections.abc import Sequence
from importlib import import_module
from typing import Any

from keelwatch.model import ScanResult

# format name -> module under keelwatch.sbom
FORMATS: dict[str, str] = {
    "table": "table",
    "json": "jsonout",
    "cyclonedx": "cyclonedx",
    "spdx": "spdx",
    "sarif": "sarif",
}


def render(result: ScanResult, fmt: str, *, findings: Sequence[Any] | None = None) -> str:
    """The scan result in `fmt` (one of FORMATS)."""
    try:
        module = FORMATS[fmt]
    except KeyError:
        raise ValueError(f"unknown format {fmt!r} (one of {', '.join(FORMATS)})") from None
    return str(import_module(f"keelwatch.sbom.{module}").render(result, findings=findings))
