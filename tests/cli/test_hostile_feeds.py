"""Hostile feed files given to `keelwatch db update --from`: bounded, one line, nothing run.

A mirror directory is as untrusted as a registry: a document nested 100,000 levels deep,
YAML with Python tags or an alias bomb, one endless line in a text feed. Each case runs the
real console entry point and asserts a clean end (one `error:` line and exit 2 when the
whole file is unusable; a listed skipped record when only one record is).
"""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from ._support import run_cli

DEEP = "[" * 100_000 + "]" * 100_000
EPSS_HEAD = b"#model_version:v1,score_date:2024-04-15T00:00:00+0000\ncve,epss,percentile\n"


def _put(root: Path, rel: str, data: str | bytes) -> Path:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    return path


def _update(mirror: Path, source: str, home: Path, *extra: str) -> tuple[int, str, str]:
    proc = run_cli("db", "update", "--from", str(mirror), "-s", source, *extra, home=home, timeout=60)
    assert "Traceback" not in proc.stderr and "unexpected" not in proc.stderr, proc.stderr[-2000:]
    return proc.returncode, proc.stdout, proc.stderr


@pytest.mark.parametrize(
    ("source", "rel", "doc", "named"),
    [
        ("kev", "kev/known_exploited_vulnerabilities.json", DEEP, "kev"),
        ("alpine-secdb", "alpine-secdb/v3.18/main.json", DEEP, "v3.18/main.json"),
        ("debian-tracker", "debian/tracker.json", '{"a": ' + DEEP + "}", "tracker JSON"),
        ("kev", "kev/known_exploited_vulnerabilities.json", '{"n": ' + "9" * 100_000 + "}", "digits"),
    ],
)
def test_feed_document_nested_or_huge_numbers_is_one_line(
    source: str, rel: str, doc: str, named: str, tmp_path: Path, keelwatch_home: Path
) -> None:
    _put(tmp_path / "mirror", rel, doc)
    code, _out, err = _update(tmp_path / "mirror", source, keelwatch_home, "-q")
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 1 and lines[0].startswith("error: "), err[-2000:]
    assert named in lines[0]


def test_deep_osv_document_given_as_the_feed(tmp_path: Path, keelwatch_home: Path) -> None:
    doc = _put(tmp_path, "osv/deep.json", DEEP)
    code, _out, err = _update(doc, "osv", keelwatch_home, "-q")
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 1 and "nested deeper" in lines[0], err[-2000:]


def test_hostile_osv_records_are_skipped_not_run(tmp_path: Path, keelwatch_home: Path) -> None:
    docs = tmp_path / "docs"
    pwned = tmp_path / "pwned"
    _put(docs, "deep.json", DEEP)
    _put(docs, "deep.yaml", "a: " + "[" * 50_000 + "]" * 50_000 + "\n")
    _put(docs, "tag.yaml", f"!!python/object/apply:os.system ['touch {pwned}']\n")
    bomb = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{b}: &{b} [{', '.join([f'*{a}'] * 9)}]\n" for a, b in zip("abcdefg", "bcdefgh", strict=True)
    )
    _put(docs, "bomb.yaml", bomb)
    code, out, err = _update(docs, "osv", keelwatch_home, "--show-skipped")
    assert code == 0, err[-2000:]
    assert "4 skipped" in out
    assert "nested deeper" in out and "nested too deeply" in out
    assert "Python tags" in out and "alias bomb" in out
    assert not pwned.exists()


def test_endless_line_in_a_dsa_list_is_skipped(tmp_path: Path, keelwatch_home: Path) -> None:
    record = "[0{d} Jan 2024] DSA-{d}-1 {name} - security update\n\t{{CVE-2024-000{d}}}\n"
    record += "\t[bookworm] - openssl 3.0.{d}-1\n"
    text = record.format(d=1, name="openssl") + record.format(d=2, name="x" * (3 << 20))
    text += record.format(d=3, name="openssl")
    _put(tmp_path / "mirror", "debian/DSA-list", text)
    code, out, err = _update(tmp_path / "mirror", "debian-dsa", keelwatch_home, "--show-skipped")
    assert code == 0, err[-2000:]
    assert "line 4: longer than" in out and "2 records" in out


def test_endless_line_in_epss_is_skipped(tmp_path: Path, keelwatch_home: Path) -> None:
    body = EPSS_HEAD + b"CVE-2020-0001,0.1,0.2\nCVE-2020-0002," + b"1" * (3 << 20) + b",0.1\n"
    _put(
        tmp_path / "mirror",
        "epss/epss_scores-current.csv.gz",
        gzip.compress(body + b"CVE-2020-0003,0.1,0.2\n"),
    )
    code, out, err = _update(tmp_path / "mirror", "epss", keelwatch_home, "--show-skipped")
    assert code == 0, err[-2000:]
    assert "2 records" in out and "longer than" in out


@pytest.mark.parametrize("url", ["http://[::1", "https://"])
def test_mirror_url_that_is_not_a_url_is_one_line(url: str, keelwatch_home: Path) -> None:
    proc = run_cli("db", "update", "--from", url, "-q", home=keelwatch_home, timeout=60)
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: --from {url}: not a valid URL"), proc.stderr
    assert proc.stdout == ""
