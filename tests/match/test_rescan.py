"""`keelwatch rescan` on scans saved through the real store, against the real data."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from keelwatch.model import ImageInfo, OSInfo, Package, ScanResult


@pytest.fixture
def cli(full_store, monkeypatch):  # type: ignore[no-untyped-def]
    from keelwatch.cli import _register_all, app

    monkeypatch.setenv("KEELWATCH_DB_URL", str(full_store.url))
    _register_all()
    runner = CliRunner()

    def run(*args: str) -> tuple[int, str]:
        res = runner.invoke(app, list(args))
        return res.exit_code, res.stdout

    return run


def scan(packages: list[Package], ref: str = "registry.example/app:1") -> ScanResult:
    image = ImageInfo(ref=ref, digest="sha256:" + "ab" * 32, os=OSInfo(id="debian", version_id="10"))
    return ScanResult(image=image, packages=packages)


def test_rescan_reports_new_and_fixed(full_store, cli) -> None:  # type: ignore[no-untyped-def]
    from keelwatch.store.scans import save_scan

    old = [
        Package("requests", "2.19.1", "python", layer_index=1),
        Package("libssl1.1", "1.1.1d-0+deb10u2", "deb", source_name="openssl", layer_index=0),
    ]
    sid = save_scan(full_store, scan(old))
    code, out = cli("rescan", str(sid), "--format", "json")
    assert code == 0, out
    [image] = json.loads(out)["images"]
    assert image["first_match"] and image["findings"] > 0
    first_total = image["findings"]
    # unchanged data and scan: the cached path (digest, stored package links) gives the same figures
    code, out = cli("rescan", str(sid), "--format", "json")
    [again] = json.loads(out)["images"]
    assert not again["first_match"] and again["new"] == again["fixed"] == []
    assert again["findings"] == first_total and again["by_severity"] == image["by_severity"]
    # the same image re-saved with requests upgraded past its fixes: rescan shows them fixed
    sid2 = save_scan(full_store, scan([Package("requests", "2.31.0", "python"), old[1]]))
    assert sid2 == sid
    code, out = cli("rescan", str(sid), "--format", "json")
    [image] = json.loads(out)["images"]
    fixed = {(f["id"], f["package"]) for f in image["fixed"]}
    assert ("CVE-2018-18074", "requests") in fixed and not image["new"]
    assert image["findings"] == first_total - len(image["fixed"])
    code, out = cli("rescan", "--all")
    assert code == 0 and "registry.example/app:1" in out


def test_rescan_errors(full_store, cli) -> None:  # type: ignore[no-untyped-def]
    from keelwatch.app.rescan import rescan
    from keelwatch.errors import KeelwatchError

    with pytest.raises(KeelwatchError, match="no stored scan with id 987654"):
        rescan(full_store, [987654])


def test_rescan_on_both_backends(store, shared_data) -> None:  # type: ignore[no-untyped-def]
    """The fan-out aggregates links in SQL (GROUP_CONCAT / string_agg): run it on SQLite and PostgreSQL."""
    from keelwatch.app.feeds import update_feeds as update
    from keelwatch.app.rescan import rescan
    from keelwatch.store.scans import save_scan

    [res] = [r for r in update(store, ["osv"], str(shared_data)) if r.feed == "osv:PyPI"]
    assert res.status == "updated"
    pkgs = [Package("requests", "2.19.1", "python"), Package("urllib3", "1.24.1", "python")]
    a = save_scan(store, scan(pkgs, "registry.example/a:1"))
    b = save_scan(store, scan(pkgs[:1], "registry.example/b:1"))
    first = {d.scan_id: d for d in rescan(store).images}
    second = {d.scan_id: d for d in rescan(store).images}
    assert first[a].findings > first[b].findings > 0
    assert [second[i].findings for i in (a, b)] == [first[i].findings for i in (a, b)]
    assert not second[a].first_match and second[a].new == second[a].fixed == []


def test_bulk_save_and_package_sets_on_both_backends(store, shared_data) -> None:  # type: ignore[no-untyped-def]
    """`save_scans` gives `save_scan`'s ids; the packed package sets and the links give one answer."""
    from sqlalchemy import delete, select

    from keelwatch.app.feeds import update_feeds as update
    from keelwatch.app.rescan import rescan
    from keelwatch.store.db import pack
    from keelwatch.store.findings_models import ScanMatch, ScanPackageSet
    from keelwatch.store.models import Scan
    from keelwatch.store.scans import load_scan, save_scan, save_scans

    [res] = [r for r in update(store, ["osv"], str(shared_data)) if r.feed == "osv:PyPI"]
    assert res.status == "updated"
    pkgs = [Package("requests", "2.19.1", "python"), Package("urllib3", "1.24.1", "python")]
    a, b, a2, c = (
        scan(pkgs, "registry.example/a:1"),
        scan(pkgs[:1], "registry.example/b:1"),
        scan(pkgs[1:], "registry.example/a:1"),  # the same image again in the batch: the last one wins
        scan([], "registry.example/c:1"),
    )
    ids = save_scans(store, [a, b, a2, c], batch=3)
    assert ids[0] == ids[2] and len(set(ids)) == 3
    stored = load_scan(store, ids[0])
    assert stored is not None and [p.name for p in stored.packages] == ["urllib3"]
    assert save_scans(store, [a, b], batch=10) == ids[:2]  # re-saved in place
    # the stored document is exactly what `save_scan` always stored: pack(result.to_dict())
    rich = Package("bash", "5.0-4", "deb", purl="pkg:deb/debian/bash@5.0-4", source_name="bash")
    rich.licenses, rich.locations, rich.metadata = ["GPL-3"], ["/var/lib/dpkg/status"], {"arch": "amd64"}
    [rid] = save_scans(store, [scan([rich], "registry.example/rich:1")])
    with store.read() as conn:
        blob = conn.execute(select(Scan.result).where(Scan.id == rid)).scalar_one()
    assert blob == pack(scan([rich], "registry.example/rich:1").to_dict())
    assert save_scan(store, c) == ids[3]
    by_set = {d.scan_id: d for d in rescan(store).images}
    assert by_set[ids[0]].findings > by_set[ids[1]].findings > 0 and by_set[ids[3]].findings == 0
    # scans saved before package sets existed: the links (scan_packages) give the same figures
    with store.write() as conn:
        conn.execute(delete(ScanPackageSet))
        conn.execute(delete(ScanMatch))
    by_links = {d.scan_id: d for d in rescan(store).images}
    assert {i: (d.findings, d.by_severity) for i, d in by_links.items()} == {
        i: (d.findings, d.by_severity) for i, d in by_set.items()
    }
    # and the cached links of that match serve the next one
    again = {d.scan_id: d for d in rescan(store).images}
    assert all(not d.first_match and d.new == d.fixed == [] for d in again.values())
    assert {i: d.findings for i, d in again.items()} == {i: d.findings for i, d in by_set.items()}


def test_stored_findings_are_what_rescan_stores(store, shared_data) -> None:  # type: ignore[no-untyped-def]
    """`stored_findings` (findings of stored scans, for other callers) agrees with rescan's stored lists."""
    from sqlalchemy import select

    from keelwatch.app.feeds import update_feeds as update
    from keelwatch.app.rescan import rescan, stored_findings
    from keelwatch.store.db import unpack
    from keelwatch.store.findings_models import ScanMatch
    from keelwatch.store.scans import save_scan

    [res] = [r for r in update(store, ["osv"], str(shared_data)) if r.feed == "osv:PyPI"]
    assert res.status == "updated"
    a = save_scan(store, scan([Package("requests", "2.19.1", "python")], "registry.example/a:1"))
    b = save_scan(store, scan([Package("urllib3", "1.24.1", "python")], "registry.example/b:1"))
    found = stored_findings(store, [a, b])
    assert ("CVE-2018-18074", "python", "requests", "2.19.1") in {k[:4] for k in found[a]}
    assert found[b] and not {k[2] for k in found[b]} & {"requests"}
    rescan(store, [a, b])
    with store.read() as conn:
        kept = {
            sid: {tuple(k) for k in unpack(blob)}
            for sid, blob in conn.execute(select(ScanMatch.scan_id, ScanMatch.findings))
        }
    assert kept == found


def test_tally_sums_figures_of_packages() -> None:
    """The packed per-package integer: summing packages sums totals, levels and digests."""
    from keelwatch.vulndb.fleetmatch import read_tally, tally

    k1 = ("CVE-1", "deb", "a", "1", "high")
    k2 = ("CVE-2", "deb", "a", "1", "critical")
    k3 = ("CVE-3", "deb", "b", "2", "high")
    both = read_tally(tally((k1, k2)) + tally((k3,)))
    assert (both.total, both.by_level) == (3, {"critical": 1, "high": 2})
    assert both.digest == read_tally(tally((k3,)) + tally((k2, k1))).digest  # order-independent
    assert both.digest != read_tally(tally((k1,)) + tally((k3,))).digest
    assert read_tally(0).total == 0 and read_tally(0).by_level == {}
