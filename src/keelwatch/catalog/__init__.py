"""The registry of catalogers the scan engine runs by default (Syft's image-scan set),
and of the package types (`Ecosystem` descriptors) they declare.

Each cataloger is a small class (see `catalog.base`); `ALL_CATALOGERS` holds one
instance of each. `npm.NpmLockCataloger` is not registered: like Syft, image scans
read installed package.json files, not lock files. `ECOSYSTEMS` maps each package type
to the descriptor its cataloger declares: the one place every other floor reads it from.
"""

from __future__ import annotations

from keelwatch.catalog.apk import ApkCataloger
from keelwatch.catalog.base import Cataloger
from keelwatch.catalog.dpkg import DpkgCataloger
from keelwatch.catalog.ecosystem import Ecosystem
from keelwatch.catalog.gem import GemspecCataloger
from keelwatch.catalog.npm import NpmCataloger, NpmLockCataloger
from keelwatch.catalog.osrelease import OsReleaseCataloger
from keelwatch.catalog.python import PythonCataloger
from keelwatch.catalog.rpm import RpmCataloger

ALL_CATALOGERS: list[Cataloger] = [
    OsReleaseCataloger(),
    DpkgCataloger(),
    ApkCataloger(),
    RpmCataloger(),
    PythonCataloger(),
    NpmCataloger(),
    GemspecCataloger(),
]

ECOSYSTEMS: dict[str, Ecosystem] = {
    c.ecosystem.package_type: c.ecosystem for c in ALL_CATALOGERS if c.ecosystem is not None
}
_BY_OSV: dict[str, Ecosystem] = {e.osv_ecosystem: e for e in ECOSYSTEMS.values() if e.osv_ecosystem}


def ecosystem_for(package_type: str) -> Ecosystem | None:
    """The descriptor of a package type (`Package.type`), None for a type no cataloger declares."""
    return ECOSYSTEMS.get(package_type)


def language_ecosystem(osv_ecosystem: str) -> Ecosystem | None:
    """The descriptor of a language package type by its OSV ecosystem ("PyPI" -> python)."""
    return _BY_OSV.get(osv_ecosystem)


__all__ = [
    "ALL_CATALOGERS",
    "ECOSYSTEMS",
    "ApkCataloger",
    "DpkgCataloger",
    "Ecosystem",
    "GemspecCataloger",
    "NpmCataloger",
    "NpmLockCataloger",
    "OsReleaseCataloger",
    "PythonCataloger",
    "RpmCataloger",
    "ecosystem_for",
    "language_ecosystem",
]
