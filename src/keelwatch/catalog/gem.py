"""The gem cataloger: installed Ruby gems from their `specifications/*.gemspec` files.

RubyGems writes one specification per installed gem (`Gem::Specification#to_ruby`) under
`<GEM_HOME>/specifications/` (Debian: /usr/lib/ruby/gems/3.1.0/specifications/, default gems
in its `default/` subdirectory, and /usr/share/rubygems-integration/*/specifications/ for gems
packaged as .debs). Those files are Ruby code and are never run: like Syft, the few
attributes needed are read from their one-line assignments (`s.name = "rake".freeze`,
`s.version = "13.0.6"`, `s.licenses = ["MIT".freeze]`), so a hostile gemspec is only text.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar

from keelwatch.catalog.base import FileResult, decode_text
from keelwatch.catalog.ecosystem import Ecosystem
from keelwatch.catalog.purls import build_purl
from keelwatch.model import OSInfo, Package

ECOSYSTEM = Ecosystem(
    package_type="gem",
    kind="language",
    purl_type="gem",
    version_scheme="rubygems",
    upgrade_command="gem install",
    upgrade_arg="{name}:{version}",
    osv_ecosystem="RubyGems",
)

# `s.name = "x"`, `spec.licenses = [...]`: the receiver is whatever the block names it.
_ATTRS = "name|version|license|licenses|homepage|authors"
_ASSIGN = re.compile(rf"^[ \t]*[a-z_][a-z0-9_]*\.({_ATTRS})[ \t]*=(.*)$", re.M)
# One double- or single-quoted Ruby string literal (to_ruby writes double quotes).
_STRING = re.compile(r'"((?:[^"\\\n]|\\.){0,4096})"|\'((?:[^\'\\\n]|\\.){0,4096})\'')
_ESCAPES = {"n": "\n", "t": "\t", '"': '"', "'": "'", "\\": "\\", "#": "#"}
_NAME = re.compile(r"[A-Za-z0-9._-]{1,256}")
_MAX_ITEMS = 64


def _unescape(text: str) -> str:
    return re.sub(r"\\(.)", lambda m: _ESCAPES.get(m.group(1), m.group(0)), text)


def _strings(expr: str) -> list[str]:
    """The string literals of an assignment's right-hand side, in order (bounded)."""
    out = []
    for m in _STRING.finditer(expr):
        out.append(_unescape(m.group(1) if m.group(1) is not None else m.group(2)))
        if len(out) == _MAX_ITEMS:
            break
    return out


def parse_gemspec(text: str) -> dict[str, list[str]]:
    """attribute -> its string values, from the first assignment of each attribute."""
    fields: dict[str, list[str]] = {}
    for m in _ASSIGN.finditer(text):
        attr = m.group(1)
        if attr not in fields:
            fields[attr] = _strings(m.group(2))
    return fields


class GemspecCataloger:
    """Installed gems: one package per specification file."""

    name: ClassVar[str] = "gem"
    ecosystem: ClassVar[Ecosystem | None] = ECOSYSTEM
    patterns: ClassVar[tuple[str, ...]] = ("**/specifications/**/*.gemspec",)
    # Generated specifications are a few KB; the biggest list thousands of files.
    max_file_size: ClassVar[int] = 4 * 1024 * 1024
    version: ClassVar[int] = 1

    def parse(self, path: str, data: bytes) -> FileResult:
        warnings: list[str] = []
        text = decode_text(path, data, warnings)
        fields = parse_gemspec(text)
        name = (fields.get("name") or [""])[0]
        version = (fields.get("version") or [""])[0].strip()
        if not name or not version:
            warnings.append(f"{path}: no name/version assignment in the gemspec, skipped")
            return FileResult(warnings=warnings)
        if not _NAME.fullmatch(name):
            warnings.append(f"{path}: gem name {name[:60]!r} is not a gem name, skipped")
            return FileResult(warnings=warnings)
        licenses = fields.get("licenses") or fields.get("license") or []
        metadata: dict[str, Any] = {}
        if fields.get("homepage"):
            metadata["homepage"] = fields["homepage"][0]
        if fields.get("authors"):
            metadata["authors"] = fields["authors"]
        pkg = Package(
            name=name,
            version=version,
            type=ECOSYSTEM.package_type,
            purl=build_purl(ECOSYSTEM.purl_type, name, version),
            licenses=[lic for lic in licenses if lic],
            locations=[path],
            metadata=metadata,
        )
        return FileResult(packages=[pkg], warnings=warnings)

    def finalize(
        self, packages: list[Package], facts: list[tuple[str, dict[str, Any]]], os_info: OSInfo
    ) -> list[Package]:
        return packages
