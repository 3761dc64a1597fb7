"""The `Ecosystem` registry: one descriptor per package type, consistent with every floor reading it."""

from __future__ import annotations

import shlex
import typing

import pytest

from keelwatch.catalog import ALL_CATALOGERS, ECOSYSTEMS, NpmLockCataloger, ecosystem_for
from keelwatch.catalog.base import Cataloger
from keelwatch.vulndb.remediation import command
from keelwatch.vulndb.versions import SCHEMES, scheme_for, scheme_for_package_type

# A release of every distro each OS descriptor names, as its os-release says it.
DISTRO_RELEASES = {
    "debian": "12",
    "ubuntu": "22.04",
    "alpine": "3.19.1",
    "rocky": "9.3",
    "almalinux": "8.9",
    "openeuler": "22.03",
    "mageia": "9",
    "opensuse-leap": "15.5",
    "azurelinux": "3.0",
}


def test_every_cataloger_fulfils_the_protocol() -> None:
    """The engine reads these attributes directly (no getattr defaults): all must be there."""
    fields = [n for n in typing.get_type_hints(Cataloger, include_extras=True) if not n.startswith("_")]
    assert {"name", "patterns", "max_file_size", "version", "ecosystem"} <= set(fields)
    for cat in [*ALL_CATALOGERS, NpmLockCataloger()]:
        for f in fields:
            assert hasattr(cat, f), f"{type(cat).__name__} lacks {f}"
        assert callable(cat.parse) and callable(cat.finalize)


def test_one_descriptor_per_package_type() -> None:
    declared = [c.ecosystem for c in ALL_CATALOGERS if c.ecosystem is not None]
    assert len({e.package_type for e in declared}) == len(declared)  # declared once each
    assert set(ECOSYSTEMS) == {"deb", "apk", "rpm", "python", "npm", "gem"}
    assert NpmLockCataloger.ecosystem is ecosystem_for("npm")
    assert ecosystem_for("go-module") is None


@pytest.mark.parametrize("pkg_type", sorted(ECOSYSTEMS))
def test_version_scheme_agrees_with_the_osv_ecosystem(pkg_type: str) -> None:
    """The scheme a descriptor names is the one `vulndb.versions` picks for its advisories."""
    eco = ECOSYSTEMS[pkg_type]
    scheme = SCHEMES[eco.version_scheme]
    assert scheme_for_package_type(pkg_type) is scheme
    if eco.is_os:
        assert eco.osv_ecosystem is None and eco.distros
        for distro in eco.distros:
            osv = eco.osv_ecosystem_for(distro, DISTRO_RELEASES[distro])
            assert osv and scheme_for(osv) is scheme, (distro, osv)
        assert eco.osv_ecosystem_for("debian" if pkg_type != "deb" else "alpine", "1") is None
        assert eco.osv_ecosystem_for(next(iter(eco.distros)), "") is None  # no VERSION_ID: no data
    else:
        assert eco.osv_ecosystem and not eco.distros
        assert scheme_for(eco.osv_ecosystem) is scheme


@pytest.mark.parametrize("pkg_type", sorted(ECOSYSTEMS))
def test_upgrade_command_quotes_every_argument(pkg_type: str) -> None:
    eco = ECOSYSTEMS[pkg_type]
    names = ["plain", "we ird;rm -rf ~"]
    argv = shlex.split(command(pkg_type, names, "1.2-3"))
    assert argv[: len(eco.upgrade_command.split())] == eco.upgrade_command.split()
    args = argv[len(eco.upgrade_command.split()) :]
    assert args == [eco.upgrade_arg.format(name=n, version="1.2-3") for n in names]
    assert all("1.2-3" in a for a in args)


def test_unknown_type_has_no_command() -> None:
    assert command("go-module", ["x"], "1.0") == ""
