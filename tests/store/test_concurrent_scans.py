"""Twenty `keelwatch scan` processes on one fresh store: every scan succeeds and is stored.

Before migrations were serialised, two of twenty failed with "duplicate column name".
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy import text

from imagebuilder import FileEntry, make_layer, write_oci_layout
from keelwatch.store.db import open_store

STATUS = Path("/var/lib/dpkg/status")
PROCESSES = 20


def _images(root: Path) -> list[Path]:
    """Distinct images (one file differs) over this machine's real dpkg status."""
    base = make_layer(
        [
            FileEntry("etc/os-release", Path("/etc/os-release").read_bytes()),
            FileEntry("var/lib/dpkg/status", STATUS.read_bytes()),
        ]
    )
    paths = []
    for i in range(PROCESSES):
        path = root / f"img{i}"
        write_oci_layout(path, [base, make_layer([FileEntry("app/id", str(i).encode())])], tag="1")
        paths.append(path)
    return paths


def test_concurrent_scans_on_a_fresh_store_are_all_stored(tmp_path: Path) -> None:
    """On the embedded default (SQLite), the case that failed; PostgreSQL's lock is in test_migrations."""
    images = _images(tmp_path)
    store_url = f"sqlite:///{tmp_path / 'store.db'}"
    env = {**os.environ, "KEELWATCH_DB_URL": store_url}
    keelwatch = [str(Path(sys.executable).with_name("keelwatch"))]
    procs = [
        subprocess.Popen(
            [*keelwatch, "scan", "-q", "--no-vulns", f"oci:{img}", "-f", "json", "-o", f"{tmp_path}/{i}"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i, img in enumerate(images)
    ]
    outcomes = [(p.wait(timeout=240), p.stderr.read()) for p in procs]
    assert [rc for rc, _ in outcomes] == [0] * PROCESSES, [err for _, err in outcomes if err]
    with open_store(store_url).read() as conn:
        refs = set(conn.execute(text("SELECT ref FROM scans")).scalars())
    assert refs == {f"oci:{img}" for img in images}
