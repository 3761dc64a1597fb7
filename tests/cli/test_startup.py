"""Start-up cost: a command imports only what it uses (issue 7: start-up cost).

SQLAlchemy and the ORM models cost ~0.3 s of imports on every run; a catalogue-only scan
(`--no-store --no-vulns`, what Syft does) never opens the store, so it must not pay them.
Checked in a real child process, as a user runs the command.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

PROBE = """
import sys
from keelwatch.cli import main
try:
    main()
finally:
    heavy = sorted({m.split(".")[0] for m in sys.modules} & {"sqlalchemy", "alembic"})
    print("IMPORTED=" + ",".join(heavy), file=sys.stderr)
"""


def test_catalogue_only_scan_does_not_import_the_store(debian_image: Path, tmp_path: Path) -> None:
    out = tmp_path / "scan.json"
    args = ["scan", f"oci:{debian_image}", "--no-store", "--no-vulns", "-q", "-f", "json", "-o", str(out)]
    env = {"KEELWATCH_HOME": str(tmp_path / "home"), "PATH": "/usr/bin:/bin"}
    proc = subprocess.run(
        [sys.executable, "-c", PROBE, *args], capture_output=True, text=True, env=env, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(out.read_text())["packages"]  # the scan did run
    imported = [line for line in proc.stderr.splitlines() if line.startswith("IMPORTED=")]
    assert imported == ["IMPORTED="], proc.stderr
