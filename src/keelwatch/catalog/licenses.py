"""Small licence-string helpers shared by the catalogers (no licence database: imports stay light)."""

from __future__ import annotations

import re

_TOKEN = re.compile(r"\(|\)|[^\s()]+")
_OPERATORS = {"AND", "OR", "WITH", "and", "or", "with"}


def is_expression(text: str) -> bool:
    """Is `text` shaped like one SPDX licence expression (ids joined by AND/OR/WITH, parentheses)?

    Syntax only, as Syft's check is used: it decides whether a space-separated
    field such as apk's `L:MIT BSD GPL2+` is one expression or a list of licences.
    """
    expect_id = True
    depth = 0
    for tok in _TOKEN.findall(text):
        if tok == "(":
            if not expect_id:
                return False
            depth += 1
        elif tok == ")":
            if expect_id or depth == 0:
                return False
            depth -= 1
        elif tok in _OPERATORS:
            if expect_id:
                return False
            expect_id = True
        else:
            if not expect_id:
                return False
            expect_id = False
    return not expect_id and depth == 0


def split_licenses(text: str) -> list[str]:
    """One expression stays whole; anything else is split on whitespace (Syft's apk/dpkg rule)."""
    text = text.strip()
    if not text:
        return []
    return [text] if is_expression(text) else text.split()


def unique(values: list[str]) -> list[str]:
    """Drop empties and duplicates, keep first-seen order."""
    seen: set[str] = set()
    out: list[str] = []
    for v in values:
        if v and v not in seen:
            seen.add(v)
            out.append(v)
    return out
