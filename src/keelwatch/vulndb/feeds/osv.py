"""OSV records: the public bucket's `<Ecosystem>/all.zip`, a directory of JSON/YAML files, one document.

Each document is parsed on its own so memory stays bounded by the largest record;
a member that is not valid JSON/YAML is a bad record (skipped with a warning),
a zip that cannot be read (truncated, CRC error) rejects the whole update.
"""

from __future__ import annotations

import zipfile
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

from keelwatch.errors import FeedError
from keelwatch.vulndb.feeds.base import BadRecord, Report, advisory_from_osv, parse_json
from keelwatch.vulndb.model import Advisory

DEFAULT_BASE = "https://osv-vulnerabilities.storage.googleapis.com/"
DEFAULT_ECOSYSTEMS = ("Debian", "Alpine", "Ubuntu", "PyPI", "npm", "Go", "Maven", "crates.io", "RubyGems")
MAX_RECORD_BYTES = 32 * 1024 * 1024
SUFFIXES = (".json", ".yaml", ".yml")


class _NoDatesLoader(yaml.SafeLoader):
    """SafeLoader that keeps timestamps as strings, as OSV JSON has them."""


_NoDatesLoader.yaml_implicit_resolvers = {
    ch: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for ch, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _parse(data: bytes, name: str) -> Any:
    """One record, with the bounds of every hostile document (depth, digits, YAML aliases and tags)."""
    if not name.endswith((".yaml", ".yml")):
        try:
            return parse_json(data, "record", error=BadRecord)
        except BadRecord as exc:
            raise BadRecord(f"invalid JSON: {exc}") from None
    from keelwatch.userfile import parse_yaml

    try:
        return parse_yaml(data.decode("utf-8"), "record", loader=_NoDatesLoader, error=FeedError)
    except UnicodeDecodeError as exc:
        raise BadRecord(f"invalid YAML: not UTF-8 text (byte {exc.start})") from None
    except FeedError as exc:
        raise BadRecord(str(exc)) from None


def _records(doc: Any, name: str, source: str, report: Report) -> Iterator[Advisory]:
    for i, item in enumerate(doc if isinstance(doc, list) else [doc]):
        where = name if not isinstance(doc, list) else f"{name}[{i}]"
        try:
            yield advisory_from_osv(item, source, where)
        except BadRecord as exc:
            report.bad(where, str(exc))


def read_zip(path: Path, report: Report, source: str = "osv") -> Iterator[Advisory]:
    """Every OSV record in an all.zip; FeedError if the archive itself is unreadable."""
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise FeedError(f"{report.feed}: {path.name} is not a readable zip archive: {exc}") from None
    with archive:
        for info in archive.infolist():
            if info.is_dir() or not info.filename.endswith(SUFFIXES):
                continue
            if info.file_size > MAX_RECORD_BYTES:
                report.bad(info.filename, f"record of {info.file_size} bytes exceeds the limit")
                continue
            try:
                data = archive.read(info)
            except (
                zipfile.BadZipFile,
                zlib.error,
                EOFError,
                OSError,
                ValueError,
                NotImplementedError,
            ) as exc:
                raise FeedError(f"{report.feed}: {path.name} is corrupt at {info.filename}: {exc}") from None
            try:
                doc = _parse(data, info.filename)
            except BadRecord as exc:
                report.bad(info.filename, str(exc))
                continue
            yield from _records(doc, info.filename, source, report)


def read_path(path: Path, report: Report, source: str = "osv") -> Iterator[Advisory]:
    """A zip, one JSON/YAML document (object or list), or a directory tree of them."""
    if path.is_dir():
        files = sorted(p for p in path.rglob("*") if p.is_file() and p.name.endswith(SUFFIXES))
        if not files:
            raise FeedError(f"{report.feed}: no OSV .json/.yaml files under {path}")
    elif path.is_file():
        with path.open("rb") as fh:
            is_zip = fh.read(4) == b"PK\x03\x04"
        if is_zip or path.name.endswith(".zip"):
            yield from read_zip(path, report, source)
            return
        files = [path]
    else:
        raise FeedError(f"{report.feed}: {path} does not exist")
    for file in files:
        rel = file.name if file == path else str(file.relative_to(path))
        if file.stat().st_size > MAX_RECORD_BYTES:
            report.bad(rel, "file exceeds the size limit")
            continue
        try:
            doc = _parse(file.read_bytes(), file.name)
        except BadRecord as exc:
            if file == path:  # a single document given on purpose: that is the whole input
                raise FeedError(f"{report.feed}: {path}: {exc}") from None
            report.bad(rel, str(exc))
            continue
        yield from _records(doc, rel, source, report)
