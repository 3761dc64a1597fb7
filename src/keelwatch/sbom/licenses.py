"""Licence strings as found in packages -> SPDX ids/expressions where they are valid.

Catalogers report licences as written (`MIT`, `GPL-2+`, `BSD License`); SBOM formats want
SPDX identifiers or expressions. Valid ids and expressions pass through; anything else is
kept as a name (CycloneDX) or a LicenseRef (SPDX), never silently dropped.
"""

from __future__ import annotations

import re
from functools import lru_cache

from cyclonedx import spdx


@lru_cache(maxsize=4096)
def spdx_id(value: str) -> str | None:
    """The canonical SPDX id for `value`, or None."""
    return spdx.fixup_id(value.strip())


@lru_cache(maxsize=4096)
def is_expression(value: str) -> bool:
    """A compound SPDX expression (`MIT OR Apache-2.0`), not a single id."""
    v = value.strip()
    return bool(re.search(r"\s(AND|OR|WITH)\s", v)) and spdx.is_expression(v)


def license_ref(value: str) -> str:
    """A stable `LicenseRef-...` id for a non-SPDX licence name."""
    return "LicenseRef-" + (re.sub(r"[^A-Za-z0-9.-]+", "-", value.strip()).strip("-") or "unknown")
