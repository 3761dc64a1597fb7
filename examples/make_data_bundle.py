"""Cut the offline demo data bundle (examples/data) out of the real snapshots in ../shared/data.

`make run` loads this bundle when the publishers cannot be reached and no ../shared/data is at
hand, so the demo shows real findings offline. Records are copied unchanged (OSV documents
byte for byte; KEV entries as published); only the records that concern the example images'
Python packages are kept. Provenance and licences: examples/data/README.md.

    uv run python examples/make_data_bundle.py --images .keelwatch-run/images [--shared ../shared/data]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
IMAGES = ("python-base", "app-python", "app-python-plugin")
FIXED_TIME = (2024, 10, 10, 0, 0, 0)  # the OSV snapshot's date: the bundle is byte-reproducible


def pep503(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def python_names(images: Path) -> set[str]:
    """PEP 503 names of the Python packages keelwatch finds in the example images."""
    names: set[str] = set()
    with tempfile.TemporaryDirectory() as tmp:
        for image in IMAGES:
            out = Path(tmp) / f"{image}.json"
            cmd = [
                str(Path(sys.executable).with_name("keelwatch")),
                "scan",
                "-q",
                "--no-vulns",
                "--no-store",
                f"oci:{images / image}",
            ]
            subprocess.run(
                [*cmd, "-f", "json", "-o", str(out)], check=True, env={**os.environ, "KEELWATCH_HOME": tmp}
            )
            packages = json.loads(out.read_text())["packages"]
            names.update(pep503(p["name"]) for p in packages if p["type"] == "python")
    return names


def cut_osv(source: Path, target: Path, names: set[str]) -> set[str]:
    """Copy the OSV documents about `names`, unchanged; returns their CVE aliases."""
    cves: set[str] = set()
    target.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(source) as src, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as dst:
        for member in sorted(src.namelist()):
            raw = src.read(member)
            doc = json.loads(raw)
            affected = {pep503(a.get("package", {}).get("name", "")) for a in doc.get("affected", [])}
            if affected & names:
                dst.writestr(zipfile.ZipInfo(member, FIXED_TIME), raw)
                cves.update(a for a in [doc["id"], *doc.get("aliases", [])] if a.startswith("CVE-"))
    return cves


def cut_kev(source: Path, target: Path, cves: set[str]) -> int:
    """The KEV catalogue with only the entries about `cves` (entries unchanged)."""
    catalogue = json.loads(source.read_text())
    catalogue["vulnerabilities"] = [v for v in catalogue["vulnerabilities"] if v["cveID"] in cves]
    catalogue["count"] = len(catalogue["vulnerabilities"])
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(catalogue, indent=2) + "\n")
    return catalogue["count"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=Path, required=True, help="examples/build_images.py --out DIR")
    parser.add_argument("--shared", type=Path, default=HERE.parent.parent / "shared" / "data")
    parser.add_argument("--out", type=Path, default=HERE / "data")
    args = parser.parse_args()
    names = python_names(args.images)
    cves = cut_osv(args.shared / "osv/PyPI/all.zip", args.out / "osv/PyPI/all.zip", names)
    kev = cut_kev(
        args.shared / "kev/known_exploited_vulnerabilities.json",
        args.out / "kev/known_exploited_vulnerabilities.json",
        cves,
    )
    with zipfile.ZipFile(args.out / "osv/PyPI/all.zip") as z:
        print(
            f"{len(z.namelist())} OSV PyPI documents for {len(names)} packages; {kev} KEV entries",
            file=sys.stderr,
        )


if __name__ == "__main__":
    main()
