"""Header blobs from an rpmdb.sqlite (rpm >= 4.16; Fedora 33+, RHEL 9, …).

rpm keeps one row per installed package in `Packages(hnum INTEGER PRIMARY KEY, blob BLOB)`.
The bytes are loaded with `Connection.deserialize` into an in-memory database, so
nothing touches the disk. rpm leaves the file in WAL journal mode, which an
in-memory database cannot open; the copy is switched to rollback-journal mode
(header bytes 18/19) first. Only what the main file holds is read: a -wal file
beside it is a different file the scan engine never offers here.

The file is hostile: `Packages` must be a real table (a view could compute rows
forever), each value must be a blob no larger than rpm allows, and a progress
handler stops any statement that runs too long.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator

from keelwatch.catalog.rpm.header import MAX_BLOB_SIZE

MAGIC = b"SQLite format 3\0"
# SQLite VM steps allowed per statement before it is aborted (a full scan of a
# 100 MiB rpmdb takes well under a million).
_MAX_STEPS = 50_000_000
_PROGRESS_EVERY = 10_000


class RpmDbError(ValueError):
    """The database file cannot be read at all (not one package can be trusted)."""


def is_sqlite(data: bytes) -> bool:
    return data.startswith(MAGIC)


def iter_blobs(data: bytes, warnings: list[str]) -> Iterator[tuple[int, bytes]]:
    """Yield (hnum, header blob) per row, in hnum order."""
    if len(data) < 100 or not is_sqlite(data):
        raise RpmDbError("not an SQLite database")
    image: bytes | bytearray = data
    if data[18] == 2 or data[19] == 2:  # WAL: in-memory databases need a rollback journal
        image = bytearray(data)
        image[18] = image[19] = 1
    con = sqlite3.connect(":memory:")
    con.text_factory = lambda raw: raw.decode("utf-8", "replace")  # hostile text is not UTF-8
    steps = 0

    def progress() -> int:
        nonlocal steps
        steps += _PROGRESS_EVERY
        return 1 if steps > _MAX_STEPS else 0

    try:
        con.setlimit(sqlite3.SQLITE_LIMIT_LENGTH, MAX_BLOB_SIZE)
        con.deserialize(image)
        del image
        con.set_progress_handler(progress, _PROGRESS_EVERY)
        con.execute("PRAGMA query_only = 1")
        con.execute("PRAGMA trusted_schema = 0")
        kind = con.execute("SELECT type FROM sqlite_master WHERE name = 'Packages'").fetchone()
        if kind is None:
            raise RpmDbError("no Packages table")
        if kind[0] != "table":
            raise RpmDbError(f"Packages is a {kind[0]}, not a table")
        rows = con.execute("SELECT hnum, blob FROM Packages ORDER BY hnum")
        for hnum, blob in rows:
            if not isinstance(hnum, int):
                warnings.append(f"package row with a non-integer hnum {hnum!r} skipped")
                continue
            if not isinstance(blob, bytes):
                warnings.append(f"package row {hnum}: blob is {type(blob).__name__}, not bytes")
                continue
            yield hnum, blob
    except (sqlite3.Error, UnicodeDecodeError) as exc:  # SQLite's messages may quote raw schema bytes
        if steps > _MAX_STEPS:
            raise RpmDbError("query aborted: the database takes too long to read") from None
        raise RpmDbError(f"unreadable SQLite database: {exc}") from None
    finally:
        con.close()
