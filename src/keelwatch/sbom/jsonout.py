"""`scan --format json`: ScanResult.to_dict() plus a schema marker (see docs/scan-json.md).

The model's own serialisation is the schema, so ScanResult.from_dict reads the output back.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from keelwatch.model import ScanResult

SCHEMA = "keelwatch/scan/v1"


def to_document(result: ScanResult) -> dict[str, Any]:
    return {"schema": SCHEMA, **result.to_dict()}


def render(result: ScanResult, *, findings: Sequence[Any] | None = None) -> str:
    """Pretty JSON; `findings` is accepted for the matcher's later `findings` section."""
    return json.dumps(to_document(result), indent=2, ensure_ascii=False) + "\n"


def parse(text: str) -> ScanResult:
    """Read `scan --format json` output back (rejects documents of another schema)."""
    data = json.loads(text)
    if not isinstance(data, dict) or data.get("schema") != SCHEMA:
        raise ValueError(f"not a {SCHEMA} document")
    return ScanResult.from_dict(data)
