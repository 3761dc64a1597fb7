"""npm: installed packages from package.json files, and (separately) package-lock.json.

Image scans mirror Syft's image defaults: its javascript-package-cataloger reads
every `**/package.json` that has both a name and a version (the application's own
package.json included) and its lock-file cataloger runs only on directory
scans. So `NpmCataloger` (in ALL_CATALOGERS) reads package.json files, and
`NpmLockCataloger` (name "npm-lock", not registered by default) reads
package-lock.json v1 (`dependencies` tree), v2 and v3 (`packages` map keyed by
node_modules path); pass it to `scan_image(catalogers=...)` for source trees.

A package.json without name or version is common inside packages (e.g.
`{"type": "module"}` marker files) and is skipped silently; invalid JSON gets a
warning.
"""

from __future__ import annotations

import json
from typing import Any, ClassVar

from keelwatch.catalog.base import FileResult
from keelwatch.catalog.ecosystem import Ecosystem
from keelwatch.catalog.licenses import unique
from keelwatch.catalog.purls import build_purl
from keelwatch.model import OSInfo, Package

_NM = "node_modules/"

ECOSYSTEM = Ecosystem(
    package_type="npm",
    kind="language",
    purl_type="npm",
    version_scheme="npm",
    upgrade_command="npm install",
    upgrade_arg="{name}@{version}",
    osv_ecosystem="npm",
)


def npm_purl(name: str, version: str) -> str:
    """`pkg:npm/%40scope/name@1.0.0`: the scope is the namespace."""
    if name.startswith("@") and "/" in name:
        scope, _, base = name.partition("/")
        return build_purl(ECOSYSTEM.purl_type, base, version, scope)
    return build_purl(ECOSYSTEM.purl_type, name, version)


def _license_value(value: Any) -> str:
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, dict):
        t = value.get("type") or value.get("name")
        return t.strip() if isinstance(t, str) else ""
    return ""


def licenses_of(doc: dict[str, Any]) -> list[str]:
    """`license` (string or {type}) and the legacy `licenses` list (strings or {type})."""
    out = [_license_value(doc.get("license"))]
    legacy = doc.get("licenses")
    if isinstance(legacy, list):
        out.extend(_license_value(v) for v in legacy)
    elif legacy is not None:
        out.append(_license_value(legacy))
    return unique(out)


def _load(path: str, data: bytes, warnings: list[str]) -> Any:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        warnings.append(f"{path}: invalid UTF-8 at byte {exc.start}, skipped")
        return None
    try:
        return json.loads(text)
    except (ValueError, RecursionError) as exc:
        warnings.append(f"{path}: invalid JSON ({str(exc)[:80]}), skipped")
        return None


def _package(name: Any, version: Any, path: str, doc: dict[str, Any], **meta: Any) -> Package | None:
    if not (isinstance(name, str) and isinstance(version, str) and name.strip() and version.strip()):
        return None
    name, version = name.strip(), version.strip()
    return Package(
        name=name,
        version=version,
        type=ECOSYSTEM.package_type,
        purl=npm_purl(name, version),
        licenses=licenses_of(doc),
        locations=[path],
        metadata={k: v for k, v in meta.items() if v},
    )


class NpmCataloger:
    name: ClassVar[str] = "npm"
    ecosystem: ClassVar[Ecosystem | None] = ECOSYSTEM
    patterns: ClassVar[tuple[str, ...]] = ("**/package.json",)
    max_file_size: ClassVar[int] = 8 * 1024 * 1024
    version: ClassVar[int] = 1

    def parse(self, path: str, data: bytes) -> FileResult:
        warnings: list[str] = []
        doc = _load(path, data, warnings)
        if doc is None:
            return FileResult(warnings=warnings)
        if not isinstance(doc, dict):
            return FileResult(warnings=[f"{path}: not a JSON object, skipped"])
        pkg = _package(doc.get("name"), doc.get("version"), path, doc, private=doc.get("private") is True)
        return FileResult(packages=[pkg] if pkg else [], warnings=warnings)

    def finalize(
        self, packages: list[Package], facts: list[tuple[str, dict[str, Any]]], os_info: OSInfo
    ) -> list[Package]:
        return packages


def _name_from_key(key: str) -> str:
    """`node_modules/a/node_modules/@s/b` -> `@s/b`."""
    cut = key.rfind(_NM)
    return key[cut + len(_NM) :] if cut >= 0 else key.rsplit("/", 1)[-1]


def parse_lock(path: str, doc: dict[str, Any]) -> tuple[list[Package], list[str]]:
    """Packages of a package-lock.json, any lockfileVersion."""
    warnings: list[str] = []
    out: list[Package] = []
    packages = doc.get("packages")
    if isinstance(packages, dict):  # v2 and v3
        for key, entry in packages.items():
            if not isinstance(entry, dict) or entry.get("link"):
                continue
            if key == "":
                name = entry.get("name") or doc.get("name")
            else:
                name = entry.get("name") or _name_from_key(key)
            pkg = _package(name, entry.get("version"), path, entry, dev=entry.get("dev") is True)
            if pkg:
                out.append(pkg)
        return out, warnings
    deps = doc.get("dependencies")
    if isinstance(deps, dict):  # v1: nested tree
        root = _package(doc.get("name"), doc.get("version"), path, {})
        if root:
            out.append(root)
        stack: list[dict[str, Any]] = [deps]
        seen = 0
        while stack:
            level = stack.pop()
            for name, entry in level.items():
                seen += 1
                if seen > 1_000_000:
                    warnings.append(f"{path}: dependency tree too large, truncated")
                    return out, warnings
                if not isinstance(entry, dict):
                    continue
                version = entry.get("version")
                if isinstance(version, str) and version.startswith(("file:", "link:")):
                    continue
                pkg = _package(name, version, path, entry, dev=entry.get("dev") is True)
                if pkg:
                    out.append(pkg)
                if isinstance(entry.get("dependencies"), dict):
                    stack.append(entry["dependencies"])
        return out, warnings
    warnings.append(f"{path}: neither `packages` nor `dependencies` found, skipped")
    return out, warnings


class NpmLockCataloger:
    """package-lock.json v1-v3 (directory/source scans; not an image default, as in Syft)."""

    name: ClassVar[str] = "npm-lock"
    ecosystem: ClassVar[Ecosystem | None] = ECOSYSTEM
    patterns: ClassVar[tuple[str, ...]] = ("**/package-lock.json",)
    max_file_size: ClassVar[int] = 64 * 1024 * 1024
    version: ClassVar[int] = 1

    def parse(self, path: str, data: bytes) -> FileResult:
        warnings: list[str] = []
        doc = _load(path, data, warnings)
        if doc is None:
            return FileResult(warnings=warnings)
        if not isinstance(doc, dict):
            return FileResult(warnings=[f"{path}: not a JSON object, skipped"])
        packages, more = parse_lock(path, doc)
        return FileResult(packages=packages, warnings=warnings + more)

    def finalize(
        self, packages: list[Package], facts: list[tuple[str, dict[str, Any]]], os_info: OSInfo
    ) -> list[Package]:
        return packages
