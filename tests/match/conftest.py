"""One SQLite store per session loaded with all the real shared data (OSV PyPI, DSA/DLA,
Alpine secdb, KEV) through the real feed importers, plus an in-memory knowledge base
for tests about record semantics (the records are written in the test, in OSV shape)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

import pytest

from keelwatch.catalog.python import normalise_name as pep503
from keelwatch.vulndb.model import Advisory, EpssScore, KevEntry


@pytest.fixture(scope="session")
def full_store(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    from keelwatch.app.feeds import update_feeds as update
    from keelwatch.store.db import open_store

    home = tmp_path_factory.mktemp("kw-session-home")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("KEELWATCH_HOME", str(home))
        store = open_store(f"sqlite:///{home / 'store.db'}")
        results = update(store, ["osv", "debian-dsa", "debian-dla", "alpine-secdb", "kev"], str(shared_data))
        failed = [r for r in results if r.status == "failed"]
        assert not failed, failed
        yield store
        store.dispose()


@pytest.fixture
def kb(full_store: object) -> object:
    from keelwatch.store.kb import SqlKnowledgeBase

    return SqlKnowledgeBase(full_store)  # type: ignore[arg-type]


class MemoryKB:
    """A KnowledgeBase over advisories given in the test (the protocol is three lookups)."""

    def __init__(self, advisories: list[dict], kev: list[KevEntry] = (), epss: list[EpssScore] = ()) -> None:
        self.index: dict[tuple[str, str], list[Advisory]] = defaultdict(list)
        for raw in advisories:
            adv = Advisory(
                raw["id"], "test", raw, list(raw.get("aliases", [])), withdrawn=raw.get("withdrawn")
            )
            for entry in raw.get("affected", []):
                eco, name = entry["package"]["ecosystem"], entry["package"]["name"]
                key = (eco, pep503(name) if eco == "PyPI" else name)
                if adv not in self.index[key]:
                    self.index[key].append(adv)
        self._kev = {k.cve: k for k in kev}
        self._epss = {e.cve: e for e in epss}

    def advisories_for(self, ecosystem: str, name: str) -> list[Advisory]:
        return self.index.get((ecosystem, pep503(name) if ecosystem == "PyPI" else name), [])

    def kev(self, cve: str) -> KevEntry | None:
        return self._kev.get(cve)

    def epss(self, cve: str) -> EpssScore | None:
        return self._epss.get(cve)


@pytest.fixture
def memory_kb() -> type[MemoryKB]:
    return MemoryKB
