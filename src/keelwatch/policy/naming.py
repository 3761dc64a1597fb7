"""Naming conventions as templates: `{registry}/base/{os}-{variant}`, `{os_version}-{yyyymmdd}`.

Each placeholder stands for a documented pattern, so policies stay readable and
a violation can say which part is wrong.
"""

from __future__ import annotations

import re
from datetime import datetime
from functools import cache

PLACEHOLDERS: dict[str, str] = {
    "registry": r"[a-z0-9]+(?:[.-][a-z0-9]+)*(?::[0-9]+)?",
    "namespace": r"[a-z0-9]+(?:[._/-][a-z0-9]+)*",
    "os": r"[a-z][a-z0-9]*",
    "variant": r"[a-z0-9]+(?:[.-][a-z0-9]+)*",
    "name": r"[a-z0-9]+(?:[._-][a-z0-9]+)*",
    "os_version": r"[0-9]+(?:\.[0-9]+)*",
    "version": r"[0-9]+(?:\.[0-9]+)*(?:[-+][A-Za-z0-9.]+)?",
    "yyyymmdd": r"(?P<yyyymmdd>[0-9]{8})",
    "semver": r"[0-9]+\.[0-9]+\.[0-9]+(?:-[0-9A-Za-z.-]+)?",
}
_PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")


@cache
def compile_template(template: str) -> re.Pattern[str]:
    """Template -> anchored regex. Unknown placeholders raise ValueError."""
    parts: list[str] = []
    pos = 0
    seen_date = False
    for match in _PLACEHOLDER.finditer(template):
        parts.append(re.escape(template[pos : match.start()]))
        name = match.group(1)
        if name not in PLACEHOLDERS:
            raise ValueError(f"unknown placeholder {{{name}}} (known: {', '.join(sorted(PLACEHOLDERS))})")
        if name == "yyyymmdd":
            if seen_date:
                raise ValueError("{yyyymmdd} may appear once")
            seen_date = True
        parts.append(PLACEHOLDERS[name])
        pos = match.end()
    parts.append(re.escape(template[pos:]))
    return re.compile("^" + "".join(parts) + "$")


def matches_template(template: str, value: str) -> bool:
    """True when value fits the template (and any {yyyymmdd} is a real date)."""
    match = compile_template(template).match(value)
    if match is None:
        return False
    stamp = match.groupdict().get("yyyymmdd")
    if stamp:
        try:
            datetime.strptime(stamp, "%Y%m%d")
        except ValueError:
            return False
    return True
