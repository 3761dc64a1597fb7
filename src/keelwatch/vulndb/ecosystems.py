"""Which (OSV ecosystem, name, version) to look a package up under.

The facts live in each package type's `Ecosystem` descriptor, declared beside its
cataloger (`keelwatch.catalog.ECOSYSTEMS`); this module applies them:

- deb on Debian  -> "Debian:<major of VERSION_ID>", keyed by the *source* package and
  its version (binary packages inherit their source package's findings, as Debian's
  tracker and OSV's Debian export are keyed by source package). Ubuntu -> "Ubuntu:<VERSION_ID>",
  with OSV's ":LTS" suffix for LTS releases ("Ubuntu:22.04:LTS"); Ubuntu Pro streams are not
  matched. A Debian without VERSION_ID (testing/sid) is not matched: no advisory ecosystem exists.
- apk on Alpine  -> "Alpine:v<major.minor>", keyed by the origin package (secdb's key).
- rpm            -> the OSV ecosystem of the distro where one exists with a plain numeric
  release (Rocky, Alma, openEuler, Mageia, openSUSE Leap, Azure Linux); keyed by binary name.
- python         -> "PyPI" with the PEP 503-normalised name; npm -> "npm".

A deb/apk/rpm package in an image whose os-release names another distro (e.g. a deb
in an Alpine image) is not matched: there is no advisory data for that combination.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from keelwatch.catalog import ecosystem_for, language_ecosystem
from keelwatch.model import OSInfo, Package


@dataclass(frozen=True, slots=True)
class Query:
    """One knowledge-base lookup: ecosystem, name as indexed, installed version."""

    ecosystem: str
    name: str
    version: str


def _same(name: str) -> str:
    return name


def advisory_name_key(osv_ecosystem: str) -> Callable[[str], str]:
    """How package names in an ecosystem's advisories are compared (PEP 503 for PyPI)."""
    eco = language_ecosystem(osv_ecosystem)
    return eco.normalize_name if eco is not None else _same


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
    eco = ecosystem_for(pkg_type)
    if eco is None:
        return None
    osv = eco.osv_ecosystem_for(os_id, version_id)
    if osv is None:
        return None
    key_name, key_version = eco.lookup(name, version, source_name, source_version)
    return Query(osv, key_name, key_version)


def query_for(pkg: Package, os_info: OSInfo) -> Query | None:
    """The lookup for a catalogued package in an image with `os_info`; None when unmatched."""
    return query_parts(
        pkg.type, pkg.name, pkg.version, pkg.source_name, pkg.source_version, os_info.id, os_info.version_id
    )
