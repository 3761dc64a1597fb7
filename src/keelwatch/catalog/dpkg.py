"""The dpkg cataloger: installed Debian packages from /var/lib/dpkg/status (and distroless status.d).

Speed matters (a full Debian status file is ~1 MB and ~1,000 stanzas): stanzas are
split on blank lines and only the few fields we need are located with `str.find`,
so no line-by-line Python loop runs over the large Description/Conffiles bodies.

Which stanzas count as installed follows Syft (the bench reference), which keeps
every stanza whose Status does not say `deinstall`: half-installed, unpacked and
half-configured packages have files on disk, so they are reported. On top of
that, stanzas whose state is `not-installed` or `config-files` (only conffiles left)
are dropped: nothing of them is installed, and Syft rarely sees them because
`dpkg --purge`/`--remove` normally also set the want to purge/deinstall. Stanzas
without Status (distroless status.d files are raw control files) are installed.

Licences come from /usr/share/doc/<package>/copyright (DEP-5 `License:` lines and
/usr/share/common-licenses/ references, as Syft reads them): each copyright file
is parsed alone into a fact and joined to its package in `finalize`, where the
purl also gets its distro qualifier from the image's OS.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar

from keelwatch.catalog.base import FileResult, decode_text
from keelwatch.catalog.ecosystem import Ecosystem, major
from keelwatch.catalog.purls import build_purl, distro_qualifier
from keelwatch.model import OSInfo, Package

STATUS = "/var/lib/dpkg/status"
STATUS_D = "/var/lib/dpkg/status.d/"
DOC = "/usr/share/doc/"
MAX_WARNINGS = 20
# Copyright files: only the head is scanned (some are megabytes of licence texts).
COPYRIGHT_SCAN = 4 * 1024 * 1024

# A stanza must open with a `Field:` line (field names: printable ASCII without ':' or space).
_OPENING = re.compile(r"[!-9;-~]+[ \t]*:")
_SOURCE = re.compile(r"(\S+)(?:\s+\((.*)\))?")
# Anchored on "\n" (the text gets a leading and trailing one): much faster than `^` + re.M.
_LICENSE_LINE = re.compile(r"\nLicense:[ \t]*(\S+)")
_LICENSE_ALONE = re.compile(r"\nLicense:[ \t]*(\S+)[ \t]*(?=\n)")
# Machine-readable (DEP-5) copyright files start with a header paragraph holding Format
# (old drafts without it start with Upstream-Name or Files).
_DEP5 = re.compile(r"\s*(?:Format|Upstream-Name|Files)[ \t]*:")
_COMMON = re.compile(r"/usr/share/common-licenses/([0-9A-Za-z_.\-]+)")
_SKIP_STATES = ("not-installed", "config-files")


def _ubuntu(version_id: str) -> str:
    """Even-year April releases are LTS; OSV names them "Ubuntu:22.04:LTS"."""
    year, _, month = version_id.partition(".")
    lts = month == "04" and year.isdigit() and int(year) % 2 == 0
    return f"Ubuntu:{version_id}:LTS" if lts else f"Ubuntu:{version_id}"


# Debian's tracker and OSV's Debian export are keyed by source package and version: binary
# packages inherit their source's findings and are upgraded together. A Debian without
# VERSION_ID (testing/sid) has no advisory ecosystem. Ubuntu Pro streams are not matched
# (the image does not say whether Pro/ESM is enabled).
ECOSYSTEM = Ecosystem(
    package_type="deb",
    kind="os",
    purl_type="deb",
    version_scheme="dpkg",
    upgrade_command="apt-get install --only-upgrade",
    upgrade_arg="{name}={version}",
    distros={"debian": lambda v: f"Debian:{major(v)}", "ubuntu": _ubuntu},
    by_source_name=True,
    by_source_version=True,
    upgrade_whole_source=True,
)


def _single_license(candidate: str) -> str:
    """Syft's cleaning of one licence clause: summaries with and/or are dropped, trailing '.' cut."""
    candidate = candidate.strip()
    if " or " in candidate or " and " in candidate:
        return ""
    if candidate and candidate.lower() != "none":
        return candidate.removesuffix(".")
    return ""


def parse_copyright(text: str) -> list[str]:
    """Licence names from a Debian copyright file, sorted and unique.

    In machine-readable (DEP-5) files the first word of every `License:` line is a
    licence short name, as Syft reads it. In free-form files `License:` often starts
    prose ("License: Permission is hereby granted"), which Syft 1.18 reports as junk
    licences ("Permission"); there only a `License:` line holding a single word
    counts. Unlike Syft, a tab or several spaces after the colon are accepted (DEP-5
    allows them; Syft misses libglvnd's `License:<TAB>public-domain`). References to
    /usr/share/common-licenses/ count in every file.
    """
    pattern = _LICENSE_LINE if _DEP5.match(text) else _LICENSE_ALONE
    found = {_single_license(m) for m in pattern.findall(f"\n{text}\n")}
    found.update(_single_license(m) for m in _COMMON.findall(text))
    found.discard("")
    return sorted(found)


def _installed(status: str | None) -> bool:
    if status is None:
        return True
    parts = status.split()
    if "deinstall" in parts[:1]:
        return False
    return not (len(parts) >= 3 and parts[2] in _SKIP_STATES)


def _field(stanza: str, key: str) -> str | None:
    """Value of the field `key` ("\nVersion:") in a stanza that starts with "\n"; first line only."""
    i = stanza.find(key)
    if i < 0:
        return None
    i += len(key)
    j = stanza.find("\n", i)
    return stanza[i:j].strip() if j >= 0 else stanza[i:].strip()


def parse_status(path: str, text: str) -> tuple[list[Package], list[str]]:
    """Every installed stanza of a status file (or one status.d file) as a Package.

    Fields are located with `str.find` (C speed) rather than a per-line loop. A
    stanza that does not open with a field, or lacks Package or Version, is
    skipped with a warning; stray lines inside an otherwise sound stanza do not
    change the fields we read and are ignored (as dpkg-query ignores them).
    """
    packages: list[Package] = []
    warnings: list[str] = []
    bad = 0
    for index, block in enumerate(text.split("\n\n")):
        block = block.lstrip("\n")
        if not block.strip():
            continue
        stanza = "\n" + block
        name = _field(stanza, "\nPackage:") or ""
        version = _field(stanza, "\nVersion:") or ""
        if not name or not version or not _OPENING.match(block):
            bad += 1
            if bad <= MAX_WARNINGS:
                first = block.split("\n", 1)[0][:60]
                what = "no Package/Version" if _OPENING.match(block) else f"unparseable line {first!r}"
                warnings.append(f"{path}: stanza {index + 1} ({name or 'unnamed'}): {what}, skipped")
            continue
        status = _field(stanza, "\nStatus:")
        if not _installed(status):
            continue
        arch = _field(stanza, "\nArchitecture:") or ""
        source = _field(stanza, "\nSource:")
        src_name, src_version = name, version
        metadata: dict[str, Any] = {"arch": arch}
        if source:
            metadata["source"] = source
            m = _SOURCE.match(source)
            if m:
                src_name = m.group(1)
                src_version = m.group(2) or version
        if status:
            metadata["status"] = status
        pkg = Package(
            name=name,
            version=version,
            type=ECOSYSTEM.package_type,
            source_name=src_name,
            source_version=src_version,
            locations=[path],
            metadata=metadata,
        )
        if lic := _field(stanza, "\nLicense:"):  # opkg-style inline licences
            pkg.licenses = lic.split()
        packages.append(pkg)
    if bad > MAX_WARNINGS:
        warnings.append(f"{path}: {bad - MAX_WARNINGS} more malformed stanzas skipped")
    return packages, warnings


def upstream_qualifier(metadata: dict[str, Any]) -> str:
    """Syft's `upstream`: the Source field as `name@version` when it has a version, else the name."""
    source = metadata.get("source") or ""
    m = _SOURCE.match(source)
    if not m:
        return ""
    return f"{m.group(1)}@{m.group(2)}" if m.group(2) else m.group(1)


def deb_purl(pkg: Package, os_info: OSInfo) -> str:
    """Syft's deb purl. Namespace = the distro ID when it is Debian or Debian-like (Ubuntu, ...).

    Syft leaves the purl empty when the OS is unknown; keelwatch still writes
    `pkg:deb/debian/...` then (without `distro`), because a dpkg database is Debian's.
    For a non-Debian OS (a dpkg database on Alpine, say) the purl stays empty, as in Syft.
    """
    if os_info.empty:
        namespace, distro = "debian", ""
    elif os_info.id == "debian" or "debian" in os_info.id_like:
        namespace, distro = os_info.id, distro_qualifier(os_info)
    else:
        return ""
    qualifiers = {
        "arch": pkg.metadata.get("arch", ""),
        "upstream": upstream_qualifier(pkg.metadata),
        "distro": distro,
    }
    return build_purl(ECOSYSTEM.purl_type, pkg.name, pkg.version, namespace, qualifiers)


class DpkgCataloger:
    name: ClassVar[str] = "dpkg"
    ecosystem: ClassVar[Ecosystem | None] = ECOSYSTEM
    patterns: ClassVar[tuple[str, ...]] = (STATUS, STATUS_D + "*", DOC + "*/copyright")
    max_file_size: ClassVar[int] = 64 * 1024 * 1024
    version: ClassVar[int] = 1

    def parse(self, path: str, data: bytes) -> FileResult:
        if path.startswith(DOC):
            text = data[:COPYRIGHT_SCAN].decode("utf-8", "replace").replace("\r\n", "\n")
            package = path[len(DOC) :].split("/", 1)[0]
            return FileResult(facts={"copyright": {"package": package, "licenses": parse_copyright(text)}})
        if path.startswith(STATUS_D) and path.endswith((".md5sums", ".conffiles")):
            return FileResult()
        warnings: list[str] = []
        text = decode_text(path, data, warnings)
        packages, more = parse_status(path, text)
        warnings.extend(more)
        return FileResult(packages=packages, warnings=warnings)

    def finalize(
        self, packages: list[Package], facts: list[tuple[str, dict[str, Any]]], os_info: OSInfo
    ) -> list[Package]:
        copyrights: dict[str, tuple[str, list[str]]] = {}
        for path, fact in facts:
            c = fact.get("copyright")
            if isinstance(c, dict) and isinstance(c.get("package"), str):
                lic = [x for x in c.get("licenses") or [] if isinstance(x, str)]
                copyrights[c["package"]] = (path, lic)
        # Debian policy 12.5: /usr/share/doc/<pkg> may be a symlink only to the doc directory
        # of a package built from the same source. The engine offers files at their real
        # path, so such packages take the copyright of a same-source sibling.
        by_source: dict[str, tuple[str, list[str]]] = {}
        for pkg in sorted(packages, key=lambda p: p.name):
            if pkg.name in copyrights and pkg.source_name:
                by_source.setdefault(pkg.source_name, copyrights[pkg.name])
        for pkg in packages:
            hit = copyrights.get(pkg.name) or by_source.get(pkg.source_name or "")
            if hit is not None:
                path, lic = hit
                if lic:
                    pkg.licenses = sorted(set(pkg.licenses) | set(lic))
                if path not in pkg.locations:
                    pkg.locations.append(path)
            pkg.purl = deb_purl(pkg, os_info)
        return packages
