"""Reading the files a user passes (VEX, ignore files, policies, config, Dockerfiles) with bounds.

Every such file is hostile until parsed: a FIFO or /dev/zero given as a path, a 2 GB file,
JSON or YAML nested 100,000 deep (RecursionError in the parsers), YAML Python tags, or a
YAML alias bomb ("billion laughs": a few hundred bytes that expand to gigabytes once the
data is walked). This module opens regular files only (oci.safefile), parses JSON with the
bounds of the image documents (oci.schema), bounds YAML depth and the expanded size of
aliases, and turns every failure into ONE error line naming the file and the problem.
Callers choose the error class (PolicyError, SuppressionError, ...), so messages stay theirs.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from keelwatch.errors import ImageSourceError, KeelwatchError

if TYPE_CHECKING:  # yaml is imported only when a YAML file is read: config.py sits on every start-up
    import yaml

MAX_BYTES = 16 * 1024 * 1024  # larger than any real policy, VEX or ignore file
MAX_DEPTH = 64  # nesting of mappings and sequences
MAX_NODES = 1_000_000  # scalars + collections after expanding every alias


class UserFileError(KeelwatchError):
    """A user-supplied file cannot be read or is malformed."""


def read_bytes(
    path: Path, *, what: str = "file", limit: int = MAX_BYTES, error: type[KeelwatchError] = UserFileError
) -> bytes:
    """The content of a regular file, at most `limit` bytes; never blocks on a FIFO or device."""
    from keelwatch.oci.safefile import read_regular

    try:
        return read_regular(path, limit, f"{path}: {what}", follow=True)
    except ImageSourceError as exc:
        raise error(str(exc)) from None


def read_text(
    path: Path, *, what: str = "file", limit: int = MAX_BYTES, error: type[KeelwatchError] = UserFileError
) -> str:
    data = read_bytes(path, what=what, limit=limit, error=error)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise error(f"{path}: {what} is not UTF-8 text (byte {exc.start})") from None


def parse_json(data: bytes, source: str, *, error: type[KeelwatchError] = UserFileError) -> Any:
    """JSON with bounded size, depth and numbers (the image documents' parser); one line naming `source`."""
    from keelwatch.oci.schema import load_json as load_bounded

    try:
        return load_bounded(data, source, limit=MAX_BYTES, max_depth=MAX_DEPTH)
    except ImageSourceError as exc:
        raise error(str(exc)) from None


def load_json(path: Path, *, what: str = "file", error: type[KeelwatchError] = UserFileError) -> Any:
    return parse_json(read_bytes(path, what=what, error=error), f"{path}: {what}", error=error)


def compose_yaml(
    text: str,
    source: str,
    *,
    loader: type[yaml.SafeLoader] | None = None,
    error: type[KeelwatchError] = UserFileError,
) -> yaml.Node | None:
    """The node graph of a YAML document, checked for depth, Python tags and alias expansion."""
    import yaml

    try:
        node = yaml.compose(text, Loader=loader or yaml.SafeLoader)
    except (RecursionError, yaml.YAMLError) as exc:
        raise _yaml_error(exc, source, error) from None
    if node is not None:
        _check_nodes(node, source, error)
    return node


def construct_yaml(
    node: yaml.Node | None,
    source: str,
    *,
    loader: type[yaml.SafeLoader] | None = None,
    error: type[KeelwatchError] = UserFileError,
) -> Any:
    """Python data from a node graph checked by compose_yaml (safe constructors only)."""
    import yaml

    if node is None:
        return None
    try:
        return (loader or yaml.SafeLoader)("").construct_document(node)
    except (RecursionError, yaml.YAMLError) as exc:
        raise _yaml_error(exc, source, error) from None
    except (ValueError, OverflowError) as exc:  # a scalar its tag cannot hold: `2020-13-45`, 5,000 digits
        raise error(f"{source}: invalid YAML value: {exc}") from None


def _yaml_error(exc: Exception, source: str, error: type[KeelwatchError]) -> KeelwatchError:
    if isinstance(exc, RecursionError):
        return error(f"{source}: YAML nested too deeply")
    mark = getattr(exc, "problem_mark", None)
    where = f"{source}:{mark.line + 1}" if mark else source
    return error(f"{where}: invalid YAML: {getattr(exc, 'problem', None) or exc}")


def parse_yaml(
    text: str,
    source: str,
    *,
    loader: type[yaml.SafeLoader] | None = None,
    error: type[KeelwatchError] = UserFileError,
) -> Any:
    node = compose_yaml(text, source, loader=loader, error=error)
    return construct_yaml(node, source, loader=loader, error=error)


def load_yaml(
    path: Path,
    *,
    what: str = "file",
    loader: type[yaml.SafeLoader] | None = None,
    error: type[KeelwatchError] = UserFileError,
) -> Any:
    return parse_yaml(read_text(path, what=what, error=error), str(path), loader=loader, error=error)


def _check_nodes(root: yaml.Node, source: str, error: type[KeelwatchError]) -> None:
    """Depth, Python tags, and the size the graph has once every alias is expanded."""

    expanded: dict[int, tuple[int, int]] = {}  # id(node) -> (node count, height) with aliases expanded
    # iterative post-order walk (no recursion on hostile input): (node, depth, children_done)
    stack: list[tuple[yaml.Node, int, bool]] = [(root, 1, False)]
    on_path: set[int] = set()
    while stack:
        node, depth, done = stack.pop()
        key = id(node)
        if done:
            on_path.discard(key)
            sizes = [expanded[id(c)] for c in _children(node)]
            total = 1 + sum(n for n, _ in sizes)
            height = 1 + max((h for _, h in sizes), default=0)
            line = node.start_mark.line + 1
            if total > MAX_NODES:
                raise error(
                    f"{source}:{line}: YAML aliases expand to more than {MAX_NODES:,} nodes (alias bomb?)"
                )
            if height > MAX_DEPTH:
                raise error(f"{source}:{line}: YAML aliases nest deeper than {MAX_DEPTH} levels")
            expanded[key] = (total, height)
            continue
        if key in expanded:
            continue
        if key in on_path:
            raise error(f"{source}:{node.start_mark.line + 1}: recursive YAML alias")
        if depth > MAX_DEPTH:
            raise error(f"{source}:{node.start_mark.line + 1}: YAML nested deeper than {MAX_DEPTH} levels")
        if node.tag.startswith("tag:yaml.org,2002:python/"):
            raise error(f"{source}:{node.start_mark.line + 1}: Python tags like !!python/... are not allowed")
        on_path.add(key)
        stack.append((node, depth, True))
        stack.extend((child, depth + 1, False) for child in _children(node))


def _children(node: yaml.Node) -> list[yaml.Node]:
    import yaml

    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    return []
