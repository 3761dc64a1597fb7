"""Scan-engine fixtures: small real catalogers and images built as real OCI layouts.

The engine is what is under test, so the catalogers here are deliberately tiny but
honest parsers (dpkg status stanzas, os-release, dist-info METADATA); the content
they read comes from this machine's dpkg database wherever a real database fits.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from pathlib import Path
from types import SimpleNamespace
from typing import Any, ClassVar

import pytest

from imagebuilder import FileEntry, make_layer, write_oci_layout
from keelwatch.catalog.base import FileResult
from keelwatch.catalog.ecosystem import Ecosystem
from keelwatch.model import OSInfo, Package
from keelwatch.oci.image import Image

STATUS = "/var/lib/dpkg/status"


class StatusCataloger:
    """dpkg status stanzas -> deb packages (installed ones only)."""

    name: ClassVar[str] = "dpkgtest"
    ecosystem: ClassVar[Ecosystem | None] = None
    patterns: ClassVar[tuple[str, ...]] = (STATUS, "/var/lib/dpkg/status.d/*")
    max_file_size: ClassVar[int] = 64 << 20
    version: ClassVar[int] = 1

    def parse(self, path: str, data: bytes) -> FileResult:
        out = FileResult()
        for stanza in data.decode("utf-8").split("\n\n"):
            fields = dict(re.findall(r"^([A-Za-z-]+): ?(.*)$", stanza, re.M))
            if "Package" not in fields or "Version" not in fields:
                continue
            if "Status" in fields and not fields["Status"].endswith(" installed"):
                continue
            out.packages.append(Package(name=fields["Package"], version=fields["Version"], type="deb"))
        return out

    def finalize(self, packages: list[Package], facts: Any, os_info: OSInfo) -> list[Package]:
        for p in packages:
            p.purl = f"pkg:deb/{os_info.id or 'unknown'}/{p.name}@{p.version}"
        return packages


class OsReleaseCataloger:
    name: ClassVar[str] = "osrelease"
    ecosystem: ClassVar[Ecosystem | None] = None
    patterns: ClassVar[tuple[str, ...]] = ("/etc/os-release", "/usr/lib/os-release")
    max_file_size: ClassVar[int] = 64 << 10
    version: ClassVar[int] = 1

    def parse(self, path: str, data: bytes) -> FileResult:
        kv = dict(re.findall(r'^([A-Z_]+)="?([^"\n]*)"?$', data.decode("utf-8", "replace"), re.M))
        os_info = OSInfo(id=kv.get("ID", ""), version_id=kv.get("VERSION_ID", ""), name=kv.get("NAME", ""))
        return FileResult(facts={"os": os_info.to_dict()})

    def finalize(self, packages: list[Package], facts: Any, os_info: OSInfo) -> list[Package]:
        return packages


class MetadataCataloger:
    name: ClassVar[str] = "pymeta"
    ecosystem: ClassVar[Ecosystem | None] = None
    patterns: ClassVar[tuple[str, ...]] = ("**/*.dist-info/METADATA",)
    max_file_size: ClassVar[int] = 1 << 20
    version: ClassVar[int] = 1

    def parse(self, path: str, data: bytes) -> FileResult:
        text = data.decode("utf-8")
        name = re.search(r"^Name: (.+)$", text, re.M)
        version = re.search(r"^Version: (.+)$", text, re.M)
        if not (name and version):
            return FileResult(warnings=[f"{path}: no Name/Version"])
        return FileResult(packages=[Package(name=name[1], version=version[1], type="python")])

    def finalize(self, packages: list[Package], facts: Any, os_info: OSInfo) -> list[Package]:
        return packages


class ExplodingCataloger(StatusCataloger):
    """Raises on any file containing 'boom' (stands for a cataloger bug)."""

    name: ClassVar[str] = "exploding"

    def parse(self, path: str, data: bytes) -> FileResult:
        if b"boom" in data:
            raise RuntimeError("kaboom")
        return super().parse(path, data)


CATALOGERS: tuple[Any, ...] = (StatusCataloger(), OsReleaseCataloger(), MetadataCataloger())


def stanza(name: str, version: str) -> str:
    return f"Package: {name}\nStatus: install ok installed\nArchitecture: amd64\nVersion: {version}\n"


def status_file(*pkgs: tuple[str, str]) -> bytes:
    return "\n".join(stanza(n, v) for n, v in pkgs).encode()


@pytest.fixture(scope="session")
def real_status() -> bytes:
    """This machine's dpkg database (real content for the dpkg-shaped tests)."""
    return Path(STATUS).read_bytes()


@pytest.fixture
def catalogers() -> Sequence[Any]:
    return CATALOGERS


@pytest.fixture
def build_image(tmp_path: Path) -> Callable[..., Image]:
    """layers (lists of FileEntry) -> an Image opened from a real OCI layout on disk."""
    from keelwatch.oci.resolve import open_image

    counter = iter(range(1000))

    def build(layers: Sequence[Sequence[FileEntry]], compression: str = "gzip", **kw: Any) -> Image:
        path = tmp_path / f"layout{next(counter)}"
        built = [make_layer(list(entries), compression) for entries in layers]
        write_oci_layout(path, built, tag="t", **kw)
        return open_image(f"oci:{path}:t")

    return build


def by_name(packages: Sequence[Package]) -> dict[str, Package]:
    return {p.name: p for p in packages}


@pytest.fixture
def kit() -> SimpleNamespace:
    """Helpers for the tests (conftest modules are not importable under importlib mode)."""
    return SimpleNamespace(
        status_file=status_file,
        by_name=by_name,
        StatusCataloger=StatusCataloger,
        ExplodingCataloger=ExplodingCataloger,
        OsReleaseCataloger=OsReleaseCataloger,
        MetadataCataloger=MetadataCataloger,
        CATALOGERS=CATALOGERS,
    )
