"""`db update` / `db status` as a user meets them: summaries, skipped lists, offline, snapshot dates."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
from pathlib import Path

from typer.testing import CliRunner

from keelwatch.app.feeds import feed_status, update_feeds


def _cli(*args: str) -> object:
    from keelwatch.cli import _register_all, app

    _register_all()
    return CliRunner().invoke(app, list(args))


def _closed_port() -> int:
    """A loopback port nobody listens on: connecting to it is refused at once."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_alpine_snapshot_comes_from_the_data_not_the_copy(store, shared_data: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """A fresh copy of 2020 secdb files is 2020 data: its age is years, never 0 days."""
    mirror = tmp_path / "m"
    shutil.copytree(shared_data / "alpine-secdb", mirror / "alpine-secdb")  # mtimes: now
    [res] = update_feeds(store, ["alpine-secdb"], str(mirror))
    assert res.status == "updated", res.message
    [state] = [s for s in feed_status(store) if s.feed == "alpine-secdb"]
    assert state.snapshot_at.startswith("2020-")  # newest CVE year of the v3.3..v3.11 data
    age = state.age_days()
    assert age is not None and age > 365 * 5


def test_status_shows_alpine_age_from_data(shared_data: Path, tmp_path: Path) -> None:
    mirror = tmp_path / "m"
    shutil.copytree(shared_data / "alpine-secdb", mirror)
    out = _cli("db", "update", "--source", "alpine-secdb", "--from", str(mirror))
    assert out.exit_code == 0, out.output
    status = _cli("db", "status")
    line = next(ln for ln in status.output.splitlines() if ln.startswith("alpine-secdb "))
    age = float(line.split()[-1].rstrip("d"))
    assert age > 365 * 5, line
    assert "alpine-secdb data is" in status.output and "days old" in status.output


def test_one_summary_line_per_feed_and_the_skipped_list(shared_data: Path, keelwatch_home: Path) -> None:
    """The shared data has dozens of invalid records: counted per feed, listed on request or in a file."""
    mirror = str(shared_data)
    out = _cli("db", "update", "--source", "alpine-secdb", "--source", "osv", "--from", mirror)
    assert out.exit_code == 0, out.output
    lines = out.output.splitlines()
    assert not any("skipped record" in ln for ln in lines)  # no line per record
    alpine = next(ln for ln in lines if ln.startswith("alpine-secdb ") and " updated " in ln)
    skipped = int(alpine.split(" skipped")[0].rsplit(", ", 1)[1])
    assert skipped > 0
    listed = keelwatch_home / "db-update-skipped.txt"
    assert str(listed) in out.output
    rows = listed.read_text().splitlines()
    assert sum(r.startswith("alpine-secdb\t") for r in rows) == skipped
    assert any(r.startswith("osv:PyPI\tPYSEC-2021-371: ") for r in rows)
    again = _cli("db", "update", "--source", "alpine-secdb", "--from", mirror, "--force", "--show-skipped")
    assert again.exit_code == 0, again.output
    shown = [ln for ln in again.output.splitlines() if ln.startswith("  skipped ")]
    assert len(shown) == skipped
    assert [s.removeprefix("  skipped ") for s in shown] == [
        r.split("\t", 1)[1] for r in rows if r.startswith("alpine-secdb\t")
    ]
    clean = _cli("db", "update", "--source", "kev", "--from", mirror)
    assert clean.exit_code == 0 and "skipped" not in clean.output
    assert listed.read_text() == ""  # an older run's list is never left to mislead


def test_offline_is_one_short_line() -> None:
    """Connection refused (as offline): exit 2 and one short line saying what to do."""
    exe = shutil.which("keelwatch")
    assert exe
    url = f"http://127.0.0.1:{_closed_port()}/"
    proc = subprocess.run(
        [exe, "db", "update", "--from", url], capture_output=True, text=True, timeout=120, env=os.environ
    )
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr == "error: cannot reach 127.0.0.1: no network? use --from DIR\n"
    assert all(len(ln) < 120 for ln in proc.stdout.splitlines()), proc.stdout


def test_download_progress_counts_bytes(store, shared_data: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """The progress callback sees the bytes of each download as they arrive."""
    import functools
    import threading
    from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

    root = tmp_path / "www"
    (root / "PyPI").mkdir(parents=True)
    shutil.copy(shared_data / "osv" / "PyPI" / "all.zip", root / "PyPI" / "all.zip")

    class Quiet(SimpleHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(root)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    seen: list[tuple[str, int, int | None]] = []
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/"
        results = update_feeds(store, ["osv"], url, download_progress=lambda *a: seen.append(a))
    finally:
        server.shutdown()
        server.server_close()
    assert {r.feed: r.status for r in results}["osv:PyPI"] == "updated"
    size = (root / "PyPI" / "all.zip").stat().st_size
    pypi = [s for s in seen if s[0].endswith("PyPI/all.zip")]
    assert pypi[-1][1] == size and pypi[-1][2] == size
    assert [d for _u, d, _t in pypi] == sorted(d for _u, d, _t in pypi)


def test_offline_across_hosts_is_one_line() -> None:
    """Every feed unreachable, on several publishers' hosts: still one line, naming the first host."""
    from keelwatch.cli.db import _failure
    from keelwatch.vulndb.feeds.plan import FeedResult

    def down(feed: str, host: str) -> FeedResult:
        msg = f"cannot reach {host}: no network? use --from DIR"
        return FeedResult(feed, feed, "failed", message=msg, unreachable=host)

    results = [down("osv:PyPI", "a.example"), down("osv:npm", "a.example"), down("kev", "b.example")]
    assert str(_failure(results)) == "cannot reach a.example (and 1 other hosts): no network? use --from DIR"
    assert str(_failure(results[:2])) == "cannot reach a.example: no network? use --from DIR"
    mixed = [*results, FeedResult("epss", "epss", "failed", message="epss: not an EPSS CSV")]
    assert str(_failure(mixed)).startswith("4 feeds failed; first: osv:PyPI: cannot reach a.example")
