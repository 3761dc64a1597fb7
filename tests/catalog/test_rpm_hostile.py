"""Hostile rpm databases: truncated files, bogus headers, overflow loops, absurd counts.

Each starts from a real fixture database (tests/fixtures/rpm) and breaks it the way a
corrupt or malicious image could. The cataloger must answer with warnings, never an
exception, a hang or an allocation beyond the file's own size, and must never turn
broken bytes into a package that is not in the real database.
"""

from __future__ import annotations

import sqlite3
import struct
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from keelwatch.catalog.rpm import MAX_WARNINGS, RpmCataloger
from keelwatch.catalog.rpm.header import HeaderError, RpmHeader, parse_header
from keelwatch.catalog.rpm.sqlite import iter_blobs as sqlite_blobs

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "rpm"
DATABASES = {"sqlite": "rpmdb.sqlite", "ndb": "Packages.db", "bdb": "Packages"}
REAL = {b: (FIXTURES / b / n).read_bytes() for b, n in DATABASES.items()}
REAL_BLOBS = [blob for _, blob in sqlite_blobs(REAL["sqlite"], [])]
REAL_NEVRAS = {(h.name, h.epoch, h.version, h.release) for h in map(parse_header, REAL_BLOBS)}


def parse(data: bytes, *, only_real: bool = True):
    """Parse; with only_real, every package found must be one of the real database's."""
    result = RpmCataloger().parse("/var/lib/rpm/Packages", data)
    for p in result.packages if only_real else ():
        nevra = (
            p.name,
            p.metadata["epoch"],
            p.version.split(":")[-1].rsplit("-", 1)[0],
            p.metadata["release"],
        )
        assert nevra in REAL_NEVRAS, f"invented package {nevra}"
    return result


# ---- whole files -------------------------------------------------------------------------


@pytest.mark.parametrize("backend", list(DATABASES))
def test_truncated_databases_warn_and_keep_only_real_packages(backend: str) -> None:
    data = REAL[backend]
    cuts = sorted({*range(0, len(data), max(1, len(data) // 97)), *range(len(data) - 40, len(data))})
    for cut in cuts:
        result = parse(data[:cut])
        if len(result.packages) < 4:
            assert result.warnings, f"cut at {cut}: packages lost without a warning"


@pytest.mark.parametrize("junk", [b"", b"\0" * 4096, b"RpmP", b"SQLite format 3\0" + b"\xff" * 200])
def test_not_a_database(junk: bytes) -> None:
    result = parse(junk)
    assert result.packages == [] and len(result.warnings) == 1


# ---- Berkeley DB ---------------------------------------------------------------------------

PAGE = 4096


def bdb_pages(data: bytes) -> list[tuple[int, int]]:
    return [(i, data[i * PAGE + 25]) for i in range(len(data) // PAGE)]


def offpage_items(data: bytes) -> list[int]:
    """File offsets of the H_OFFPAGE value items on hash pages."""
    found = []
    for pgno, typ in bdb_pages(data):
        if typ != 13:
            continue
        start = pgno * PAGE
        entries = struct.unpack_from("<H", data, start + 20)[0]
        for i in range(1, entries, 2):
            off = struct.unpack_from("<H", data, start + 26 + 2 * i)[0]
            if data[start + off] == 3:
                found.append(start + off)
    return found


def test_bdb_overflow_chain_loop_is_cut() -> None:
    data = bytearray(REAL["bdb"])
    item = offpage_items(data)[0]
    first_page, total = struct.unpack_from("<II", data, item + 4)
    # The chain's only page now points to itself and the item claims more than one page holds.
    struct.pack_into("<I", data, first_page * PAGE + 16, first_page)
    struct.pack_into("<I", data, item + 8, total + 1000)
    result = parse(bytes(data))
    assert len(result.packages) == 3
    assert any("loops" in w for w in result.warnings)


def test_bdb_shared_overflow_chain_is_read_once() -> None:
    """Every value item pointing at the same chain: one package, no quadratic copying."""
    data = bytearray(REAL["bdb"])
    items = offpage_items(data)
    target = data[items[0] + 4 : items[0] + 12]
    for item in items[1:]:
        data[item + 4 : item + 12] = target
    result = parse(bytes(data))
    assert len(result.packages) == 1
    assert len(result.warnings) == len(items) - 1


@pytest.mark.parametrize("total", [0, 2**31, 2**32 - 1])
def test_bdb_absurd_overflow_length(total: int) -> None:
    data = bytearray(REAL["bdb"])
    struct.pack_into("<I", data, offpage_items(data)[0] + 8, total)
    result = parse(bytes(data))
    assert len(result.packages) == 3 and result.warnings


def test_bdb_overflow_pointing_outside_or_at_wrong_page_type() -> None:
    data = bytearray(REAL["bdb"])
    items = offpage_items(data)
    struct.pack_into("<I", data, items[0] + 4, 10**6)  # beyond the file
    struct.pack_into("<I", data, items[1] + 4, 1)  # a hash page, not an overflow page
    result = parse(bytes(data))
    assert len(result.packages) == 2 and len(result.warnings) == 2


def test_bdb_bad_meta_page() -> None:
    for offset, value in [(16, 3), (20, 1000), (20, 0), (24, 1)]:
        data = bytearray(REAL["bdb"])
        if offset == 24:
            data[24] = value
        else:
            struct.pack_into("<I", data, offset, value)
        result = parse(bytes(data))
        assert result.packages == [] and len(result.warnings) == 1


def test_bdb_hash_page_entry_count_absurd() -> None:
    data = bytearray(REAL["bdb"])
    for pgno, typ in bdb_pages(data):
        if typ == 13:
            struct.pack_into("<H", data, pgno * PAGE + 20, 0xFFFF)
    result = parse(bytes(data))
    assert result.warnings
    assert len(result.warnings) <= MAX_WARNINGS + 1


# ---- ndb -------------------------------------------------------------------------------------


def test_ndb_corrupt_blob_is_skipped() -> None:
    data = bytearray(REAL["ndb"])
    blob_start = 4096  # first blob right after the single slot page
    data[blob_start + 100] ^= 0xFF
    result = parse(bytes(data))
    assert len(result.packages) == 3
    assert any("checksum" in w for w in result.warnings)


def test_ndb_slots_pointing_everywhere() -> None:
    data = bytearray(REAL["ndb"])
    for n in range(2, 256):  # every slot of the first page claims a huge blob at the start
        struct.pack_into("<4sIII", data, n * 16, b"Slot", n, 1, 2**31)
    result = parse(bytes(data))
    assert result.packages == []
    assert len(result.warnings) == MAX_WARNINGS + 1  # capped, with a count of the rest


def test_ndb_absurd_slot_page_count() -> None:
    data = bytearray(REAL["ndb"])
    struct.pack_into("<I", data, 12, 2**32 - 1)
    result = parse(bytes(data))
    assert result.packages == [] and "slot pages" in result.warnings[0]


# ---- sqlite ----------------------------------------------------------------------------------


def sqlite_image(tmp_path: Path, sql: str) -> bytes:
    path = tmp_path / "rpmdb.sqlite"
    con = sqlite3.connect(path)
    con.executescript(sql)
    con.close()
    return path.read_bytes()


def test_sqlite_packages_view_cannot_run_forever(tmp_path: Path) -> None:
    data = sqlite_image(
        tmp_path,
        "CREATE VIEW Packages AS WITH RECURSIVE c(hnum, blob) AS "
        "(SELECT 1, x'00' UNION ALL SELECT hnum + 1, blob FROM c) SELECT * FROM c;",
    )
    result = parse(data)
    assert result.packages == [] and "view" in result.warnings[0]


def test_sqlite_odd_rows(tmp_path: Path) -> None:
    blob = REAL_BLOBS[0]
    data = sqlite_image(
        tmp_path,
        "CREATE TABLE Packages (hnum, blob);"
        f"INSERT INTO Packages VALUES (1, x'{blob.hex()}'), (2, 'text'), ('x', x'00'), (3, NULL),"
        f" (4, x'{blob[:50].hex()}');",
    )
    result = parse(data)
    assert len(result.packages) == 1
    assert len(result.warnings) == 4


def test_sqlite_schema_with_invalid_utf8() -> None:
    """SQLite quotes the broken schema in its error message: bytes that are not UTF-8."""
    data = REAL["sqlite"]
    assert b"(hnum ASC)" in data  # found by fuzzing: one byte in an index's CREATE statement
    broken = data.replace(b"(hnum ASC)", b"(hnum \xbeSC)")
    result = parse(broken)
    assert result.packages == [] and "unreadable SQLite" in result.warnings[0]


def test_sqlite_without_packages_table(tmp_path: Path) -> None:
    result = parse(sqlite_image(tmp_path, "CREATE TABLE other (x);"))
    assert result.packages == [] and "no Packages table" in result.warnings[0]


# ---- header blobs ----------------------------------------------------------------------------


def blob(entries: list[tuple[int, int, int, int]], store: bytes) -> bytes:
    out = struct.pack(">II", len(entries), len(store))
    for e in entries:
        out += struct.pack(">IIII", *e)
    return out + store


@pytest.mark.parametrize(
    "bad,why",
    [
        (b"", "shorter"),
        (struct.pack(">II", 0, 0), "index count"),
        (struct.pack(">II", 2**32 - 1, 2**32 - 1), "index count"),
        (struct.pack(">II", 1, 2**31), "data length"),
        (struct.pack(">II", 1000, 10) + b"\0" * 100, "truncated"),
        (blob([(1000, 6, 99, 1)], b"a\0"), "beyond"),
        (blob([(1000, 42, 0, 1)], b"a\0"), "unknown type"),
        (blob([(1000, 6, 0, 1)], b"abc"), "past the end"),
        (blob([(1000, 8, 0, 2**31)], b"a\0"), "cannot fit"),
        (blob([(1000, 6, 0, 1), (1003, 4, 0, 2**30)], b"a\0\0\0"), "run past"),
        (blob([(1000, 4, 0, 1)], b"abcd"), "type"),
        (blob([(1001, 6, 0, 1)], b"1\0"), "no NAME"),
        (
            blob([(1000, 6, 0, 1), (1116, 4, 4, 1), (1117, 8, 0, 1), (1118, 8, 2, 1)], b"a\0/\0\0\0\0\x05"),
            "dir index",
        ),
    ],
)
def test_bogus_headers(bad: bytes, why: str) -> None:
    with pytest.raises(HeaderError, match=why):
        parse_header(bad, with_files=True)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    which=st.integers(0, len(REAL_BLOBS) - 1),
    edits=st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 255)), max_size=8),
    cut=st.one_of(st.none(), st.integers(0, 10**6)),
)
def test_mutated_real_headers_never_crash(which: int, edits, cut) -> None:
    data = bytearray(REAL_BLOBS[which])
    for pos, value in edits:
        data[pos % len(data)] = value
    if cut is not None:
        del data[cut % (len(data) + 1) :]
    try:
        header = parse_header(bytes(data), with_files=True)
    except HeaderError:
        return
    assert isinstance(header, RpmHeader) and header.name
    assert len(header.files) <= len(data)


@settings(max_examples=200, deadline=None)
@given(
    entries=st.lists(
        st.tuples(
            st.sampled_from([1000, 1001, 1002, 1003, 1009, 1014, 1044, 1116, 1117, 1118, 5009]),
            st.integers(0, 12),
            st.integers(0, 2**32 - 1) | st.integers(0, 64),
            st.integers(0, 2**32 - 1) | st.integers(0, 16),
        ),
        min_size=1,
        max_size=12,
    ),
    store=st.binary(max_size=64),
)
def test_arbitrary_index_entries_never_crash(entries, store: bytes) -> None:
    try:
        header = parse_header(blob(entries, store), with_files=True)
    except HeaderError:
        return
    assert header.name  # a header without NAME is rejected, never returned half-empty


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    backend=st.sampled_from(list(DATABASES)),
    edits=st.lists(
        st.tuples(st.integers(0, 2**20), st.binary(min_size=1, max_size=4)), min_size=1, max_size=30
    ),
)
def test_mutated_real_databases_never_crash(backend: str, edits) -> None:
    """Random byte damage anywhere in a real database: warnings at most, never an exception.
    Damage inside a header's strings can rename a package in sqlite and bdb (nothing checks
    their blobs); ndb blobs carry a checksum, so there every package must still be real."""
    data = bytearray(REAL[backend])
    for pos, value in edits:
        pos %= len(data)
        data[pos : pos + len(value)] = value
    parse(bytes(data), only_real=backend == "ndb")
