"""`Ecosystem`: what keelwatch knows about one package type, declared once beside its cataloger.

A package type (Syft's name: `deb`, `apk`, `rpm`, `python`, `npm`) needs the same handful of
facts in several floors: the purl type (SBOMs), the version scheme (matching, remediation),
the OSV ecosystem its advisories are published under (or how to derive it per distro
release), which name and version an advisory is keyed by, and the upgrade command. Each
cataloger module declares one `Ecosystem` with all of them and hangs it on its cataloger
class; `keelwatch.catalog.ECOSYSTEMS` collects them, and the matcher, the version schemes,
remediation and the store read that registry instead of testing `pkg.type == ...`.

The descriptor is plain data: the matcher (`vulndb.ecosystems`), remediation
(`vulndb.remediation`) and the schemes (`vulndb.versions`, looked up by `version_scheme`
name) apply it. See docs/new-cataloger.md for adding one.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Literal


def major(version_id: str) -> str:
    """`12.5` -> `12`: most distros publish advisories per major release."""
    return version_id.split(".", 1)[0]


def major_minor(version_id: str) -> str:
    """`3.19.1` -> `3.19`."""
    return ".".join(version_id.split(".")[:2])


def _same(name: str) -> str:
    return name


@dataclass(frozen=True, slots=True)
class Ecosystem:
    """One package type. `kind` "os" packages come from a distro; "language" ones do not."""

    package_type: str  # Package.type, Syft's name
    kind: Literal["os", "language"]
    purl_type: str
    version_scheme: str  # a scheme name in vulndb.versions.SCHEMES ("dpkg", "pep440", ...)
    # Upgrade: `upgrade_command` followed by one shell-quoted `upgrade_arg` per package name.
    upgrade_command: str
    upgrade_arg: str  # str.format template with {name} and {version}
    # Language ecosystems: the one OSV ecosystem ("PyPI", "npm").
    osv_ecosystem: str | None = None
    # OS ecosystems: os-release ID -> OSV ecosystem of a VERSION_ID ("debian" -> "Debian:12").
    # A distro not listed (or without VERSION_ID) has no advisory data: its packages are unmatched.
    distros: Mapping[str, Callable[[str], str]] = field(default_factory=dict)
    # How the advisory data keys a package: its name as the feed normalises it, and whether
    # by the source package's name (and version) instead of the binary package's.
    normalize_name: Callable[[str], str] = _same
    by_source_name: bool = False
    by_source_version: bool = False
    # The fix is a source version: every installed binary built from it must move together.
    upgrade_whole_source: bool = False

    @property
    def is_os(self) -> bool:
        return self.kind == "os"

    def osv_ecosystem_for(self, os_id: str, version_id: str) -> str | None:
        """The OSV ecosystem of this package type in an image of (os_id, version_id), or None."""
        if self.osv_ecosystem is not None:
            return self.osv_ecosystem
        if not version_id:
            return None
        derive = self.distros.get(os_id.lower())
        return derive(version_id) if derive else None

    def lookup(
        self, name: str, version: str, source_name: str | None, source_version: str | None
    ) -> tuple[str, str]:
        """(name, version) as the advisory data indexes this package."""
        key_name = (source_name or name) if self.by_source_name else name
        key_version = (source_version or version) if self.by_source_version else version
        return self.normalize_name(key_name), key_version
