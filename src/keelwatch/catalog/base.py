"""The cataloger contract: a declarative list of path globs plus pure parse functions.

Modelled on Syft's catalogers and osv-scalibr's extractors: the scan engine walks
the layers, offers each regular file whose normalised absolute path matches one of
a cataloger's `patterns` (the cheap filter), reads at most `max_file_size` bytes and
calls `parse(path, data)`. Parsing never touches the filesystem, the network or
other files, which makes every cataloger a pure, cacheable function of one file:
its result can be cached per layer diff_id.

After all layers are merged, the engine calls `finalize(packages, facts, os_info)`
once per cataloger with the packages that survived (not whited out) and every
fact its files produced; finalize fills purls (which need the distro qualifier
from os-release, possibly in another layer) and cross-file details such as
licences from copyright files.

Every attribute below is required (the scan engine and the layer cache read them
directly): a cataloger is typed by this Protocol, not probed with getattr defaults.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol

from keelwatch.catalog.ecosystem import Ecosystem
from keelwatch.model import OSInfo, Package


@dataclass(slots=True)
class FileResult:
    """What one file yields: packages, side facts for finalize, and warnings."""

    packages: list[Package] = field(default_factory=list)
    facts: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


def decode_text(path: str, data: bytes, warnings: list[str]) -> str:
    """UTF-8 with CRLF line ends made LF; bad bytes are replaced and cost one warning naming the file."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        warnings.append(f"{path}: invalid UTF-8 at byte {exc.start}, replaced")
        text = data.decode("utf-8", "replace")
    if "\r" in text:
        text = text.replace("\r\n", "\n")
    return text


class Cataloger(Protocol):
    """One package ecosystem (or the OS identity). Implementations are small modules."""

    name: ClassVar[str]
    # The package type this cataloger produces (None for the OS identity): registered once here.
    ecosystem: ClassVar[Ecosystem | None]
    # Globs on normalised absolute paths: "/var/lib/dpkg/status", "**/*.dist-info/METADATA".
    # "**/" matches any number of directories (including none); "*" never crosses "/".
    patterns: ClassVar[tuple[str, ...]]
    max_file_size: ClassVar[int]
    # Bump when parse output changes so cached layer catalogues are not reused.
    version: ClassVar[int]

    def parse(self, path: str, data: bytes) -> FileResult: ...

    def finalize(
        self, packages: list[Package], facts: list[tuple[str, dict[str, Any]]], os_info: OSInfo
    ) -> list[Package]: ...
