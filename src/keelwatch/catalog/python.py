"""The python cataloger: installed distributions from *.dist-info/METADATA, *.egg-info and eggs.

Like Syft's python-installed-package-cataloger: every METADATA / PKG-INFO (and the
single-file `*.egg-info` form) is one package, so a distribution present both as
dist-info and egg-info is reported twice, once per location. The name is
normalised as PEP 503 does (lower-case, runs of `-_.` become `-`), which is what
Syft reports and what the PyPI purl needs.

Only the header block of the core-metadata file is parsed (everything before the
first blank line; the description body can be megabytes) with a tolerant
RFC 822-style reader: continuation lines, invalid UTF-8 and garbage lines cost a
warning at most. Licences: `License-Expression` (PEP 639), else a short `License`
field, else the `License ::` Trove classifiers. Syft keeps whole licence texts
pasted into `License` and ignores classifiers; keelwatch drops texts (multi-line
or longer than `_SHORT`) and uses the classifiers instead, so every package gets
usable licence names.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar

from keelwatch.catalog.base import FileResult
from keelwatch.catalog.ecosystem import Ecosystem
from keelwatch.catalog.licenses import unique
from keelwatch.catalog.purls import build_purl
from keelwatch.model import OSInfo, Package

# Header block cap: real METADATA headers are a few KB; the rest is the description.
HEADER_CAP = 256 * 1024
_SHORT = 120
_NORMALISE = re.compile(r"[-_.]+")
_HEADER = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]*")


def normalise_name(name: str) -> str:
    """PEP 503 normalised project name."""
    return _NORMALISE.sub("-", name).lower()


# PyPI advisories name projects in any spelling: both sides are compared PEP 503-normalised.
ECOSYSTEM = Ecosystem(
    package_type="python",
    kind="language",
    purl_type="pypi",
    version_scheme="pep440",
    upgrade_command="pip install",
    upgrade_arg="{name}>={version}",
    osv_ecosystem="PyPI",
    normalize_name=normalise_name,
)


def parse_headers(text: str) -> tuple[dict[str, list[str]], list[str]]:
    """`Key: value` headers up to the first blank line; returns (fields, bad lines)."""
    fields: dict[str, list[str]] = {}
    bad: list[str] = []
    last: list[str] | None = None
    for line in text.split("\n"):
        line = line.rstrip("\r")
        if not line:
            break  # the blank line before the body; whitespace-only lines continue a field
        if line[0] in " \t":
            if last is not None:
                last[-1] += "\n" + line.strip()
            continue
        key, sep, value = line.partition(":")
        if not sep or not _HEADER.fullmatch(key):
            bad.append(line)
            last = None
            continue
        last = fields.setdefault(key.lower(), [])
        last.append(value.strip())
    return fields, bad


def _classifier_licenses(classifiers: list[str]) -> list[str]:
    out = []
    for c in classifiers:
        parts = [p.strip() for p in c.split("::")]
        if len(parts) >= 2 and parts[0] == "License" and parts[-1] not in ("OSI Approved", ""):
            out.append(parts[-1])
    return out


def licenses_from(fields: dict[str, list[str]]) -> list[str]:
    if expr := (fields.get("license-expression") or [""])[0].strip():
        return [expr]
    lic = (fields.get("license") or [""])[0].strip()
    if lic and "\n" not in lic and len(lic) <= _SHORT and lic.upper() not in ("UNKNOWN", "NONE"):
        return [lic]
    return unique(_classifier_licenses(fields.get("classifier", [])))


class PythonCataloger:
    name: ClassVar[str] = "python"
    ecosystem: ClassVar[Ecosystem | None] = ECOSYSTEM
    patterns: ClassVar[tuple[str, ...]] = (
        "**/*.dist-info/METADATA",
        "**/*.egg-info/PKG-INFO",
        "**/*.egg-info",
        "**/EGG-INFO/PKG-INFO",  # an unpacked egg directory (easy_install / setuptools eggs)
    )
    max_file_size: ClassVar[int] = 16 * 1024 * 1024
    version: ClassVar[int] = 2

    def parse(self, path: str, data: bytes) -> FileResult:
        warnings: list[str] = []
        end = data.find(b"\n\n", 0, HEADER_CAP)
        head = data[: end if end >= 0 else HEADER_CAP]
        try:
            text = head.decode("utf-8")
        except UnicodeDecodeError as exc:
            warnings.append(f"{path}: invalid UTF-8 at byte {exc.start}, replaced")
            text = head.decode("utf-8", "replace")
        fields, bad = parse_headers(text)
        if bad:
            warnings.append(f"{path}: {len(bad)} unparseable header line(s), first {bad[0][:60]!r}")
        raw_name = (fields.get("name") or [""])[0]
        version = (fields.get("version") or [""])[0]
        if not raw_name or not version:
            warnings.append(f"{path}: no Name/Version in the metadata, skipped")
            return FileResult(warnings=warnings)
        name = normalise_name(raw_name)
        metadata: dict[str, Any] = {"name": raw_name}
        if mv := (fields.get("metadata-version") or [""])[0]:
            metadata["metadata_version"] = mv
        pkg = Package(
            name=name,
            version=version,
            type=ECOSYSTEM.package_type,
            purl=build_purl(ECOSYSTEM.purl_type, name, version),
            licenses=licenses_from(fields),
            locations=[path],
            metadata=metadata,
        )
        return FileResult(packages=[pkg], warnings=warnings)

    def finalize(
        self, packages: list[Package], facts: list[tuple[str, dict[str, Any]]], os_info: OSInfo
    ) -> list[Package]:
        return packages
