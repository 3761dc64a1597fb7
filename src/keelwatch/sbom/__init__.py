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


# what users of Syft, Trivy and Grype type -> our name
ALIASES: dict[str, str] = {"cyclonedx-json": "cyclonedx", "spdx-json": "spdx", "sarif-json": "sarif"}


def format_name(value: str) -> str | None:
    """The format `value` names (any case, Syft/Trivy aliases), or None when it names none."""
    name = value.strip().lower()
    name = ALIASES.get(name, name)
    return name if name in FORMATS else None


def render(result: ScanResult, fmt: str, *, findings: Sequence[Any] | None = None, **options: Any) -> str:
    """The scan result in `fmt` (one of FORMATS); `options` go to that writer (table: layout)."""
    try:
        module = FORMATS[fmt]
    except KeyError:
        raise ValueError(f"unknown format {fmt!r} (one of {', '.join(FORMATS)})") from None
    return str(import_module(f"keelwatch.sbom.{module}").render(result, findings=findings, **options))
