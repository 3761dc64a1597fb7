"""Alpine secdb (`<branch>/<repo>.json`: secfixes fixed-version -> ids) as OSV-shaped advisories.

As OSV publishes Alpine: one advisory per vulnerability id ("ALPINE-CVE-…", aliased to
the CVE) with one affected entry per (branch, origin package) in ecosystem
"Alpine:v3.N": introduced 0, fixed at the secfix version. A secfix version "0" means
the package was never affected in that branch: no entry. An id line may carry extra
ids ("CVE-2016-6258 XSA-182", kept as aliases) and a parenthesised note.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from keelwatch.errors import FeedError
from keelwatch.vulndb.feeds.base import Report, cve_year_floor, parse_json
from keelwatch.vulndb.model import Advisory

DEFAULT_BASE = "https://secdb.alpinelinux.org/"
DEFAULT_BRANCHES = tuple(f"v3.{n}" for n in range(12, 25)) + ("edge",)
REPOS = ("main", "community")
_BRANCH = re.compile(r"^(v\d+\.\d+|edge)$")
_ID = re.compile(r"^[A-Za-z][A-Za-z0-9]*-[A-Za-z0-9][A-Za-z0-9._:-]*$")
_CVE_TYPO = re.compile(r"^CVE[_-](\d{4})[_-](\d+)$", re.IGNORECASE)


def _split_ids(text: str) -> tuple[str, list[str], str]:
    """'CVE-2016-6258 XSA-182 (note)' -> ('CVE-2016-6258', ['XSA-182'], 'note')."""
    note = ""
    if "(" in text:
        text, _, rest = text.partition("(")
        note = rest.rstrip(") ").strip()
    tokens = text.split()
    ids = []
    for tok in tokens:
        if m := _CVE_TYPO.match(tok):
            tok = f"CVE-{m.group(1)}-{m.group(2)}"
        ids.append(tok)
    return (ids[0] if ids else ""), ids[1:], note


def read_files(
    files: Iterable[tuple[str, str, Path]], report: Report, snapshot: str = ""
) -> Iterator[Advisory]:
    """Advisories from (branch, repo, path) secdb files; grouped per id across all files."""
    from keelwatch.vulndb.versions import scheme_for

    apk = scheme_for("Alpine")
    docs: dict[str, dict[str, Any]] = {}
    fixed_at: dict[tuple[str, str, str], int] = {}  # (id, eco, pkg) -> index in affected
    for branch, repo, path in files:
        where = f"{branch}/{repo}.json"
        try:
            data = parse_json(path.read_bytes(), f"{report.feed}: {where}")
        except OSError as exc:
            raise FeedError(f"{report.feed}: {where}: cannot read: {exc.strerror}") from None
        if not isinstance(data, dict) or not isinstance(data.get("packages") or [], list):
            raise FeedError(f"{report.feed}: {where} is not a secdb document (no 'packages' list)")
        version = data.get("distroversion") or branch
        eco = f"Alpine:{version}"
        for item in data.get("packages") or []:
            pkg = item.get("pkg") if isinstance(item, dict) else None
            name = pkg.get("name") if isinstance(pkg, dict) else None
            secfixes = pkg.get("secfixes") if isinstance(pkg, dict) else None
            if not isinstance(name, str) or not isinstance(secfixes, dict):
                report.bad(f"{where}:{name or '?'}", "package entry without name or secfixes")
                continue
            for fixed, ids in secfixes.items():
                if not isinstance(ids, list):
                    report.bad(f"{where}:{name} {fixed}", "secfix without a list of ids")
                    continue
                for text in ids:
                    vuln_id, extra, note = _split_ids(str(text))
                    if not _ID.match(vuln_id):
                        report.bad(f"{where}:{name} {fixed}", f"unrecognised id {text!r}")
                        continue
                    doc = docs.get(vuln_id)
                    if doc is None:
                        doc = docs[vuln_id] = {
                            "id": f"ALPINE-{vuln_id}",
                            "modified": snapshot,
                            "aliases": [vuln_id],
                            "affected": [],
                            "database_specific": {"source": "alpine-secdb"},
                        }
                    for alias in extra:
                        if _ID.match(alias) and alias not in doc["aliases"]:
                            doc["aliases"].append(alias)
                    fixed = str(fixed)
                    if fixed == "0":  # never affected in this branch
                        continue
                    _add_fix(doc, fixed_at, vuln_id, eco, name, fixed, repo, note, apk)
    # secdb files carry no date: without the publisher's, the newest CVE year is what the data proves
    snapshot = snapshot or cve_year_floor(docs)
    for doc in docs.values():
        doc["modified"] = snapshot
        yield Advisory(
            id=doc["id"], source="alpine-secdb", raw=doc, aliases=list(doc["aliases"]), modified=snapshot
        )


def _add_fix(
    doc: dict[str, Any],
    fixed_at: dict[tuple[str, str, str], int],
    vuln_id: str,
    eco: str,
    name: str,
    fixed: str,
    repo: str,
    note: str,
    apk: Any,
) -> None:
    """One entry per (branch, package); a second fix line for it keeps the lower version."""
    key = (vuln_id, eco, name)
    if key in fixed_at:
        events = doc["affected"][fixed_at[key]]["ranges"][0]["events"]
        current = events[1]["fixed"]
        if apk.valid(fixed) and apk.valid(current) and apk.compare(fixed, current) < 0:
            events[1]["fixed"] = fixed
        return
    entry: dict[str, Any] = {
        "package": {"ecosystem": eco, "name": name},
        "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": fixed}]}],
        "database_specific": {"repository": repo},
    }
    if note:
        entry["database_specific"]["note"] = note
    fixed_at[key] = len(doc["affected"])
    doc["affected"].append(entry)


def is_branch(name: str) -> bool:
    return bool(_BRANCH.match(name))
