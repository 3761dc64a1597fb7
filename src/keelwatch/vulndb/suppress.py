"""Suppressions: OpenVEX documents and a simple ignore file. Suppressed findings stay, flagged.

OpenVEX (v0.2.0): each statement names a vulnerability (`name`, plus `aliases`),
products (by `@id` purl, or `identifiers.purl`), and a status:
- `not_affected` suppresses, and must carry a `justification` or an
  `impact_statement` (a statement without either is invalid: ignored with a warning);
- `fixed` suppresses (the product is already fixed, the match is a false positive);
- `affected` and `under_investigation` do not suppress.
Later statements (by `timestamp`, then document order) override earlier ones for the
same vulnerability and product, as the spec says.

A product purl matches a package when type, namespace and name match, and version
and qualifiers match where the product gives them (a purl without version covers
every version).

Ignore file (YAML): a list (or `{ignore: [...]}`) of {id, package?, reason, expires?};
`package` is a name or a purl; `expires` an ISO date: from that day on the entry no
longer suppresses and a warning says it expired. A plain list of IDs, one per line with
`#` comments and an optional `exp:YYYY-MM-DD` (the `.trivyignore` format), is accepted too.
`.keelwatchignore` in the working directory is the default ignore file (found by the CLI).
Both files are read through keelwatch.userfile (regular files only, bounded size, depth
and YAML aliases); a value of the wrong type rejects the file with one line.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from packageurl import PackageURL

from keelwatch.errors import KeelwatchError
from keelwatch.userfile import load_json, parse_yaml, read_text
from keelwatch.vulndb.findings import Finding, Suppression

SUPPRESSING = ("not_affected", "fixed")
STATUSES = ("not_affected", "affected", "fixed", "under_investigation")
DEFAULT_IGNORE_FILE = ".keelwatchignore"


class SuppressionError(KeelwatchError):
    """An OpenVEX document or ignore file cannot be read."""


@dataclass(slots=True)
class _Rule:
    ids: set[str]
    product: PackageURL | str | None  # purl, bare package name, or None (any package)
    suppression: Suppression | None  # None: the statement un-suppresses (affected, ...)
    order: tuple[str, int]
    expires: dt.date | None = None


def _purl(text: str) -> PackageURL | None:
    try:
        return PackageURL.from_string(text)
    except ValueError:
        return None


def _purl_matches(product: PackageURL, purl: str) -> bool:
    pkg = _purl(purl) if purl else None
    if pkg is None:
        return False
    same = (product.type, product.namespace or "", product.name) == (pkg.type, pkg.namespace or "", pkg.name)
    pypi_same = product.type == pkg.type == "pypi" and _norm(product.name) == _norm(pkg.name)
    if not (same or pypi_same):
        return False
    if product.version and product.version != pkg.version:
        return False
    wanted = product.qualifiers or {}
    have = pkg.qualifiers or {}
    return all(have.get(k) == v for k, v in dict(wanted).items())


_PLAIN_LINE = re.compile(r"([A-Za-z][A-Za-z0-9._:-]*[A-Za-z0-9])(?:\s+exp:(\d{4}-\d{2}-\d{2}))?")


def _plain_ids(text: str) -> list[tuple[str, dt.date | None]] | None:
    """`.trivyignore` style: one ID per line, optional `exp:YYYY-MM-DD`, `#` comments; else None."""
    entries: list[tuple[str, dt.date | None]] = []
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        match = _PLAIN_LINE.fullmatch(line)
        if match is None:
            return None
        try:
            exp = dt.date.fromisoformat(match[2]) if match[2] else None
        except ValueError:
            return None
        entries.append((match[1], exp))
    return entries if entries else None


def discover_ignore_file(directory: Path) -> Path | None:
    """The default ignore file of a project, `.keelwatchignore` in the working directory, if any."""
    path = directory / DEFAULT_IGNORE_FILE
    return path if path.is_file() else None


def _kind(value: Any) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean", type(None): "null"}.get(
        type(value), "a number"
    )


def _typed(value: Any, expected: type, where: str, field: str) -> Any:
    """`value` if it has the type the schema says; otherwise the whole document is rejected."""
    if isinstance(value, expected) or value is None:
        return value
    wanted = "a list" if expected is list else "a string"
    raise SuppressionError(f"{where}: '{field}' must be {wanted}, got {_kind(value)}")


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _product_matches(product: PackageURL | str | None, finding: Finding) -> bool:
    if product is None:
        return True
    if isinstance(product, PackageURL):
        return _purl_matches(product, finding.package.purl)
    return product in (finding.package.name, finding.package.source_name)


class Suppressor:
    """Rules from any number of OpenVEX documents and ignore files."""

    def __init__(self, today: dt.date | None = None) -> None:
        self.rules: list[_Rule] = []
        self.warnings: list[str] = []
        self.today = today or dt.datetime.now(dt.UTC).date()
        self._count = 0

    # -- loading -----------------------------------------------------------------------

    def load_openvex(self, path: Path) -> None:
        doc = load_json(path, what="OpenVEX document", error=SuppressionError)
        if not isinstance(doc, dict) or not isinstance(doc.get("statements"), list):
            raise SuppressionError(f"{path} is not an OpenVEX document (no 'statements' list)")
        self.add_openvex(doc, str(path))

    def add_openvex(self, doc: dict[str, Any], name: str = "") -> None:
        """Rules from one OpenVEX document; a value of the wrong type rejects the whole document."""
        doc_time = str(doc.get("timestamp") or "")
        for i, st in enumerate(doc["statements"]):
            where = f"{name or doc.get('@id', 'openvex')} statement {i}"
            if not isinstance(st, dict):
                raise SuppressionError(f"{where}: expected an object, got {_kind(st)}")
            vuln = st.get("vulnerability") or {}
            if isinstance(vuln, str):
                vuln = {"name": vuln}
            if not isinstance(vuln, dict):
                raise SuppressionError(f"{where}: 'vulnerability' must be an object, got {_kind(vuln)}")
            aliases = _typed(vuln.get("aliases") or [], list, where, "vulnerability.aliases")
            ids = {
                _typed(v, str, where, "vulnerability name or alias")
                for v in (vuln.get("name"), vuln.get("@id"), *aliases)
                if v not in (None, "")
            }
            status = _typed(st.get("status"), str, where, "status")
            if not ids or status not in STATUSES:
                self.warnings.append(f"{where}: needs a vulnerability name and a valid status; ignored")
                continue
            reason = st.get("impact_statement") or st.get("justification") or st.get("status_notes") or ""
            if status == "not_affected" and not (st.get("justification") or st.get("impact_statement")):
                self.warnings.append(
                    f"{where}: not_affected without justification or impact_statement; ignored"
                )
                continue
            supp = (
                Suppression(
                    "openvex",
                    str(reason or status),
                    status,
                    str(st.get("justification") or ""),
                    None,
                    name,
                )
                if status in SUPPRESSING
                else None
            )
            stamp = str(st.get("timestamp") or doc_time)
            products = _typed(st.get("products") or [], list, where, "products")
            targets: list[PackageURL | str | None] = []
            for prod in products:
                ref = prod.get("@id") if isinstance(prod, dict) else prod
                idents = prod.get("identifiers") if isinstance(prod, dict) else None
                if isinstance(idents, dict) and idents.get("purl"):
                    ref = idents["purl"]
                purl = _purl(ref) if isinstance(ref, str) and ref.startswith("pkg:") else None
                if purl is not None:
                    targets.append(purl)
                elif isinstance(ref, str):
                    targets.append(ref)
            if not products:
                targets.append(None)
            for target in targets:
                self._count += 1
                self.rules.append(_Rule(set(ids), target, supp, (stamp, self._count)))

    def load_ignore_file(self, path: Path) -> None:
        """A YAML ignore file, or a plain list of IDs (`.trivyignore` style: one per line, `#` comments)."""
        text = read_text(path, what="ignore file", error=SuppressionError)
        if (plain := _plain_ids(text)) is not None:
            for vuln_id, exp_date in plain:
                self._add_ignore(vuln_id, None, "", exp_date, path)
            return
        data = parse_yaml(text, str(path), error=SuppressionError)
        if isinstance(data, dict):
            data = data.get("ignore")
        if data is None:
            return
        if not isinstance(data, list):
            raise SuppressionError(f"{path}: expected a list of ignore entries (or one ID per line)")
        for i, entry in enumerate(data):
            if not isinstance(entry, dict) or not isinstance(entry.get("id"), str):
                raise SuppressionError(f"{path}: entry {i} needs an 'id'")
            expires = entry.get("expires")
            exp_date: dt.date | None = None
            if expires is not None:
                try:
                    exp_date = (
                        expires if isinstance(expires, dt.date) else dt.date.fromisoformat(str(expires))
                    )
                except ValueError:
                    raise SuppressionError(
                        f"{path}: entry {i} has an invalid expires date {expires!r}"
                    ) from None
            pkg = entry.get("package")
            product: PackageURL | str | None = None
            if isinstance(pkg, str) and pkg:
                product = _purl(pkg) if pkg.startswith("pkg:") else pkg
                if product is None:
                    raise SuppressionError(f"{path}: entry {i} has an invalid purl {pkg!r}")
            elif pkg is not None:
                raise SuppressionError(f"{path}: entry {i}: 'package' must be a name or a purl")
            self._add_ignore(entry["id"], product, str(entry.get("reason") or ""), exp_date, path)

    def _add_ignore(
        self, vuln_id: str, product: PackageURL | str | None, reason: str, exp: dt.date | None, path: Path
    ) -> None:
        supp = Suppression("ignore-file", reason, "", "", exp.isoformat() if exp else None, str(path))
        self._count += 1
        # an explicit ignore entry outranks any VEX statement
        self.rules.append(_Rule({vuln_id}, product, supp, ("\uffff", self._count), exp))

    # -- applying ----------------------------------------------------------------------

    def apply(self, findings: list[Finding]) -> list[str]:
        """Flag suppressed findings in place; returns warnings (expired entries, bad statements)."""
        warnings = list(self.warnings)
        expired_seen: set[int] = set()
        for finding in findings:
            ids = set(finding.ids)
            chosen: _Rule | None = None
            for rule in self.rules:
                if not (rule.ids & ids) or not _product_matches(rule.product, finding):
                    continue
                if rule.expires is not None and rule.expires <= self.today:
                    if id(rule) not in expired_seen:
                        expired_seen.add(id(rule))
                        warnings.append(
                            f"ignore entry for {sorted(rule.ids)[0]} expired on {rule.expires.isoformat()}: "
                            "no longer suppressed"
                        )
                    continue
                if chosen is None or rule.order >= chosen.order:
                    chosen = rule
            finding.suppression = chosen.suppression if chosen is not None else None
        return warnings
