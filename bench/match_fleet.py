"""Fleet rescan: N stored image scans re-matched against all the shared vulnerability data.

The fleet is built from real package sets: this machine's dpkg status (names, source
packages, versions), the PyPI package names of the OSV PyPI data and the Alpine secdb
package names, with per-image variations: Debian 10/11/12 or Alpine v3.8-v3.11, ~10% of
packages dropped, many versions shifted to a published (older) fix version of that
release, so images are vulnerable the way old images are. The fleet is saved through
the real store (`store.scans.save_scans`, 1,000 scans per transaction); then
`rescan(store)` (what `keelwatch rescan --all` runs) re-matches every scan against OSV
PyPI + DSA/DLA + Alpine secdb + KEV.

    uv run python bench/match_fleet.py --images 1000 --images 10000 --images 100000 [--db DIR] [--data DIR]

The store for each size is kept in DIR (default .keelwatch-run/bench-match) and
reused on the next run, so only the first run pays for saving the fleet. Each size is
rescanned twice: cold (the previous matches deleted first: every scan's package set is
read and every scan's finding list written) and warm (what a periodic rescan after a
data update costs: digests from the last match, only changed scans rewritten).
"""

from __future__ import annotations

import argparse
import json
import random
import re
import time
import zipfile
from collections import defaultdict
from collections.abc import Iterator
from itertools import islice
from pathlib import Path

from keelwatch.model import ImageInfo, OSInfo, Package, ScanResult

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared" / "data"


def dpkg_packages(path: Path = Path("/var/lib/dpkg/status")) -> list[tuple[str, str, str, str]]:
    """(name, version, source name, source version) of every installed package here."""
    out = []
    for block in path.read_text(encoding="utf-8", errors="replace").split("\n\n"):
        fields = dict(re.findall(r"^([A-Za-z-]+): (.*)$", block, re.M))
        if "Package" not in fields or "install ok installed" not in fields.get("Status", ""):
            continue
        version = fields.get("Version", "")
        src = fields.get("Source", fields["Package"])
        m = re.match(r"(\S+)(?: \((\S+)\))?", src)
        out.append((fields["Package"], version, m.group(1), m.group(2) or version))
    return out


def dsa_versions(data: Path) -> dict[tuple[str, str], list[str]]:
    """{(release, source package): fixed versions} from the DSA and DLA lists."""
    fixes: dict[tuple[str, str], list[str]] = defaultdict(list)
    for name in ("DSA-list", "DLA-list"):
        text = (data / "debian" / name).read_text(encoding="utf-8", errors="replace")
        for rel, pkg, ver in re.findall(r"^\s+\[(buster|bullseye|bookworm)\] - (\S+) (\S+)", text, re.M):
            if not ver.startswith("<"):
                fixes[(rel, pkg)].append(ver)
    return fixes


def pypi_versions(data: Path) -> dict[str, list[str]]:
    """{name: versions named by fixed/introduced events} from the OSV PyPI data."""
    out: dict[str, set[str]] = defaultdict(set)
    with zipfile.ZipFile(data / "osv" / "PyPI" / "all.zip") as zf:
        for member in zf.namelist():
            doc = json.loads(zf.read(member))
            for entry in doc.get("affected") or []:
                name = entry["package"]["name"]
                for rng in entry.get("ranges") or []:
                    if rng["type"] == "ECOSYSTEM":
                        for ev in rng["events"]:
                            for v in ev.values():
                                if v != "0" and re.fullmatch(r"[0-9][0-9.]*", v):
                                    out[name].add(v)
    return {k: sorted(v) for k, v in out.items() if v}


def alpine_versions(data: Path) -> dict[str, dict[str, list[str]]]:
    """{branch: {package: secfix versions}}."""
    out: dict[str, dict[str, list[str]]] = {}
    for branch in ("v3.8", "v3.9", "v3.10", "v3.11"):
        pkgs: dict[str, list[str]] = {}
        for repo in ("main", "community"):
            path = data / "alpine-secdb" / branch / f"{repo}.json"
            if path.is_file():
                for item in json.loads(path.read_text()).get("packages") or []:
                    vs = [v for v in item["pkg"]["secfixes"] if v != "0"]
                    if vs:
                        pkgs[item["pkg"]["name"]] = vs
        out[branch] = pkgs
    return out


RELEASES = {"10": "buster", "11": "bullseye", "12": "bookworm"}


def make_fleet(n: int, data: Path, seed: int = 7) -> Iterator[ScanResult]:
    """The fleet, one image at a time (100,000 images do not fit in memory at once)."""
    rng = random.Random(seed)
    debs = dpkg_packages()
    fixes = dsa_versions(data)
    pypi = pypi_versions(data)
    pypi_names = sorted(pypi)
    alpine = alpine_versions(data)
    for i in range(n):
        packages: list[Package] = []
        if rng.random() < 0.2:
            branch = rng.choice(sorted(alpine))
            os_info = OSInfo(id="alpine", version_id=branch[1:] + ".0")
            names = rng.sample(sorted(alpine[branch]), min(60, len(alpine[branch])))
            for layer, name in enumerate(names):
                packages.append(Package(name, rng.choice(alpine[branch][name]), "apk", layer_index=layer % 2))
        else:
            version_id = rng.choice(("10", "11", "12"))
            os_info = OSInfo(id="debian", version_id=version_id)
            release = RELEASES[version_id]
            for name, version, src, src_version in debs:
                if rng.random() < 0.1:
                    continue  # dropped in this image
                shifted = fixes.get((release, src))
                if shifted and rng.random() < 0.5:
                    version = src_version = rng.choice(shifted)
                packages.append(
                    Package(name, version, "deb", source_name=src, source_version=src_version, layer_index=0)
                )
        for name in rng.sample(pypi_names, 25):
            packages.append(Package(name, rng.choice(pypi[name]), "python", layer_index=2))
        image = ImageInfo(
            ref=f"registry.example/team{i % 50}/app{i}:1",
            digest=f"sha256:{i:064x}",
            os=os_info,
        )
        yield ScanResult(image=image, packages=packages)


def build_store(db_dir: Path, n: int, data: Path) -> str:
    from sqlalchemy import func, select

    from keelwatch.app.feeds import update_feeds as update
    from keelwatch.store.db import open_store
    from keelwatch.store.findings_models import ScanPackageSet
    from keelwatch.store.scans import save_scans, scan_count

    db_dir.mkdir(parents=True, exist_ok=True)
    path = db_dir / f"fleet-{n}.db"
    url = f"sqlite:///{path}"
    store = open_store(url)
    with store.read() as conn:
        sets = conn.execute(select(func.count()).select_from(ScanPackageSet)).scalar_one()
    if sets < scan_count(store):  # built before scans kept package sets: build it again
        store.dispose()
        path.unlink()
        store = open_store(url)
    try:
        if scan_count(store) < n:
            t0 = time.perf_counter()
            if scan_count(store) == 0:
                results = update(store, ["osv", "debian-dsa", "debian-dla", "alpine-secdb", "kev"], str(data))
                records = sum(r.records for r in results)
                print(f"  data import: {time.perf_counter() - t0:.1f}s ({records} records)")
            have = scan_count(store)
            t0, c0 = time.perf_counter(), time.process_time()
            saved = len(save_scans(store, islice(make_fleet(n, data), have, None), batch=1000))
            elapsed, cpu = time.perf_counter() - t0, time.process_time() - c0
            print(
                f"  built and saved {saved} scans (save_scans): {elapsed:.1f}s wall, {cpu:.1f}s CPU "
                f"({saved / elapsed:.0f} scans/s)"
            )
    finally:
        store.dispose()
    return url


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--images", type=int, action="append", help="fleet size (repeatable)")
    parser.add_argument("--db", type=Path, default=ROOT / ".keelwatch-run" / "bench-match")
    parser.add_argument("--data", type=Path, default=DATA)
    args = parser.parse_args()
    import os

    os.environ.setdefault("KEELWATCH_HOME", str(args.db / "home"))
    from keelwatch.app.rescan import rescan
    from keelwatch.store.db import open_store

    for n in args.images or [1000, 10000, 100000]:
        print(f"fleet of {n} images")
        url = build_store(args.db, n, args.data)
        store = open_store(url)
        try:
            from sqlalchemy import delete

            from keelwatch.store.findings_models import ScanMatch

            with store.write() as conn:  # cold: no previous match, every scan's links read
                conn.execute(delete(ScanMatch))
            for label in ("cold rescan (no previous match)", "warm rescan (previous match kept)"):
                t0, c0 = time.perf_counter(), time.process_time()
                report = rescan(store)
                elapsed, cpu = time.perf_counter() - t0, time.process_time() - c0
                findings = sum(d.findings for d in report.images)
                print(
                    f"  {label}: {elapsed:.2f}s wall, {cpu:.2f}s CPU for {len(report.images)} images, "
                    f"{report.distinct_packages} distinct packages, {report.evaluations} evaluations, "
                    f"{findings} findings ({len(report.images) / elapsed:.0f} images/s)"
                )
        finally:
            store.dispose()


if __name__ == "__main__":
    main()
