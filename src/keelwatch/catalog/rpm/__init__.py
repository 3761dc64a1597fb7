"""The rpm cataloger: installed packages from an rpm database, whatever its backend.

The backend is told by the file's content, not its name: SQLite (`rpmdb.sqlite`,
rpm >= 4.16), ndb (`Packages.db`, SUSE) or Berkeley DB hash (`Packages`, RHEL <= 8).
Each yields the same header blobs, decoded by `header.py`. Output mirrors Syft so
that bench comparisons agree: version `[epoch:]version-release`, the gpg-pubkey
pseudo-packages kept (Syft 1.18 lists them with licence "pubkey"), metadata keys
named as in Syft's RpmDBEntry, and Syft's purl (namespace from os-release, "rhel"
spelled "redhat"; qualifiers arch, distro, epoch, upstream).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, ClassVar

from packageurl import PackageURL

from keelwatch.catalog.base import FileResult
from keelwatch.catalog.ecosystem import Ecosystem, major
from keelwatch.catalog.rpm import bdb, ndb, sqlite
from keelwatch.catalog.rpm.header import HeaderError, RpmHeader, parse_header
from keelwatch.catalog.rpm.sqlite import RpmDbError
from keelwatch.model import OSInfo, Package

__all__ = ["RpmCataloger", "package_from_header", "split_source_rpm"]

# Per-file cap on warnings, so a database full of garbage cannot flood the scan result.
MAX_WARNINGS = 20
# Syft's purl namespace for distros whose os-release ID differs from the vendor's name.
_NAMESPACE = {"rhel": "redhat"}

# OSV ecosystems of distros with a plain numeric release, keyed by binary package name. Not
# matched: RHEL/CentOS/Fedora/Amazon Linux (OSV's "Red Hat" ecosystem is per product stream/CPE,
# which the image does not reveal) and SLES.
ECOSYSTEM = Ecosystem(
    package_type="rpm",
    kind="os",
    purl_type="rpm",
    version_scheme="rpm",
    upgrade_command="dnf upgrade",
    upgrade_arg="{name}-{version}",
    distros={
        "rocky": lambda v: f"Rocky Linux:{major(v)}",
        "almalinux": lambda v: f"AlmaLinux:{major(v)}",
        "openeuler": lambda v: f"openEuler:{v}",
        "mageia": lambda v: f"Mageia:{v}",
        "opensuse-leap": lambda v: f"openSUSE:Leap {v}",
        "azurelinux": lambda v: f"Azure Linux:{major(v)}.0",
    },
)

BlobReader = Callable[[bytes, list[str]], Iterator[tuple[int, bytes]]]


def _reader(data: bytes) -> tuple[str, BlobReader] | None:
    if sqlite.is_sqlite(data):
        return "sqlite", sqlite.iter_blobs
    if ndb.is_ndb(data):
        return "ndb", ndb.iter_blobs
    if bdb.byte_order(data) is not None:
        return "bdb", bdb.iter_blobs
    return None


def split_source_rpm(source_rpm: str) -> tuple[str, str] | None:
    """`bash-5.1.8-6.el9.src.rpm` -> (`bash`, `5.1.8-6.el9`); None if it is not N-V-R.src.rpm."""
    for suffix in (".src.rpm", ".nosrc.rpm"):
        if source_rpm.endswith(suffix):
            parts = source_rpm[: -len(suffix)].rsplit("-", 2)
            if len(parts) == 3 and all(parts):
                return parts[0], f"{parts[1]}-{parts[2]}"
    return None


def package_from_header(h: RpmHeader, path: str) -> Package:
    """One Package per header. The source version carries the binary's epoch, because the
    source rpm file name has none and advisories compare `epoch:version-release`
    (Grype does the same for its upstream matches)."""
    evr = f"{h.version}-{h.release}" if h.release else h.version
    version = f"{h.epoch}:{evr}" if h.epoch is not None else evr
    source = split_source_rpm(h.source_rpm)
    source_name = source_version = None
    if source:
        source_name, source_version = source
        if h.epoch is not None:
            source_version = f"{h.epoch}:{source_version}"
    metadata: dict[str, Any] = {
        "epoch": h.epoch,
        "architecture": h.arch,
        "release": h.release,
        "sourceRpm": h.source_rpm,
        "vendor": h.vendor,
        "size": h.size,
    }
    if h.modularity_label:
        metadata["modularityLabel"] = h.modularity_label
    return Package(
        name=h.name,
        version=version,
        type=ECOSYSTEM.package_type,
        source_name=source_name,
        source_version=source_version,
        licenses=[h.license] if h.license else [],
        locations=[path],
        metadata=metadata,
    )


def purl(pkg: Package, os_info: OSInfo) -> str:
    """Syft's rpm purl: version is version-release, the epoch goes into a qualifier."""
    meta = pkg.metadata
    epoch = meta.get("epoch")
    version = pkg.version
    if epoch is not None and version.startswith(f"{epoch}:"):
        version = version[len(f"{epoch}:") :]
    qualifiers: dict[str, str] = {}
    if meta.get("architecture"):
        qualifiers["arch"] = meta["architecture"]
    if epoch is not None:
        qualifiers["epoch"] = str(epoch)
    if meta.get("sourceRpm"):
        qualifiers["upstream"] = meta["sourceRpm"]
    if os_info.id:
        qualifiers["distro"] = f"{os_info.id}-{os_info.version_id}" if os_info.version_id else os_info.id
    namespace = _NAMESPACE.get(os_info.id, os_info.id) or None
    return PackageURL(
        type=ECOSYSTEM.purl_type, namespace=namespace, name=pkg.name, version=version, qualifiers=qualifiers
    ).to_string()


class RpmCataloger:
    """Packages from /var/lib/rpm (and /usr/lib/sysimage/rpm, /usr/share/rpm) databases."""

    name: ClassVar[str] = "rpm"
    ecosystem: ClassVar[Ecosystem | None] = ECOSYSTEM
    patterns: ClassVar[tuple[str, ...]] = tuple(
        f"**/{root}/rpm/{db}"
        for root in ("var/lib", "usr/lib/sysimage", "usr/share")
        for db in ("Packages", "Packages.db", "rpmdb.sqlite")
    )
    # rpmdbs are large: a full RHEL 8 install's BDB Packages is 100-200 MiB and must be read
    # whole (headers are spread over the file). 512 MiB leaves headroom for the biggest real
    # ones while still refusing absurd files; every parser works within the bytes it is given.
    max_file_size: ClassVar[int] = 512 * 1024 * 1024
    version: ClassVar[int] = 1

    def parse(self, path: str, data: bytes) -> FileResult:
        result = FileResult()
        found = _reader(data)
        if found is None:
            result.warnings.append(f"{path}: not an rpm database (no SQLite, ndb or Berkeley DB magic)")
            return result
        backend, read = found
        warnings: list[str] = []
        try:
            for key, blob in read(data, warnings):
                try:
                    header = parse_header(blob)
                except HeaderError as exc:
                    warnings.append(f"header {key}: {exc}")
                    continue
                result.packages.append(package_from_header(header, path))
        except RpmDbError as exc:
            warnings.append(str(exc))
        result.facts = {"backend": backend}
        result.warnings = [f"{path}: {w}" for w in warnings[:MAX_WARNINGS]]
        if len(warnings) > MAX_WARNINGS:
            result.warnings.append(f"{path}: {len(warnings) - MAX_WARNINGS} more rpm database warnings")
        return result

    def finalize(
        self, packages: list[Package], facts: list[tuple[str, dict[str, Any]]], os_info: OSInfo
    ) -> list[Package]:
        for pkg in packages:
            pkg.purl = purl(pkg, os_info)
        return packages
