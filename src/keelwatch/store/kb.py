"""`KnowledgeBase` over the store, with bulk prefetch for matching a whole fleet at once.

`advisories_for` answers one (ecosystem, name); `advisories_for_many` answers
thousands in a few IN-queries and parses each advisory document once, which is
what `rescan` needs. Names are looked up by the key the feeds indexed them
under (`name_key`: PEP 503 normalisation for PyPI), so "Django" finds "django".
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from sqlalchemy import select

from keelwatch.store.db import Store, unpack
from keelwatch.store.models import AdvisoryPackage, AdvisoryRow, EpssRow, FeedState, KevRow
from keelwatch.vulndb.feeds.base import name_key
from keelwatch.vulndb.model import Advisory, EpssScore, KevEntry

_CHUNK = 500


class SqlKnowledgeBase:
    """Vulnerability data as the matcher asks for it; advisories sorted by (source, id)."""

    def __init__(self, store: Store) -> None:
        self.store = store
        # Answers are cached for the life of this object (one scan or rescan run), so a
        # matcher may `prefetch` a fleet's keys once and then ask per package for free.
        self._advisories: dict[tuple[str, str], list[Advisory]] = {}
        self._kev: dict[str, KevEntry] | None = None
        self._epss: dict[str, EpssScore | None] = {}

    def prefetch(self, keys: Iterable[tuple[str, str]], cves: Iterable[str] = ()) -> None:
        """Load advisories for many (ecosystem, name) keys and EPSS for many CVEs in bulk."""
        self.advisories_for_many(keys)
        self.epss_many(cves)

    def advisories_for(self, ecosystem: str, name: str) -> list[Advisory]:
        key = (ecosystem, name)
        if key not in self._advisories:
            self.advisories_for_many([key])
        return self._advisories[key]

    def advisories_for_many(self, keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], list[Advisory]]:
        """{(ecosystem, name): advisories} for every key (keys with none map to [])."""
        keys = list(dict.fromkeys(keys))
        missing = [k for k in keys if k not in self._advisories]
        if missing:
            self._advisories.update(self._load(missing))
        return {k: self._advisories[k] for k in keys}

    def _load(self, keys: list[tuple[str, str]]) -> dict[tuple[str, str], list[Advisory]]:
        by_lookup: dict[tuple[str, str], list[tuple[str, str]]] = defaultdict(list)
        for eco, name in keys:
            by_lookup[(eco, name_key(eco, name))].append((eco, name))
        per_eco: dict[str, list[str]] = defaultdict(list)
        for eco, key in by_lookup:
            per_eco[eco].append(key)
        hits: dict[tuple[str, str], set[tuple[str, str]]] = defaultdict(set)
        parsed: dict[tuple[str, str], Advisory] = {}
        with self.store.read() as conn:
            for eco, names in per_eco.items():
                for i in range(0, len(names), _CHUNK):
                    chunk = names[i : i + _CHUNK]
                    rows = conn.execute(
                        select(
                            AdvisoryPackage.name_key, AdvisoryPackage.source, AdvisoryPackage.advisory_id
                        ).where(AdvisoryPackage.ecosystem == eco, AdvisoryPackage.name_key.in_(chunk))
                    )
                    for key, source, adv_id in rows:
                        hits[(eco, key)].add((source, adv_id))
            wanted = sorted({ref for refs in hits.values() for ref in refs})
            by_source: dict[str, list[str]] = defaultdict(list)
            for source, adv_id in wanted:
                by_source[source].append(adv_id)
            for source, ids in by_source.items():
                for i in range(0, len(ids), _CHUNK):
                    for row in conn.execute(
                        select(AdvisoryRow).where(
                            AdvisoryRow.source == source, AdvisoryRow.id.in_(ids[i : i + _CHUNK])
                        )
                    ).mappings():
                        parsed[(source, row["id"])] = Advisory(
                            id=row["id"],
                            source=source,
                            raw=unpack(row["raw"]),
                            aliases=list(row["aliases"] or []),
                            modified=row["modified"],
                            withdrawn=row["withdrawn"],
                        )
        result: dict[tuple[str, str], list[Advisory]] = {}
        for lookup, originals in by_lookup.items():
            advisories = [parsed[ref] for ref in sorted(hits.get(lookup, ())) if ref in parsed]
            for original in originals:
                result[original] = advisories
        return result

    def advisories_by_ids(self, ids: Iterable[str]) -> list[Advisory]:
        """Every stored record whose own id is one of `ids` (any source), withdrawn ones left out:
        what the unknown-severity rule reads (a CVE record scoring a PYSEC one's flaw)."""
        wanted = sorted(set(ids))
        out: list[Advisory] = []
        if not wanted:
            return out
        with self.store.read() as conn:
            # naming the sources lets the (source, id) primary key answer each id
            sources = list(conn.execute(select(FeedState.source).distinct()).scalars())
            for i in range(0, len(wanted), _CHUNK):
                rows = conn.execute(
                    select(AdvisoryRow).where(
                        AdvisoryRow.source.in_(sources),
                        AdvisoryRow.id.in_(wanted[i : i + _CHUNK]),
                        AdvisoryRow.withdrawn.is_(None),
                    )
                ).mappings()
                out.extend(
                    Advisory(r["id"], r["source"], unpack(r["raw"]), list(r["aliases"] or []), r["modified"])
                    for r in rows
                )
        return out

    def kev(self, cve: str) -> KevEntry | None:
        return self.kev_all().get(cve)

    def kev_all(self) -> dict[str, KevEntry]:
        """The whole catalogue (about 1,500 rows), loaded once per knowledge base."""
        if self._kev is None:
            with self.store.read() as conn:
                self._kev = {
                    r["cve"]: KevEntry(**r) for r in conn.execute(select(KevRow.__table__)).mappings()
                }
        return self._kev

    def epss(self, cve: str) -> EpssScore | None:
        return self.epss_many([cve]).get(cve)

    def epss_many(self, cves: Iterable[str]) -> dict[str, EpssScore]:
        wanted = list(dict.fromkeys(cves))
        missing = [c for c in wanted if c not in self._epss]
        if not missing:
            return {c: score for c in wanted if (score := self._epss[c]) is not None}
        with self.store.read() as conn:
            for i in range(0, len(missing), _CHUNK):
                chunk = missing[i : i + _CHUNK]
                self._epss.update(dict.fromkeys(chunk))
                rows = conn.execute(select(EpssRow.__table__).where(EpssRow.cve.in_(chunk)))
                self._epss.update((r["cve"], EpssScore(**r)) for r in rows.mappings())
        return {c: score for c in wanted if (score := self._epss[c]) is not None}
