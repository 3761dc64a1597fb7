"""The registry of catalogers the scan engine runs by default (Syft's image-scan set).

Each cataloger is a small class (see `catalog.base`); `ALL_CATALOGERS` holds one
instance of each. `npm.NpmLockCataloger` is not registered: like Syft, image scans
read installed package.json files, not lock files.
"""

from __future__ import annotations

from keelwatch.catalog.apk import ApkCataloger
from keelwatch.catalog.base import Cataloger
from keelwatch.catalog.dpkg import DpkgCataloger
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
]

__all__ = [
    "ALL_CATALOGERS",
    "ApkCataloger",
    "DpkgCataloger",
    "NpmCataloger",
    "NpmLockCataloger",
    "OsReleaseCataloger",
    "PythonCataloger",
    "RpmCataloger",
]
