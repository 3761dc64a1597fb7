"""Exact version ordering per ecosystem, and the map from OSV ecosystem names to schemes.

`scheme_for("Debian:12").key(v)` gives a key that sorts like the ecosystem's
reference implementation; see each module for its rules and validation:

OSV ecosystem (prefix before ":")  -> scheme: reference
- Debian, Ubuntu                    -> dpkg: dpkg --compare-versions
- Alpine, Wolfi, Chainguard         -> apk: apk-tools src/version.c
- Red Hat, Rocky Linux, AlmaLinux, openSUSE, SUSE, Mageia, openEuler, Azure Linux
                                    -> rpm: rpm labelCompare
- PyPI                              -> pep440: packaging.version
- npm                               -> npm: node-semver (strict mode)
- Go                                -> go: golang.org/x/mod/semver
- Maven                             -> maven: Maven 3.9 ComparableVersion
- crates.io, Hex                    -> semver: SemVer 2.0.0 (exact for Cargo/Hex versions,
                                       which use the same grammar and precedence)
- NuGet                             -> nuget: NuGet SemVer 2 (approximate: no legacy
                                       SemVer 1 forms, no NuGet-specific normalisation)
- RubyGems                          -> rubygems: Gem::Version#<=>

Packagist and any other ecosystem have no scheme yet: `scheme_for`
raises VersionError for them (callers skip such advisories with a warning
instead of guessing an order).
"""

from __future__ import annotations

from keelwatch.errors import VersionError
from keelwatch.vulndb.versions import apk, dpkg, golang, maven, pep440, rpm, rubygems, semver
from keelwatch.vulndb.versions.base import VersionScheme

SCHEMES: dict[str, VersionScheme] = {
    s.name: s
    for s in (
        dpkg.SCHEME,
        apk.SCHEME,
        rpm.SCHEME,
        pep440.SCHEME,
        semver.NPM,
        semver.STRICT,
        semver.NUGET,
        golang.SCHEME,
        maven.SCHEME,
        rubygems.SCHEME,
    )
}

_BY_ECOSYSTEM: dict[str, VersionScheme] = {
    "debian": dpkg.SCHEME,
    "ubuntu": dpkg.SCHEME,
    "alpine": apk.SCHEME,
    "wolfi": apk.SCHEME,
    "chainguard": apk.SCHEME,
    "red hat": rpm.SCHEME,
    "rocky linux": rpm.SCHEME,
    "almalinux": rpm.SCHEME,
    "opensuse": rpm.SCHEME,
    "suse": rpm.SCHEME,
    "mageia": rpm.SCHEME,
    "openeuler": rpm.SCHEME,
    "azure linux": rpm.SCHEME,
    "pypi": pep440.SCHEME,
    "npm": semver.NPM,
    "go": golang.SCHEME,
    "maven": maven.SCHEME,
    "crates.io": semver.STRICT,
    "hex": semver.STRICT,
    "nuget": semver.NUGET,
    "rubygems": rubygems.SCHEME,
}


def scheme_for(ecosystem: str) -> VersionScheme:
    """The scheme of an OSV ecosystem name ("Debian:12", "Alpine:v3.19", "PyPI", ...).

    Only the part before the first ":" counts, case-insensitively. Raises
    VersionError for an ecosystem without a scheme.
    """
    base = ecosystem.split(":", 1)[0].strip().lower() if isinstance(ecosystem, str) else ""
    scheme = _BY_ECOSYSTEM.get(base)
    if scheme is None:
        raise VersionError(f"no version scheme for ecosystem {ecosystem!r}")
    return scheme


def scheme_for_package_type(package_type: str) -> VersionScheme:
    """The scheme of a catalogued package type ("deb", "python", ...), named by its `Ecosystem`."""
    from keelwatch.catalog import ecosystem_for  # the catalogers only when asked: schemes load light

    eco = ecosystem_for(package_type)
    if eco is None:
        raise VersionError(f"no version scheme for package type {package_type!r}")
    return SCHEMES[eco.version_scheme]


__all__ = ["SCHEMES", "VersionError", "VersionScheme", "scheme_for", "scheme_for_package_type"]
