"""Read the declared base image of a Dockerfile: the final stage's FROM, with ARGs substituted.

So that a source repository's declared base can be compared with the base detected
from the image's layers. Follows Dockerfile rules that matter for FROM: line
continuations (the escape character, `\\` or set by a `# escape=` directive),
comments, global ARGs (declared before the first FROM) usable in FROM lines,
`$VAR`, `${VAR}`, `${VAR:-default}` and `${VAR:+alt}`, `--platform=` flags, and
stages that build FROM an earlier stage (followed to its external base).
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field

from keelwatch.errors import KeelwatchError


class DockerfileError(KeelwatchError):
    """A Dockerfile that does not parse; the message says where."""


@dataclass(slots=True)
class Stage:
    index: int
    base: str  # as written after substitution ("python:3.12-slim" or an earlier stage's name)
    name: str | None
    platform: str | None
    line: int


@dataclass(slots=True)
class DockerfileBase:
    """The base the final stage builds on, following stage references to an external image."""

    image: str | None  # None for FROM scratch
    stages: list[Stage] = field(default_factory=list)
    final_stage: Stage | None = None


_DIRECTIVE = re.compile(r"^#\s*([a-zA-Z]+)\s*=\s*(\S+)\s*$")
_VAR = re.compile(
    r"\$(?:\{(?P<braced>[A-Za-z_][A-Za-z0-9_]*)(?P<op>:[-+][^}]*)?\}|(?P<plain>[A-Za-z_][A-Za-z0-9_]*))"
)


def parse_dockerfile(
    text: str, build_args: dict[str, str] | None = None, source: str = "Dockerfile"
) -> DockerfileBase:
    """Parse `text`; raise DockerfileError naming `source:line` on anything malformed."""
    args: dict[str, str] = {}
    overrides = dict(build_args or {})
    stages: list[Stage] = []
    for line_no, instruction in _instructions(text, source):
        keyword, _, rest = instruction.partition(" ")
        keyword = keyword.upper()
        rest = rest.strip()
        if keyword == "ARG" and not stages:
            for name, value in _parse_arg(rest, source, line_no):
                args[name] = overrides.get(name, value if value is not None else args.get(name, ""))
        elif keyword == "FROM":
            stages.append(_parse_from(rest, args, len(stages), source, line_no))
        elif not stages and keyword not in ("ARG",):
            raise DockerfileError(f"{source}:{line_no}: {keyword} before the first FROM")
    if not stages:
        raise DockerfileError(f"{source}: no FROM instruction")
    final = stages[-1]
    return DockerfileBase(image=_external_base(final, stages), stages=stages, final_stage=final)


def _instructions(text: str, source: str) -> list[tuple[int, str]]:
    """Logical instructions with the line number they start on (continuations joined)."""
    escape = "\\"
    lines = text.splitlines()
    # Parser directives only at the very top, before any instruction, comment or blank line.
    for raw in lines:
        match = _DIRECTIVE.match(raw.strip())
        if not match:
            break
        if match.group(1).lower() == "escape":
            if match.group(2) not in ("\\", "`"):
                raise DockerfileError(f"{source}: invalid escape directive {match.group(2)!r}")
            escape = match.group(2)
    result: list[tuple[int, str]] = []
    current: list[str] = []
    start = 0
    for number, raw in enumerate(lines, start=1):
        stripped = raw.strip()
        if stripped.startswith("#") or (not stripped and current):
            continue  # comments (and blank lines inside a continuation) are dropped
        if not stripped:
            continue
        if not current:
            start = number
        if stripped.endswith(escape):
            current.append(stripped[: -len(escape)])
            continue
        current.append(stripped)
        result.append((start, " ".join(part.strip() for part in current)))
        current = []
    if current:
        raise DockerfileError(f"{source}:{start}: line continuation at end of file")
    return result


def _parse_arg(rest: str, source: str, line_no: int) -> list[tuple[str, str | None]]:
    try:
        words = shlex.split(rest)
    except ValueError as exc:
        raise DockerfileError(f"{source}:{line_no}: ARG: {exc}") from None
    if not words:
        raise DockerfileError(f"{source}:{line_no}: ARG needs a name")
    out: list[tuple[str, str | None]] = []
    for word in words:
        name, eq, value = word.partition("=")
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
            raise DockerfileError(f"{source}:{line_no}: invalid ARG name {name!r}")
        out.append((name, value if eq else None))
    return out


def _parse_from(rest: str, args: dict[str, str], index: int, source: str, line_no: int) -> Stage:
    words = rest.split()
    platform = None
    while words and words[0].startswith("--"):
        flag = words.pop(0)
        if flag.startswith("--platform="):
            platform = _substitute(flag.split("=", 1)[1], args, source, line_no)
        else:
            raise DockerfileError(f"{source}:{line_no}: unknown FROM flag {flag}")
    if not words:
        raise DockerfileError(f"{source}:{line_no}: FROM needs an image")
    name = None
    if len(words) == 3 and words[1].lower() == "as":
        name = words[2].lower()
    elif len(words) != 1:
        raise DockerfileError(f"{source}:{line_no}: FROM takes `image [AS name]`, got {rest!r}")
    base = _substitute(words[0], args, source, line_no)
    if not base:
        raise DockerfileError(f"{source}:{line_no}: FROM image is empty after substituting ARGs")
    return Stage(index=index, base=base, name=name, platform=platform, line=line_no)


def _substitute(value: str, args: dict[str, str], source: str, line_no: int) -> str:
    def replace(match: re.Match[str]) -> str:
        name = match.group("braced") or match.group("plain")
        op = match.group("op")
        current = args.get(name, "")
        if op is None:
            return current
        if op.startswith(":-"):
            return current or op[2:]
        return op[2:] if current else ""

    if value.count("${") != value.count("}"):
        raise DockerfileError(f"{source}:{line_no}: unbalanced ${{ in {value!r}")
    return _VAR.sub(replace, value)


def _external_base(stage: Stage, stages: list[Stage]) -> str | None:
    """Follow FROM <earlier stage> references back to an image (None for scratch)."""
    seen: set[int] = set()
    current = stage
    while True:
        if current.base.lower() == "scratch":
            return None
        earlier = next(
            (
                s
                for s in stages[: current.index]
                if s.name == current.base.lower() or str(s.index) == current.base
            ),
            None,
        )
        if earlier is None or earlier.index in seen:
            return current.base
        seen.add(earlier.index)
        current = earlier
