"""Bounded JSON parsing and typed schemas for every image document (index, manifest, config).

Image metadata is as hostile as layers: a `history` that is an int, a `config` that is
a list or a 4,000-digit size must be one clear error, not a traceback deep in the scan.
Every source (`oci:` layouts, `docker-archive:`, registries, `dir:`) parses its
documents with `load_json` (size, depth and number bounds) and checks them with
`validate` against the schemas below, in this one place, before any field is used.
Unknown fields are ignored (the specs allow extensions); `null` counts as absent
for optional fields, as Docker writes `"Labels": null`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from keelwatch.errors import ImageSourceError

MANIFEST_LIMIT = 4 << 20  # bytes of an index, manifest or docker-archive manifest.json
CONFIG_LIMIT = 8 << 20  # bytes of an image config
MAX_DEPTH = 64  # JSON nesting; real documents need fewer than 10 levels
MAX_INT_DIGITS = 20  # enough for any 64-bit size
MAX_LAYERS = 1_000  # layers per image; Docker and containerd stop at 127
MAX_MANIFESTS = 10_000  # entries of one index
MAX_HISTORY = 10_000  # config history entries


class SchemaError(ValueError):
    """A field of the wrong type; `validate` turns it into one ImageSourceError line."""


class Spec:
    """A type rule; `check` returns the value or raises SchemaError naming the field path."""

    name = "value"

    def check(self, value: Any, where: str) -> Any:
        raise NotImplementedError


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    return {bool: "a boolean", int: "an integer", float: "a number", str: "a string"}.get(
        type(value), "a list" if isinstance(value, list) else "an object" if isinstance(value, dict) else "?"
    )


def _wrong(where: str, want: str, value: Any) -> SchemaError:
    return SchemaError(f"{where or 'the document'} must be {want}, not {_type_name(value)}")


def _join(where: str, name: str) -> str:
    return f"{where}.{name}" if where else name


@dataclass(frozen=True)
class Str(Spec):
    max_len: int = 1 << 20

    def check(self, value: Any, where: str) -> Any:
        if not isinstance(value, str):
            raise _wrong(where, "a string", value)
        if len(value) > self.max_len:
            raise SchemaError(f"{where} is too long ({len(value)} characters)")
        return value


@dataclass(frozen=True)
class UInt(Spec):
    def check(self, value: Any, where: str) -> Any:
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise _wrong(where, "a non-negative integer", value)
        return value


@dataclass(frozen=True)
class Bool(Spec):
    def check(self, value: Any, where: str) -> Any:
        if not isinstance(value, bool):
            raise _wrong(where, "a boolean", value)
        return value


@dataclass(frozen=True)
class Any_(Spec):
    def check(self, value: Any, where: str) -> Any:
        return value


@dataclass(frozen=True)
class ListOf(Spec):
    item: Spec
    max_items: int = 100_000

    def check(self, value: Any, where: str) -> Any:
        if not isinstance(value, list):
            raise _wrong(where, "a list", value)
        if len(value) > self.max_items:
            raise SchemaError(f"{where or 'the document'} has {len(value)} entries (limit {self.max_items})")
        for i, item in enumerate(value):
            self.item.check(item, f"{where}[{i}]")
        return value


@dataclass(frozen=True)
class MapOf(Spec):
    """An object with arbitrary keys whose values all follow `value`."""

    value: Spec
    max_items: int = 10_000

    def check(self, value: Any, where: str) -> Any:
        if not isinstance(value, dict):
            raise _wrong(where, "an object", value)
        if len(value) > self.max_items:
            raise SchemaError(f"{where or 'the document'} has {len(value)} entries (limit {self.max_items})")
        for k, v in value.items():
            self.value.check(v, _join(where, str(k)))
        return value


@dataclass(frozen=True)
class Obj(Spec):
    """An object with known fields; `required` ones must be present and not null."""

    fields: Mapping[str, Spec]
    required: frozenset[str] = field(default_factory=frozenset)

    def check(self, value: Any, where: str) -> Any:
        if not isinstance(value, dict):
            raise _wrong(where, "an object", value)
        for name, spec in self.fields.items():
            item = value.get(name)
            if item is None:
                if name in self.required:
                    raise SchemaError(f"{where or 'the document'} has no {name}")
                continue
            spec.check(item, _join(where, name))
        return value


STR = Str()
UINT = UInt()
STRINGS = ListOf(STR)
PLATFORM = Obj(
    {
        "os": STR,
        "architecture": STR,
        "variant": STR,
        "os.version": STR,
        "os.features": STRINGS,
        "features": STRINGS,
    }
)
DESCRIPTOR = Obj(
    {
        "mediaType": STR,
        "digest": Str(200),
        "size": UINT,
        "urls": STRINGS,
        "annotations": MapOf(STR),
        "platform": PLATFORM,
        "artifactType": STR,
    },
    required=frozenset({"digest"}),
)
INDEX = Obj(
    {
        "schemaVersion": UINT,
        "mediaType": STR,
        "manifests": ListOf(DESCRIPTOR, MAX_MANIFESTS),
        "annotations": MapOf(STR),
        "subject": DESCRIPTOR,
    },
    required=frozenset({"manifests"}),
)
MANIFEST = Obj(
    {
        "schemaVersion": UINT,
        "mediaType": STR,
        "config": DESCRIPTOR,
        "layers": ListOf(DESCRIPTOR, MAX_LAYERS),
        "annotations": MapOf(STR),
        "subject": DESCRIPTOR,
        "artifactType": STR,
    },
    required=frozenset({"config", "layers"}),
)
# Only the fields keelwatch reads are typed; the rest (ExposedPorts, Healthcheck...) pass.
RUNTIME_CONFIG = Obj(
    {
        "User": STR,
        "Env": STRINGS,
        "Entrypoint": STRINGS,
        "Cmd": STRINGS,
        "WorkingDir": STR,
        "Labels": MapOf(STR),
        "StopSignal": STR,
    }
)
HISTORY = Obj({"created": STR, "author": STR, "created_by": STR, "comment": STR, "empty_layer": Bool()})
CONFIG = Obj(
    {
        "created": STR,
        "author": STR,
        "architecture": STR,
        "os": STR,
        "os.version": STR,
        "variant": STR,
        "config": RUNTIME_CONFIG,
        "rootfs": Obj({"type": STR, "diff_ids": ListOf(Str(200), MAX_LAYERS)}, frozenset({"diff_ids"})),
        "history": ListOf(HISTORY, MAX_HISTORY),
    },
    required=frozenset({"rootfs"}),
)
# docker save's manifest.json: a list of images in the tarball.
ARCHIVE_MANIFEST = ListOf(
    Obj(
        {"Config": Str(4096), "RepoTags": ListOf(STR), "Layers": ListOf(Str(4096), MAX_LAYERS)},
        required=frozenset({"Config", "Layers"}),
    ),
    MAX_MANIFESTS,
)


def _bounded_int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_INT_DIGITS:
        raise ValueError(f"integer with {len(text)} digits")
    return int(text)


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


_STRUCTURE = bytes(range(256)).translate(None, b'[]{}"')  # every byte but these


def _depth_ok(data: bytes, max_depth: int) -> bool:
    """Nesting depth of `[`/`{` outside strings at most `max_depth` (checked before parsing).

    Escaped backslashes and quotes are removed first, then every byte but quotes and
    brackets is dropped in C: the Python loop sees only the document's structure.
    """
    marks = data.replace(b"\\\\", b"").replace(b'\\"', b"").translate(None, _STRUCTURE)
    if len(marks) <= max_depth:
        return True
    depth = 0
    in_str = False
    for byte in marks:
        if byte == 0x22:
            in_str = not in_str
        elif in_str:
            continue
        elif byte in (0x5B, 0x7B):
            depth += 1
            if depth > max_depth:
                return False
        else:
            depth -= 1
    return True


def load_json(data: bytes, what: str, *, limit: int = CONFIG_LIMIT, max_depth: int = MAX_DEPTH) -> Any:
    """Parse a document already read under `limit` bytes: bounded depth and numbers, one-line errors."""
    if len(data) > limit:
        raise ImageSourceError(f"{what} is too large ({len(data)} bytes, limit {limit})")
    if not _depth_ok(data, max_depth):
        raise ImageSourceError(f"{what} is nested deeper than {max_depth} levels")
    try:
        return json.loads(data, parse_int=_bounded_int, parse_constant=_no_constant)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise ImageSourceError(f"{what} is not valid JSON: {exc}") from None


def validate(doc: Any, spec: Spec, what: str) -> Any:
    """`doc` if it follows `spec`, else ImageSourceError naming the document and the field."""
    try:
        return spec.check(doc, "")
    except SchemaError as exc:
        raise ImageSourceError(f"{what}: {exc}") from None
