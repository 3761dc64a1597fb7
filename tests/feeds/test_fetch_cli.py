"""Downloads over real HTTP (conditional GET, size cap, 404) and the `keelwatch db` commands."""

from __future__ import annotations

import functools
import json
import shutil
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from typer.testing import CliRunner

from keelwatch.app.feeds import update_feeds as update
from keelwatch.errors import FeedError
from keelwatch.store.kb import SqlKnowledgeBase
from keelwatch.vulndb.feeds.fetch import Fetcher


class _Quiet(SimpleHTTPRequestHandler):
    requests: list[tuple[str, int]] = []

    def log_message(self, *args: object) -> None:
        pass

    def send_response(self, code: int, message: str | None = None) -> None:
        type(self).requests.append((self.path, code))
        super().send_response(code, message)


@pytest.fixture
def http_mirror(shared_data: Path, tmp_path: Path) -> Iterator[tuple[str, Path]]:
    root = tmp_path / "www"
    (root / "PyPI").mkdir(parents=True)
    shutil.copy(shared_data / "osv" / "PyPI" / "all.zip", root / "PyPI" / "all.zip")
    shutil.copytree(shared_data / "alpine-secdb", root, dirs_exist_ok=True)
    (root / "sites/default/files/feeds").mkdir(parents=True)
    shutil.copy(
        shared_data / "kev" / "known_exploited_vulnerabilities.json", root / "sites/default/files/feeds"
    )
    _Quiet.requests = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(root)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/", root
    finally:
        server.shutdown()
        server.server_close()


def test_http_mirror_conditional_get(store, http_mirror) -> None:  # type: ignore[no-untyped-def]
    url, _root = http_mirror
    results = {r.feed: r for r in update(store, ["osv", "kev"], url)}
    assert results["osv:PyPI"].status == "updated", results["osv:PyPI"].message
    assert results["osv:PyPI"].records == 2659
    assert results["kev"].status == "updated"
    # ecosystems the mirror lacks are 404 -> that feed fails, the others are fine
    assert results["osv:npm"].status == "failed" and "HTTP 404" in results["osv:npm"].message
    _Quiet.requests.clear()
    again = {r.feed: r for r in update(store, ["osv", "kev"], url)}
    assert again["osv:PyPI"].status == "unchanged" and again["kev"].status == "unchanged"
    assert ("/PyPI/all.zip", 304) in _Quiet.requests  # If-Modified-Since honoured


def test_http_multi_file_feed_partly_changed(store, http_mirror, keelwatch_home: Path) -> None:  # type: ignore[no-untyped-def]
    """Alpine over HTTP: one branch file changes, the 304 ones are fetched in full for the re-import."""
    import os

    url, root = http_mirror
    keelwatch_home.mkdir(parents=True, exist_ok=True)
    (keelwatch_home / "config.toml").write_text('[vulndb]\nalpine_branches = ["v3.10", "v3.11", "v9.99"]\n')
    [first] = update(store, ["alpine-secdb"], url)
    assert first.status == "updated", first.message  # v9.99 is 404: optional, skipped
    [same] = update(store, ["alpine-secdb"], url)
    assert same.status == "unchanged"
    main = root / "v3.11" / "main.json"
    doc = json.loads(main.read_text())
    doc["packages"].append({"pkg": {"name": "kw-test", "secfixes": {"1.0-r0": ["CVE-2099-0001"]}}})
    main.write_text(json.dumps(doc))
    later = main.stat().st_mtime + 10
    os.utime(main, (later, later))
    _Quiet.requests.clear()
    [changed] = update(store, ["alpine-secdb"], url)
    assert changed.status == "updated", changed.message
    assert (changed.added, changed.removed) == (1, 0)
    assert ("/v3.10/main.json", 304) in _Quiet.requests and ("/v3.10/main.json", 200) in _Quiet.requests
    kb = SqlKnowledgeBase(store)
    assert [a.id for a in kb.advisories_for("Alpine:v3.11", "kw-test")] == ["ALPINE-CVE-2099-0001"]
    assert kb.advisories_for("Alpine:v3.10", "ansible")  # the unchanged branch is still there


def test_download_size_cap(http_mirror, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    url, _root = http_mirror
    with (
        Fetcher(url, tmp_path / "work", max_bytes=1000) as fetcher,
        pytest.raises(FeedError, match="byte limit"),
    ):
        fetcher.get("unused", ["PyPI/all.zip"])
    assert not list((tmp_path / "work").iterdir())  # temporary files removed


def test_cli_update_and_status(shared_data: Path, tmp_path: Path, keelwatch_home: Path) -> None:
    from keelwatch.cli import _register_all, app

    _register_all()
    runner = CliRunner()
    mirror = tmp_path / "m"
    (mirror / "PyPI").mkdir(parents=True)
    shutil.copy(shared_data / "osv" / "PyPI" / "all.zip", mirror / "PyPI" / "all.zip")
    out = runner.invoke(app, ["db", "update", "--source", "osv", "--from", str(mirror)])
    assert out.exit_code == 0, out.output
    assert "osv:PyPI" in out.output and "2659 records" in out.output
    status = runner.invoke(app, ["db", "status"])
    assert status.exit_code == 0, status.output
    line = next(ln for ln in status.output.splitlines() if ln.startswith("osv:PyPI"))
    assert " stale " in line and "2659" in line  # updated fine, but the data is old: the gate's word for it
    assert "days old (limit 5)" in status.output  # the 2024 snapshot is stale (default: 5 days, as Grype)
    assert "not in mirror          1 feeds: osv:Debian" not in out.output  # --source osv: one line for all
    assert sum("not in mirror" in ln for ln in out.output.splitlines()) == 1
    assert (keelwatch_home / "keelwatch.db").is_file()


def test_cli_failure_exits_2() -> None:
    """Through the real console script: one-line error, exit code 2."""
    import subprocess

    exe = shutil.which("keelwatch")
    assert exe, "the keelwatch console script is installed in the venv"
    proc = subprocess.run(
        [exe, "db", "update", "--source", "nope"], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 2
    assert proc.stderr.strip() == (
        "error: unknown source 'nope' (known: osv, debian-tracker, debian-dsa, debian-dla, "
        "alpine-secdb, kev, epss)"
    )
    bad_store = subprocess.run(
        [exe, "db", "status"],
        capture_output=True,
        text=True,
        timeout=120,
        env={**__import__("os").environ, "KEELWATCH_DB_URL": "postgresql+psycopg://postgres@127.0.0.1:1/x"},
    )
    assert bad_store.returncode == 2
    assert bad_store.stderr.startswith("error: cannot open store") and bad_store.stderr.count("\n") == 1


class _Trickle(SimpleHTTPRequestHandler):
    """A mirror that answers, then sends one byte every 0.2 s for as long as anyone listens (up to 30 s)."""

    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        self.send_response(200)
        self.send_header("Content-Length", "1000000")
        self.end_headers()
        try:
            for _ in range(150):
                self.wfile.write(b"x")
                self.wfile.flush()
                threading.Event().wait(0.2)
        except (BrokenPipeError, ConnectionResetError):
            pass


def test_trickling_mirror_ends_at_the_time_limit(tmp_path: Path) -> None:
    """Each byte comes well within the read timeout; only a total time limit ends the download."""
    import time

    server = ThreadingHTTPServer(("127.0.0.1", 0), _Trickle)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/"
        start = time.monotonic()
        with (
            Fetcher(url, tmp_path / "work", time_limit=1.5) as fetcher,
            pytest.raises(FeedError, match="total time limit of 2 s"),
        ):
            fetcher.get("unused", ["kev.json"])
        assert time.monotonic() - start < 15
    finally:
        server.shutdown()
        server.server_close()
