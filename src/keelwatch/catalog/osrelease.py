"""OS identity from /etc/os-release and its older fallbacks.

Produces no packages, only the fact `{"os": OSInfo.to_dict()}` per file. The scan
engine (`scan.merge`) picks one file for the whole image, deterministically:
/etc/os-release (symlink followed), then /usr/lib/os-release (os-release(5)), then
the fallbacks in path order (/etc/alpine-release, /etc/debian_version,
/etc/redhat-release), which only matter for images that lack os-release. A file
that identifies nothing yields no fact, so an empty os-release cannot hide a
fallback. Distroless/scratch images have none of these: the OS is simply empty.

Every cataloger receives the chosen OSInfo as `os_info` in `finalize` (it may come
from another layer than the package database), which is where distro-qualified
purls are built.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar

from keelwatch.catalog.base import FileResult
from keelwatch.catalog.ecosystem import Ecosystem
from keelwatch.model import OSInfo, Package

OS_RELEASE = ("/etc/os-release", "/usr/lib/os-release")
_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_ALPINE_VERSION = re.compile(r"\d+\.\d+(?:\.\d+)?(?:_[a-z]+\d*)?")
# `12.5` on stable releases, `trixie/sid` on testing/unstable.
_DEBIAN_VERSION = re.compile(r"(\d+)(?:\.\d+)*|([a-z]+)/sid")
_RH_RELEASE = re.compile(r"^(.*?)\s+release\s+(\d+(?:\.\d+)*)", re.M)
# Vendor names in /etc/redhat-release -> os-release IDs.
_RH_IDS = (
    ("red hat enterprise linux", "rhel"),
    ("centos stream", "centos"),
    ("centos", "centos"),
    ("rocky linux", "rocky"),
    ("almalinux", "almalinux"),
    ("fedora", "fedora"),
    ("scientific linux", "scientific"),
    ("oracle linux", "ol"),
)


def _unquote(value: str) -> str:
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        inner = value[1:-1]
        if value[0] == '"':
            inner = re.sub(r"\\([\\$\"`])", r"\1", inner)
        return inner
    return value


def parse_os_release(text: str) -> dict[str, str]:
    """KEY=value lines (shell-like quoting), comments and garbage lines skipped."""
    values: dict[str, str] = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition("=")
        if sep and _KEY.fullmatch(key):
            values[key] = _unquote(value)
    return values


def os_from_release(values: dict[str, str]) -> OSInfo:
    return OSInfo(
        id=values.get("ID", "").strip().lower(),
        version_id=values.get("VERSION_ID", "").strip(),
        version_codename=values.get("VERSION_CODENAME", "").strip(),
        name=values.get("NAME", "").strip(),
        pretty_name=values.get("PRETTY_NAME", "").strip(),
        id_like=values.get("ID_LIKE", "").lower().split(),
    )


def os_from_alpine_release(text: str) -> OSInfo:
    version = text.strip()
    if not _ALPINE_VERSION.fullmatch(version):
        return OSInfo()
    return OSInfo(
        id="alpine", version_id=version, name="Alpine Linux", pretty_name=f"Alpine Linux v{version}"
    )


def os_from_debian_version(text: str) -> OSInfo:
    """`12.5` -> debian 12 (os-release's VERSION_ID is the major); `bookworm/sid` -> codename only."""
    m = _DEBIAN_VERSION.fullmatch(text.strip())
    if not m:
        return OSInfo()
    return OSInfo(
        id="debian", name="Debian GNU/Linux", version_id=m.group(1) or "", version_codename=m.group(2) or ""
    )


def os_from_redhat_release(text: str) -> OSInfo:
    """`CentOS release 6.10 (Final)` -> centos 6.10 (Syft's fallback for old RHEL-likes)."""
    m = _RH_RELEASE.search(text)
    if not m:
        return OSInfo()
    vendor = m.group(1).strip()
    low = vendor.lower()
    os_id = next((v for k, v in _RH_IDS if low.startswith(k)), low.split()[0] if low else "")
    return OSInfo(id=os_id, version_id=m.group(2), name=vendor, pretty_name=text.strip().splitlines()[0])


class OsReleaseCataloger:
    """Reads the OS identity files; the engine merges them into one OSInfo."""

    name: ClassVar[str] = "osrelease"
    ecosystem: ClassVar[Ecosystem | None] = None  # the OS identity, not a package type
    patterns: ClassVar[tuple[str, ...]] = (
        *OS_RELEASE,
        "/etc/alpine-release",
        "/etc/debian_version",
        "/etc/redhat-release",
    )
    max_file_size: ClassVar[int] = 64 * 1024
    version: ClassVar[int] = 1

    def parse(self, path: str, data: bytes) -> FileResult:
        text = data.decode("utf-8", "replace")
        if path in OS_RELEASE:
            info = os_from_release(parse_os_release(text))
        elif path.endswith("/alpine-release"):
            info = os_from_alpine_release(text)
        elif path.endswith("/debian_version"):
            info = os_from_debian_version(text)
        else:
            info = os_from_redhat_release(text)
        if info.empty:
            return FileResult()
        return FileResult(facts={"os": info.to_dict()})

    def finalize(
        self, packages: list[Package], facts: list[tuple[str, dict[str, Any]]], os_info: OSInfo
    ) -> list[Package]:
        return packages
