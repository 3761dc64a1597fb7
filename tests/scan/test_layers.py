"""The safe layer reader: normalisation, link handling, hostile streams and limits."""

from __future__ import annotations

import gzip
import hashlib
import io
import tarfile
import time
import tracemalloc
import zlib

import pytest
import zstandard

from imagebuilder import FileEntry, make_tar
from keelwatch.errors import LayerError
from keelwatch.oci.layers import (
    DIR,
    FILE,
    HARDLINK,
    OPAQUE,
    OTHER,
    SYMLINK,
    WHITEOUT,
    LayerLimits,
    LayerReader,
    norm_path,
    resolve_path,
)


def diff_id(tar: bytes) -> str:
    return "sha256:" + hashlib.sha256(tar).hexdigest()


def raw_tar(members: list[tuple[tarfile.TarInfo, bytes | None]], fmt: int = tarfile.PAX_FORMAT) -> bytes:
    """A tar written by Python's tarfile, with names exactly as given (no sanitising)."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=fmt, encoding="utf-8", errors="surrogateescape") as t:
        for info, data in members:
            if data is not None:
                info.size = len(data)
            t.addfile(info, io.BytesIO(data) if data is not None else None)
    return buf.getvalue()


def member(name: str, kind: bytes = tarfile.REGTYPE, linkname: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = linkname
    return info


def read_all(blob: bytes, want: str | None = None, **kw) -> tuple[list, dict, LayerReader]:
    reader = LayerReader(io.BytesIO(blob), **kw)
    entries, contents = [], {}
    for e in reader:
        entries.append((e.path, e.type, e.linkname))
        if e.type == FILE and (want is None or e.path == want):
            contents[e.path] = reader.read(1 << 20)
    return entries, contents, reader


@pytest.mark.parametrize(
    ("name", "want"),
    [
        ("usr/bin/x", "/usr/bin/x"),
        ("./usr/bin/x", "/usr/bin/x"),
        ("/etc/shadow", "/etc/shadow"),
        ("../../etc/passwd", "/etc/passwd"),
        ("a/../../../b/./c//d/", "/b/c/d"),
        ("./", "/"),
        ("", "/"),
        ("a/.hidden/..", "/a"),
        (".wh.x", "/.wh.x"),
    ],
)
def test_norm_path_clamps_at_root(name: str, want: str) -> None:
    assert norm_path(name) == want


def test_entries_types_and_content_every_compression() -> None:
    entries = [
        FileEntry("etc", type="dir"),
        FileEntry("etc/hostname", b"box\n"),
        FileEntry("etc/os-release", type="symlink", linkname="../usr/lib/os-release"),
        FileEntry("etc/hostname2", type="hardlink", linkname="etc/hostname"),
        FileEntry("var/gone", type="whiteout"),
        FileEntry("opt/app", type="opaque"),
        FileEntry("x" * 150 + "/" + "y" * 120, b"long"),  # needs a pax path record
    ]
    tar = make_tar(entries)
    for blob, kind in (
        (tar, "none"),
        (gzip.compress(tar), "gzip"),
        (zstandard.ZstdCompressor().compress(tar), "zstd"),
    ):
        got, contents, reader = read_all(blob, diff_id=diff_id(tar))
        assert reader.verified and reader.compression == kind
        assert got == [
            ("/etc", DIR, ""),
            ("/etc/hostname", FILE, ""),
            ("/etc/os-release", SYMLINK, "../usr/lib/os-release"),
            ("/etc/hostname2", HARDLINK, "/etc/hostname"),
            ("/var/gone", WHITEOUT, ""),
            ("/opt/app", OPAQUE, ""),
            ("/" + "x" * 150 + "/" + "y" * 120, FILE, ""),
        ]
        assert contents["/etc/hostname"] == b"box\n"
        assert contents["/" + "x" * 150 + "/" + "y" * 120] == b"long"


def test_gnu_long_names_and_traversal_names() -> None:
    long = "d/" * 80 + "f"
    tar = raw_tar(
        [
            (member(long), b"gnu"),
            (member("../../etc/passwd"), b"root"),
            (member("/abs/file"), b"abs"),
            (member("h", tarfile.LNKTYPE, "../../../outside"), None),
            (member("s", tarfile.SYMTYPE, "/../../etc/shadow"), None),
            (member("dev", tarfile.CHRTYPE), None),
        ],
        fmt=tarfile.GNU_FORMAT,
    )
    got, contents, _ = read_all(tar, diff_id=diff_id(tar))
    assert got == [
        ("/" + long, FILE, ""),
        ("/etc/passwd", FILE, ""),
        ("/abs/file", FILE, ""),
        ("/h", HARDLINK, "/outside"),  # hardlink targets are clamped inside the root
        ("/s", SYMLINK, "/../../etc/shadow"),  # symlink targets stay raw ...
        ("/dev", OTHER, ""),
    ]
    assert contents["/etc/passwd"] == b"root"
    # ... and resolve inside the root only
    assert resolve_path("/s", {"/s": "/../../etc/shadow"}.get) == "/etc/shadow"


def test_resolve_path_stays_inside_and_stops_loops() -> None:
    links = {
        "/etc/os-release": "../usr/lib/os-release",
        "/lib": "usr/lib",
        "/a": "b",
        "/b": "a",
        "/esc": "../../../../../../host",
        "/self": "/self/x",
    }
    assert resolve_path("/etc/os-release", links.get) == "/usr/lib/os-release"
    assert resolve_path("/lib/apk/db/installed", links.get) == "/usr/lib/apk/db/installed"
    assert resolve_path("/esc/etc/passwd", links.get) == "/host/etc/passwd"
    assert resolve_path("/a", links.get) is None
    assert resolve_path("/self", links.get) is None
    assert resolve_path("/plain/file", links.get) == "/plain/file"


def test_whiteout_edge_cases_are_not_whiteouts() -> None:
    tar = raw_tar(
        [
            (member("a/.wh..wh.plnk"), b""),  # aufs metadata
            (member("a/.wh.."), b""),  # would whiteout the parent
            (member(".wh.top"), b""),
            (member(".wh..wh..opq"), b""),
        ]
    )
    got, _, reader = read_all(tar, diff_id=diff_id(tar))
    assert got == [
        ("/a/.wh..wh.plnk", OTHER, ""),
        ("/a/.wh..", OTHER, ""),  # would remove /a/..: kept as other, never a whiteout
        ("/top", WHITEOUT, ""),
        ("/", OPAQUE, ""),
    ]
    assert any("malformed whiteout" in w for w in reader.warnings)


def test_invalid_utf8_names_are_replaced_with_warning() -> None:
    tar = raw_tar([(member("caf\udce9/menu"), b"x")], fmt=tarfile.GNU_FORMAT)
    assert b"caf\xe9/menu" in tar
    got, _, reader = read_all(tar, diff_id=diff_id(tar))
    assert got == [("/caf\ufffd/menu", FILE, "")]
    assert any("not valid UTF-8" in w for w in reader.warnings)


def test_diff_id_mismatch_is_an_error() -> None:
    tar = make_tar([FileEntry("a", b"1")])
    with pytest.raises(LayerError, match="does not match diff_id"):
        read_all(gzip.compress(tar), diff_id="sha256:" + "0" * 64)


def test_oversized_file_is_skipped_with_warning() -> None:
    tar = make_tar([FileEntry("big", b"x" * 5000), FileEntry("small", b"ok")])
    reader = LayerReader(io.BytesIO(tar), diff_id=diff_id(tar))
    seen = {}
    for e in reader:
        seen[e.path] = reader.read(1000)
    assert seen == {"/big": None, "/small": b"ok"}
    assert any("/big" in w and "limit" in w for w in reader.warnings)


def _huge_size_header(name: bytes, size: int) -> bytes:
    hdr = bytearray(512)
    hdr[0 : len(name)] = name
    hdr[100:108] = b"0000644\x00"
    hdr[124] = 0x80  # GNU base-256 size
    hdr[125:136] = size.to_bytes(11, "big")
    hdr[156] = ord("0")
    hdr[257:265] = b"ustar  \x00"
    hdr[148:156] = b" " * 8
    hdr[148:156] = b"%06o\x00 " % sum(hdr)
    return bytes(hdr)


def test_header_claiming_huge_size_allocates_nothing() -> None:
    blob = _huge_size_header(b"var/lib/dpkg/status", 1 << 80) + b"tiny" * 100
    tracemalloc.start()
    try:
        reader = LayerReader(io.BytesIO(blob))
        with pytest.raises(LayerError, match="ends early|limit"):
            for e in reader:
                assert e.size == 1 << 80
                assert reader.read(1 << 20) is None  # over the limit: not read
    finally:
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    assert peak < 16 << 20


def gzip_bomb(total: int) -> bytes:
    """A tar with one `total`-byte file of zeros, gzip'd (~1000:1) without compressing it all."""
    header = _huge_size_header(b"bomb", total)
    comp = zlib.compressobj(9, zlib.DEFLATED, 31)
    head = comp.compress(header) + comp.flush(zlib.Z_FULL_FLUSH)
    block = comp.compress(bytes(1 << 20)) + comp.flush(zlib.Z_FULL_FLUSH)  # self-contained
    return head + block * (total >> 20) + comp.flush()


def test_gzip_bomb_trips_the_ratio_check_early() -> None:
    bomb = gzip_bomb(2 << 30)  # 2 GiB of zeros
    assert len(bomb) < 4 << 20
    tracemalloc.start()
    start = time.monotonic()
    try:
        with pytest.raises(LayerError, match="decompression bomb"):
            for _ in LayerReader(io.BytesIO(bomb), diff_id="sha256:" + "0" * 64):
                pass
    finally:
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    assert time.monotonic() - start < 30  # stops near 256 MiB, not 2 GiB
    assert peak < 64 << 20


def test_layer_size_limit() -> None:
    tar = make_tar([FileEntry("a", bytes(300_000))])
    with pytest.raises(LayerError, match="uncompressed bytes"):
        read_all(tar, limits=LayerLimits(max_layer_bytes=100_000))


def test_entry_limit() -> None:
    tar = make_tar([FileEntry(f"f{i}", b"") for i in range(20)])
    with pytest.raises(LayerError, match="entries"):
        read_all(tar, limits=LayerLimits(max_entries=10))


@pytest.mark.parametrize("compression", ["gzip", "zstd"])
def test_truncated_stream_is_a_clear_error(compression: str) -> None:
    tar = make_tar([FileEntry(f"file{i}", bytes([i]) * 20000) for i in range(40)])
    blob = gzip.compress(tar) if compression == "gzip" else zstandard.ZstdCompressor().compress(tar)
    for cut in (len(blob) // 2, len(blob) - 3):
        with pytest.raises(LayerError, match=f"truncated|{compression}"):
            read_all(blob[:cut], diff_id=diff_id(tar))


@pytest.mark.parametrize("compression", ["gzip", "zstd"])
def test_corrupt_stream_is_a_clear_error(compression: str) -> None:
    tar = make_tar([FileEntry(f"file{i}", bytes(range(256)) * 100) for i in range(40)])
    blob = bytearray(
        gzip.compress(tar) if compression == "gzip" else zstandard.ZstdCompressor().compress(tar)
    )
    for i in range(len(blob) // 3, len(blob) // 3 + 16):
        blob[i] ^= 0x5A
    with pytest.raises(LayerError, match=compression):
        read_all(bytes(blob), diff_id=diff_id(tar))


def test_garbage_is_not_a_tar() -> None:
    with pytest.raises(LayerError, match="not a tar"):
        read_all(b"this is not a tar archive at all" * 40)


def test_multi_member_gzip_and_trailing_padding() -> None:
    tar = make_tar([FileEntry("a", b"1"), FileEntry("b", b"2")])
    blob = gzip.compress(tar[:1024]) + gzip.compress(tar[1024:])
    got, contents, reader = read_all(blob, diff_id=diff_id(tar))
    assert [p for p, _, _ in got] == ["/a", "/b"] and reader.verified
    got, _, reader = read_all(gzip.compress(tar) + b"\0" * 100, diff_id=diff_id(tar))
    assert reader.verified and any("trailing" in w for w in reader.warnings)
