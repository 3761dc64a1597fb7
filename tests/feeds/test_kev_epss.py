"""CISA KEV (real catalogue) and EPSS (fixture in FIRST's documented CSV format, gzipped here)."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

from keelwatch.app.feeds import update_feeds as update
from keelwatch.store.kb import SqlKnowledgeBase

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "feeds"


def one(results, feed):  # type: ignore[no-untyped-def]
    [res] = [r for r in results if r.feed == feed]
    return res


def test_kev_real(store, shared_data: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    res = one(update(store, ["kev"], str(shared_data)), "kev")
    catalogue = json.loads((shared_data / "kev" / "known_exploited_vulnerabilities.json").read_text())
    assert res.status == "updated" and res.records == catalogue["count"]
    kb = SqlKnowledgeBase(store)
    entry = kb.kev("CVE-2025-48384")
    assert entry is not None and entry.vendor == "Git" and entry.date_added == "2025-08-25"
    assert entry.due_date == "2025-09-15"
    assert kb.kev("CVE-1900-0001") is None
    assert len(kb.kev_all()) == catalogue["count"]
    assert kb.kev("CVE-2025-48384") is entry  # answers are cached per knowledge base
    # a catalogue that is not one rejects the update and keeps the old data
    bad = tmp_path / "kev"
    bad.mkdir()
    (bad / "known_exploited_vulnerabilities.json").write_text(json.dumps({"title": "x"}))
    res = one(update(store, ["kev"], str(tmp_path)), "kev")
    assert res.status == "failed" and "not a KEV catalogue" in res.message
    assert len(SqlKnowledgeBase(store).kev_all()) == catalogue["count"]


def epss_mirror(root: Path, text: str | None = None) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    data = (text if text is not None else (FIXTURES / "epss_scores-current.csv").read_text()).encode()
    (root / "epss_scores-current.csv.gz").write_bytes(gzip.compress(data))
    return root


def test_epss_fixture(store, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    res = one(update(store, ["epss"], str(epss_mirror(tmp_path / "a"))), "epss")
    assert res.status == "updated" and res.records == 4
    kb = SqlKnowledgeBase(store)
    score = kb.epss("CVE-2021-44228")
    assert score is not None
    assert (score.score, score.percentile, score.model_version, score.date) == (
        0.97565,
        0.99998,
        "v2023.03.01",
        "2024-04-15",
    )
    assert set(kb.epss_many(["CVE-2024-3400", "CVE-2000-0000"])) == {"CVE-2024-3400"}
    # truncated gzip: rejected, previous scores intact
    broken = tmp_path / "b"
    broken.mkdir()
    whole = gzip.compress(
        (
            "\n".join(
                ["#model_version:v2,score_date:2024-05-01T00:00:00+0000", "cve,epss,percentile"]
                + [f"CVE-2024-{i:05d},0.1,0.5" for i in range(20000)]
            )
        ).encode()
    )
    (broken / "epss_scores-current.csv.gz").write_bytes(whole[: len(whole) // 2])
    res = one(update(store, ["epss"], str(broken)), "epss")
    assert res.status == "failed" and "truncated" in res.message
    fresh = SqlKnowledgeBase(store)
    assert fresh.epss("CVE-2021-44228") is not None and fresh.epss("CVE-2024-00001") is None
    # a bad row is skipped with its line number, the rest imported
    text = (FIXTURES / "epss_scores-current.csv").read_text() + "CVE-2024-9999,not-a-number,0.1\n"
    res = one(update(store, ["epss"], str(epss_mirror(tmp_path / "c", text))), "epss")
    assert res.status == "updated" and res.records == 4
    assert any("line 7" in w for w in res.warnings)


def test_epss_wrong_header(store, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    res = one(update(store, ["epss"], str(epss_mirror(tmp_path, "a,b,c\n1,2,3\n"))), "epss")
    assert res.status == "failed" and "not an EPSS CSV" in res.message


def test_whole_shared_mirror(store, shared_data: Path) -> None:  # type: ignore[no-untyped-def]
    """`--from` a directory holding several sources side by side: what is there is imported."""
    results = {r.feed: r for r in update(store, None, str(shared_data))}
    for feed in ("osv:PyPI", "debian-dsa", "debian-dla", "alpine-secdb", "kev"):
        assert results[feed].status == "updated", (feed, results[feed].message)
    assert results["epss"].status == "skipped" and results["debian-tracker"].status == "skipped"
    again = {r.feed: r for r in update(store, None, str(shared_data))}
    assert all(again[f].status == "unchanged" for f in ("osv:PyPI", "debian-dsa", "alpine-secdb", "kev"))


def test_single_file_for_one_source(store, shared_data: Path) -> None:  # type: ignore[no-untyped-def]
    kev_file = shared_data / "kev" / "known_exploited_vulnerabilities.json"
    [res] = update(store, ["kev"], str(kev_file))
    assert res.status == "updated" and res.records > 1000
    [res] = update(store, ["alpine-secdb"], str(shared_data / "alpine-secdb" / "v3.11" / "main.json"))
    assert res.status == "updated", res.message
    assert SqlKnowledgeBase(store).advisories_for("Alpine:v3.11", "ansible")
