"""Text from images, registries and other users, made safe to print on a terminal.

An actor name, an image label, a tag or a registry's error message can carry escape
sequences (`ESC ]` sets the window title or a hyperlink, `ESC [` moves the cursor and can
hide or rewrite earlier lines), bidi overrides that reorder what a reviewer reads, and Rich
markup (`[link=...]`). Every table goes through `SafeTable` (cells are plain text, never
markup, control characters shown escaped as `\\x1b`), and every console keelwatch prints
with is a `SafeConsole`, which escapes what is left at the last moment (a backstop for
f-strings). Rich itself strips only BEL, BS, VT, FF and CR, not ESC.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from rich.console import Console
from rich.segment import Segment
from rich.table import Table
from rich.text import Text

# C0 and C1 controls, DEL, zero-width and bidi formatting characters, BOM
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]")
_UNSAFE_IN_LINES = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]")
_NAMED = {"\n": "\\n", "\t": "\\t", "\r": "\\r"}


def _escape(match: re.Match[str]) -> str:
    ch = match[0]
    code = ord(ch)
    return _NAMED.get(ch) or (f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")


def printable(value: object) -> str:
    """`value` as one line of text with every control or formatting character escaped."""
    return _UNSAFE.sub(_escape, str(value))


def plain(value: object) -> str:
    """`value` escaped for a Rich markup string: `f"[yellow]note:[/] {plain(note)}"`."""
    from rich.markup import escape

    return escape(printable(value))


def cell(value: object, style: str = "") -> Text:
    """A table cell or line part: plain text (never markup), escaped, optionally styled."""
    return Text(printable(value), style=style)


class SafeTable(Table):
    """A Rich table whose string cells and title are plain escaped text, never markup."""

    def __init__(self, *args: Any, title: object = None, **kwargs: Any) -> None:
        super().__init__(*args, title=cell(title) if isinstance(title, str) else title, **kwargs)

    def add_row(self, *renderables: Any, **kwargs: Any) -> None:
        super().add_row(*(cell(r) if isinstance(r, str) else r for r in renderables), **kwargs)


NATURAL_WIDTH = 10_000  # "no terminal": every row on one line, as wide as its content


def compact_table(**kwargs: Any) -> SafeTable:
    """The house table: no box, bold header; reads at 80 columns and greps well when piped."""
    return SafeTable(show_edge=False, pad_edge=False, box=None, header_style="bold", **kwargs)


def console_for(stream: Any = None, **kwargs: Any) -> SafeConsole:
    """A console for stdout (or `stream`): the terminal's width, or unwrapped lines when piped."""
    import sys

    target = stream or sys.stdout
    isatty = getattr(target, "isatty", lambda: False)()
    return SafeConsole(stderr=target is sys.stderr, width=None if isatty else NATURAL_WIDTH, **kwargs)


class SafeConsole(Console):
    """A Rich console that escapes control characters in the text it writes (its own styles pass)."""

    def _render_buffer(self, buffer: Iterable[Segment]) -> str:
        return super()._render_buffer(
            segment
            if segment.control
            else Segment(_UNSAFE_IN_LINES.sub(_escape, segment.text), segment.style)
            for segment in buffer
        )
