"""Which (OSV ecosystem, name, version) to look a package up under.

Distro packages are matched the way the distros publish advisories:

- deb on Debian  -> "Debian:<major of VERSION_ID>", keyed by the *source* package and
  its version (binary packages inherit their source package's findings, as Debian's
  tracker and OSV's Debian export are keyed by source package). Ubuntu -> "Ubuntu:<VERSION_ID>",
  with OSV's ":LTS" suffix for LTS releases ("Ubuntu:22.04:LTS"); Ubuntu Pro streams are not
  matched (the image does not say whether Pro/ESM is enabled).
  A Debian without VERSION_ID (testing/sid) is not matched: no advisory ecosystem exists.
- apk on Alpine  -> "Alpine:v<major.minor>", keyed by the origin package (secdb's key).
- rpm            -> the OSV ecosystem of the distro where one exists with a plain
  numeric release: "Rocky Linux:<major>", "AlmaLinux:<major>", "openEuler:<VERSION_ID>",
  "Mageia:<VERSION_ID>", "openSUSE:Leap <VERSION_ID>", "Azure Linux:<major.0>"; keyed by
  binary package name. Not matched: RHEL/CentOS/Fedora/Amazon Linux (OSV's "Red Hat"
  ecosystem is per product stream/CPE, which the image does not reveal) and SLES.
- python         -> "PyPI" with the PEP 503-normalised name; npm -> "npm".

A deb/apk/rpm package in an image whose os-release names another distro (e.g. a deb
in an Alpine image) is not matched: there is no advisory data for that combination.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from keelwatch.model import APK, DEB, NPM, PYTHON, RPM, OSInfo, Package


@dataclass(frozen=True, slots=True)
class Query:
    """One knowledge-base lookup: ecosystem, name as indexed, installed version."""

    ecosystem: str
    name: str
    version: str


def pep503(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _major(version_id: str) -> str:
    return version_id.split(".", 1)[0]


def _major_minor(version_id: str) -> str:
    return ".".join(version_id.split(".")[:2])


def _ubuntu_lts(version_id: str) -> bool:
    """Even-year April releases are LTS; OSV names them "Ubuntu:22.04:LTS"."""
    year, _, month = version_id.partition(".")
    return month == "04" and year.isdigit() and int(year) % 2 == 0


_RPM_DISTROS = {
    "rocky": lambda v: f"Rocky Linux:{_major(v)}",
    "almalinux": lambda v: f"AlmaLinux:{_major(v)}",
    "openeuler": lambda v: f"openEuler:{v}",
    "mageia": lambda v: f"Mageia:{v}",
    "opensuse-leap": lambda v: f"openSUSE:Leap {v}",
    "azurelinux": lambda v: f"Azure Linux:{_major(v)}.0",
}


def distro_ecosystem(pkg_type: str, os_id: str, version_id: str) -> str | None:
    """The OSV ecosystem for an OS package type on a distro release, or None when unmatched."""
    os_id = os_id.lower()
    if not version_id:
        return None
    if pkg_type == DEB:
        if os_id == "debian":
            return f"Debian:{_major(version_id)}"
        if os_id == "ubuntu":
            return f"Ubuntu:{version_id}:LTS" if _ubuntu_lts(version_id) else f"Ubuntu:{version_id}"
        return None
    if pkg_type == APK:
        return f"Alpine:v{_major_minor(version_id)}" if os_id == "alpine" else None
    if pkg_type == RPM:
        make = _RPM_DISTROS.get(os_id)
        return make(version_id) if make else None
    return None


def query_parts(
    pkg_type: str,
    name: str,
    version: str,
    source_name: str | None,
    source_version: str | None,
    os_id: str,
    version_id: str,
) -> Query | None:
    """The lookup for one package given as plain fields (what the store's fleet index holds)."""
    if pkg_type == PYTHON:
        return Query("PyPI", pep503(name), version)
    if pkg_type == NPM:
        return Query("npm", name, version)
    eco = distro_ecosystem(pkg_type, os_id, version_id)
    if eco is None:
        return None
    if pkg_type in (DEB, APK):
        return Query(eco, source_name or name, (source_version or version) if pkg_type == DEB else version)
    return Query(eco, name, version)


def query_for(pkg: Package, os_info: OSInfo) -> Query | None:
    """The lookup for a catalogued package in an image with `os_info`; None when unmatched."""
    source_name = pkg.source_name or (pkg.metadata.get("origin") if pkg.type == APK else None)
    return query_parts(
        pkg.type, pkg.name, pkg.version, source_name, pkg.source_version, os_info.id, os_info.version_id
    )
