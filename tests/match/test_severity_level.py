"""One ordered severity type: `vulndb.severity.Level`, used everywhere a severity is compared."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from keelwatch.vulndb.severity import LEVELS, Level, Severity

SRC = Path(__file__).resolve().parents[2] / "src" / "keelwatch"
NAMES = {"critical", "high", "medium", "low", "negligible"}


def test_levels_are_ordered_and_parsed_in_any_case() -> None:
    assert Level.CRITICAL > Level.HIGH > Level.MEDIUM > Level.LOW > Level.NEGLIGIBLE > Level.UNKNOWN
    assert LEVELS == ("critical", "high", "medium", "low", "negligible", "unknown")
    assert Level.parse_list("HIGH,critical") == [Level.HIGH, Level.CRITICAL]
    assert Level.parse_list(" Medium , ") == [Level.MEDIUM]
    assert Level.of("Important") is Level.UNKNOWN and Level.of("HIGH") is Level.HIGH
    assert Severity("critical").rank is Level.CRITICAL and Severity().rank is Level.UNKNOWN
    with pytest.raises(ValueError, match="unknown severity 'severe'"):
        Level.parse_list("high,severe")
    with pytest.raises(ValueError, match="no severity given"):
        Level.parse_list(",")


def _ladders(tree: ast.AST) -> list[int]:
    """Lines of literal collections naming three or more severity levels."""
    lines = []
    for node in ast.walk(tree):
        items: list[ast.expr | None] = []
        if isinstance(node, ast.Tuple | ast.List | ast.Set):
            items = list(node.elts)
        elif isinstance(node, ast.Dict):
            items = list(node.keys)
        names = {i.value for i in items if isinstance(i, ast.Constant) and isinstance(i.value, str)}
        if len(names & NAMES) >= 3:
            lines.append(node.lineno)
    return lines


def test_the_severity_ladder_is_spelt_once() -> None:
    """Every module compares `Level`s; only vulndb/severity.py names the levels (and the words
    publishers use for them)."""
    spelt = {
        str(path.relative_to(SRC)): lines
        for path in sorted(SRC.rglob("*.py"))
        if (lines := _ladders(ast.parse(path.read_text(encoding="utf-8"))))
    }
    assert set(spelt) == {"vulndb/severity.py"}, spelt
