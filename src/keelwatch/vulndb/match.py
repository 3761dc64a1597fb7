"""Packages + knowledge base -> findings: one image (`match_packages`) or a fleet (`Matcher`).

Work is shared across identical lookups: each distinct (ecosystem, name) is fetched
from the knowledge base once (bulk `advisories_for_many` when the KB has it), each
distinct (ecosystem, name, version) is evaluated once (`memory.MatchMemo`), and
version keys are cached by the schemes.

Several records about one flaw (CVE, GHSA, PYSEC, DSA, ALPINE-…, DEBIAN-… linked
through `id`/`aliases`, transitively) become one finding per (package, flaw):
- records naming at most one CVE are merged with every record sharing any id;
- a record naming several CVEs (a DSA/DLA covering many flaws) is an *umbrella*:
  it is attached to the finding of each CVE it names rather than merging them;
- the primary id is the group's CVE (the lowest, should a group hold two), else
  its GHSA id, else the alphabetically first id; all other ids become aliases.
Fixed versions are the union of the records' nearest fixes (ascending); the
remediation target is the highest of them, so one upgrade leaves every range.
Severity: the best evidence of the group's records (`severity.severity_of`); a group left
`unknown` takes the highest severity any stored record filed under one of its ids carries
(`severity.highest_by_alias`, records fetched in bulk by `prepare`), so every command (scan,
check, advise, diff, rescan) sees the same level.
Status: "fixed" when a fix exists, else "undetermined" when a record flags the
entry as undetermined (Debian tracker), else "not-fixed".
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from keelwatch.catalog import ecosystem_for
from keelwatch.errors import VersionError
from keelwatch.model import OSInfo, Package
from keelwatch.vulndb import ranges
from keelwatch.vulndb.ecosystems import Query, advisory_name_key, query_for
from keelwatch.vulndb.findings import (
    FIXED,
    NOT_FIXED,
    UNDETERMINED,
    Epss,
    Finding,
    Kev,
    PackageRef,
)
from keelwatch.vulndb.memory import Hit, MatchMemo
from keelwatch.vulndb.model import KnowledgeBase
from keelwatch.vulndb.remediation import remediate
from keelwatch.vulndb.severity import Level, Severity, highest_by_alias, severity_of

_CVE = re.compile(r"^CVE-(\d{4})-(\d+)$")
MAX_REFERENCES = 20


@dataclass(slots=True)
class Flaw:
    """One flaw affecting one (ecosystem, name, version): what every package instance shares."""

    id: str
    aliases: list[str]
    fixed_versions: list[str]
    target: str | None
    status: str
    severity: Severity
    kev: Kev
    epss: Epss | None
    references: list[str]
    summary: str
    sources: list[dict[str, str]]


@dataclass(slots=True)
class MatchResult:
    findings: list[Finding] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # counted informational remarks


class Matcher:
    """One match run over a knowledge base; reuse it across images to share the work."""

    def __init__(self, kb: KnowledgeBase) -> None:
        self.kb = kb
        self.memo = MatchMemo()
        self.flaws: dict[Query, list[Flaw]] = {}
        self.git_ranges = 0
        self._kev_cache: dict[str, Any] = {}
        self._compiled: dict[Any, Any] = {}  # parsed advisory entries, per run
        self._entries: dict[tuple[int, str, str], list[dict[str, Any]]] = {}
        self._flaw_cache: dict[tuple[Any, ...], Flaw] = {}
        self._shapes: dict[tuple[int, ...], list[tuple[str, list[str], list[int]]]] = {}
        self._details: dict[tuple[Any, ...], tuple[Any, ...]] = {}  # per (primary id, records)
        self._by_id: dict[str, list[Any]] = {}  # stored records under an id (`prepare`)

    # -- knowledge base access ---------------------------------------------------------

    def prefetch(self, queries: Iterable[Query]) -> None:
        keys = list(dict.fromkeys((q.ecosystem, q.name) for q in queries))
        bulk = getattr(self.kb, "advisories_for_many", None)
        if bulk is not None and keys:
            bulk(keys)

    def _kev(self, cve: str) -> Any:
        if cve not in self._kev_cache:
            self._kev_cache[cve] = self.kb.kev(cve)
        return self._kev_cache[cve]

    # -- evaluation --------------------------------------------------------------------

    def _evaluate(self, query: Query) -> tuple[list[Hit], list[str]]:
        try:
            key = ranges.key_function(query.ecosystem)
            key(query.version)
        except VersionError as exc:
            return [], [f"{query.ecosystem} {query.name} {query.version}: not matched: {exc}"]
        name_key = advisory_name_key(query.ecosystem)
        hits: list[Hit] = []
        warnings: list[str] = []
        for adv in self.kb.advisories_for(query.ecosystem, query.name):
            if adv.withdrawn:
                continue
            try:
                verdict = ranges.evaluate(
                    adv, query.ecosystem, query.name, query.version, key, name_key, self._compiled
                )
            except ranges.RecordError as exc:
                warnings.append(
                    f"skipped record {adv.id} for {query.ecosystem} {query.name} {query.version}: {exc}"
                )
                continue
            self.git_ranges += verdict.git_ranges
            if verdict.affected:
                entries = self._entries.get((id(adv), query.ecosystem, query.name))
                if entries is None:
                    entries = self._entries[(id(adv), query.ecosystem, query.name)] = [
                        e
                        for e in adv.affected
                        if isinstance(e, dict)
                        and isinstance(e.get("package"), dict)
                        and e["package"].get("ecosystem") == query.ecosystem
                        and name_key(str(e["package"].get("name", ""))) == query.name
                    ]
                hits.append(Hit(adv, verdict.fixed, verdict.statuses, entries))
        return hits, warnings

    def prepare(self, queries: Iterable[Query]) -> None:
        """Evaluate many lookups, then fetch in bulk what describing them needs: EPSS for all
        their CVEs, and the records filed under the ids of those that carry no CVSS (the
        unknown-severity rule, `severity.highest_by_alias`)."""
        records: dict[int, Any] = {}
        for q in dict.fromkeys(queries):
            for hit in self.memo.get(q, self._evaluate):
                records[id(hit.advisory)] = hit.advisory
        cves = {i for adv in records.values() for i in [adv.id, *adv.aliases] if _CVE.match(i)}
        bulk = getattr(self.kb, "epss_many", None)
        if bulk is not None and cves:
            bulk(sorted(cves))
        by_ids = getattr(self.kb, "advisories_by_ids", None)
        unscored = {
            i for adv in records.values() if not adv.raw.get("severity") for i in [adv.id, *adv.aliases]
        }
        if by_ids is not None and unscored:
            for adv in by_ids(sorted(unscored)):
                self._by_id.setdefault(adv.id, []).append(adv)

    def _groups(self, hits: list[Hit]) -> list[tuple[str, list[str], list[Hit]]]:
        """`group_records`, its shape cached per set of records (versions of a package share it)."""
        sig = tuple(id(h.advisory) for h in hits)
        shape = self._shapes.get(sig)
        if shape is None:
            position = {id(h): i for i, h in enumerate(hits)}
            shape = self._shapes[sig] = [
                (primary, aliases, [position[id(h)] for h in group])
                for primary, aliases, group in group_records(hits)
            ]
        return [(primary, aliases, [hits[i] for i in idx]) for primary, aliases, idx in shape]

    def flaws_for(self, query: Query) -> list[Flaw]:
        """The merged flaws affecting one (ecosystem, name, version), computed once per run."""
        found = self.flaws.get(query)
        if found is None:
            hits = self.memo.get(query, self._evaluate)
            found = self.flaws[query] = [self._flaw(group) for group in self._groups(hits)]
        return found

    def _flaw(self, group: tuple[str, list[str], list[Hit]]) -> Flaw:
        """The Flaw of a record group; identical groups with identical fixes share one object."""
        primary, aliases, hits = group
        sig = (primary, *((id(h.advisory), *h.fixed, "|", *h.statuses) for h in hits))
        cached = self._flaw_cache.get(sig)
        if cached is None:
            cached = self._flaw_cache[sig] = self._make_flaw(primary, aliases, hits)
        return cached

    def _make_flaw(self, primary: str, aliases: list[str], hits: list[Hit]) -> Flaw:
        key = ranges.key_function(hits[0].entries[0]["package"]["ecosystem"]) if hits[0].entries else None
        fixes: list[str] = []
        nearest: list[str] = []
        for hit in hits:
            for f in hit.fixed:
                if f not in fixes:
                    fixes.append(f)
            if hit.fixed:
                nearest.append(_min(hit.fixed, key))
        fixes = _sorted(fixes, key)
        target = _max(nearest, key) if nearest else None
        if target is not None:
            status = FIXED
        elif any(s == "undetermined" for h in hits for s in h.statuses):
            status = UNDETERMINED
        else:
            status = NOT_FIXED
        group_key = (primary, *(id(h.advisory) for h in hits))
        details = self._details.get(group_key)
        if details is None:
            details = self._details[group_key] = self._describe(primary, aliases, hits)
        severity, kev, epss, refs, summary = details
        sources = [{"source": h.advisory.source, "id": h.advisory.id} for h in hits]
        return Flaw(primary, aliases, fixes, target, status, severity, kev, epss, refs, summary, sources)

    def _describe(self, primary: str, aliases: list[str], hits: list[Hit]) -> tuple[Any, ...]:
        """Severity, KEV, EPSS, references and summary of a record group (shared by versions)."""
        raws = [h.advisory.raw for h in hits]
        severity = severity_of(raws, [e for h in hits for e in h.entries])
        if severity.rank is Level.UNKNOWN:  # the documented rule: the highest any alias carries
            records = [(a.id, a.raw) for i in [primary, *aliases] for a in self._by_id.get(i, ())]
            severity = highest_by_alias(records) or severity
        cves = [i for i in [primary, *aliases] if _CVE.match(i)]
        kev = Kev()
        for cve in cves:
            entry = self._kev(cve)
            if entry is not None:
                kev = Kev(True, entry.date_added, entry.due_date, entry.known_ransomware)
                break
        epss = None
        for cve in cves:
            score = self.kb.epss(cve)
            if score is not None and (epss is None or score.score > epss.score):
                epss = Epss(score.score, score.percentile, cve, score.date)
        refs: list[str] = []
        for raw in raws:
            for ref in raw.get("references") or []:
                url = ref.get("url") if isinstance(ref, dict) else None
                if isinstance(url, str) and url not in refs and len(refs) < MAX_REFERENCES:
                    refs.append(url)
        summary = ""
        for raw in raws:
            text = raw.get("summary") or (raw.get("details") or "").strip().split("\n", 1)[0]
            if text:
                summary = str(text)[:300]
                break
        return severity, kev, epss, refs, summary

    # -- per image -----------------------------------------------------------------------

    def match_image(
        self,
        packages: Sequence[Package],
        os_info: OSInfo,
        first_own_layer: int | None = None,
    ) -> MatchResult:
        result = MatchResult()
        unmatched: dict[str, int] = defaultdict(int)
        queries: list[Query | None] = []
        for pkg in packages:
            q = query_for(pkg, os_info)
            queries.append(q)
            if q is None:
                unmatched[pkg.type] += 1
        # where a fix is a source version, every binary of that source is upgraded with it
        binaries: dict[str, list[str]] = defaultdict(list)
        for pkg in packages:
            if _whole_source(pkg.type):
                src = pkg.source_name or pkg.name
                if pkg.name not in binaries[src]:
                    binaries[src].append(pkg.name)
        used: set[Query] = set()
        for pkg, q in zip(packages, queries, strict=True):
            if q is None:
                continue
            used.add(q)
            for flaw in self.flaws_for(q):
                result.findings.append(self._finding(pkg, flaw, binaries, first_own_layer))
        for q in used:
            result.warnings.extend(self.memo.warnings.get(q, ()))
        for ptype, count in sorted(unmatched.items()):
            os_name = f"{os_info.id} {os_info.version_id}".strip() or "an unknown OS"
            result.notes.append(f"{count} {ptype} packages not matched: no advisory ecosystem for {os_name}")
        result.findings.sort(key=lambda f: (f.package.type, f.package.name, f.package.version, f.id))
        return result

    @staticmethod
    def _finding(
        pkg: Package, flaw: Flaw, binaries: dict[str, list[str]], first_own_layer: int | None
    ) -> Finding:
        whole = _whole_source(pkg.type)
        names = binaries.get(pkg.source_name or pkg.name, [pkg.name]) if whole else [pkg.name]
        return Finding(
            id=flaw.id,
            package=PackageRef(
                pkg.name, pkg.version, pkg.type, pkg.purl, list(pkg.locations), pkg.source_name
            ),
            aliases=list(flaw.aliases),
            fixed_versions=list(flaw.fixed_versions),
            status=flaw.status,
            severity=flaw.severity,
            kev=flaw.kev,
            epss=flaw.epss,
            layer_index=pkg.layer_index,
            layer_diff_id=pkg.layer_diff_id,
            references=flaw.references,
            summary=flaw.summary,
            sources=flaw.sources,
            remediation=remediate(pkg.type, names, flaw.target, pkg.layer_index, first_own_layer),
        )


def group_records(hits: list[Hit]) -> list[tuple[str, list[str], list[Hit]]]:
    """Merge records about one flaw: [(primary id, aliases, records)], in primary-id order."""
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    def union(a: str, b: str) -> None:
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[rb] = ra

    umbrellas: list[tuple[Hit, list[str]]] = []
    plain: list[Hit] = []
    for hit in hits:
        ids = [hit.advisory.id, *hit.advisory.aliases]
        cves = [i for i in ids if _CVE.match(i)]
        if len(cves) > 1:
            umbrellas.append((hit, cves))
            continue
        plain.append(hit)
        for other in ids[1:]:
            union(ids[0], other)
        find(ids[0])
    members: dict[str, list[Hit]] = defaultdict(list)
    ids_of: dict[str, set[str]] = defaultdict(set)
    for hit in plain:
        root = find(hit.advisory.id)
        members[root].append(hit)
        ids_of[root].update([hit.advisory.id, *hit.advisory.aliases])
    for hit, cves in umbrellas:
        for cve in cves:
            root = find(cve)
            if all(h is not hit for h in members[root]):
                members[root].append(hit)
            ids_of[root].update([cve, hit.advisory.id])
    out = []
    for root, group in members.items():
        ids = ids_of[root]
        primary = primary_id(ids)
        out.append((primary, sorted(ids - {primary}), group))
    out.sort(key=lambda g: g[0])
    return out


def primary_id(ids: Iterable[str]) -> str:
    """CVE (lowest year/number) > GHSA > alphabetically first."""
    ids = list(ids)
    cves = [i for i in ids if _CVE.match(i)]
    if cves:
        return cves[0] if len(cves) == 1 else min(cves, key=_cve_order)
    ghsa = [i for i in ids if i.startswith("GHSA-")]
    return min(ghsa) if ghsa else min(ids)


def _cve_order(cve: str) -> tuple[int, int]:
    year, number = cve[4:].split("-", 1)
    return int(year), int(number)


def _sorted(versions: list[str], key: Any) -> list[str]:
    if len(versions) < 2:
        return list(versions)
    try:
        return sorted(versions, key=key) if key else sorted(versions)
    except VersionError:
        return sorted(versions)


def _min(versions: list[str], key: Any) -> str:
    return _sorted(versions, key)[0]


def _max(versions: list[str], key: Any) -> str:
    return _sorted(versions, key)[-1]


def _whole_source(pkg_type: str) -> bool:
    eco = ecosystem_for(pkg_type)
    return eco is not None and eco.upgrade_whole_source


def match_packages(
    packages: Sequence[Package],
    os_info: OSInfo,
    kb: KnowledgeBase,
    *,
    first_own_layer: int | None = None,
    suppressor: Any = None,
) -> MatchResult:
    """Findings for one image's packages. `suppressor` (suppress.Suppressor) flags suppressed ones."""
    matcher = Matcher(kb)
    queries = [q for p in packages if (q := query_for(p, os_info)) is not None]
    matcher.prefetch(queries)
    matcher.prepare(queries)
    result = matcher.match_image(packages, os_info, first_own_layer)
    _finish(matcher, result, suppressor)
    return result


def _finish(matcher: Matcher, result: MatchResult, suppressor: Any) -> None:
    if matcher.git_ranges:
        result.notes.append(
            f"{matcher.git_ranges} GIT (commit) ranges ignored: only version ranges are evaluated"
        )
    if suppressor is not None:
        result.warnings.extend(suppressor.apply(result.findings))
