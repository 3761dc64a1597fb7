"""Property: random or mutated layer bytes only ever raise LayerError, never hang, never escape root."""

from __future__ import annotations

import gzip
import io

import zstandard
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from imagebuilder import FileEntry, make_tar
from keelwatch.errors import LayerError
from keelwatch.oci.layers import FILE, HARDLINK, LayerLimits, LayerReader, norm_path, resolve_path

LIMITS = LayerLimits(max_layer_bytes=8 << 20, ratio_threshold=1 << 20, max_entries=10_000)
SEED = make_tar(
    [
        FileEntry("var/lib/dpkg/status", b"Package: a\nVersion: 1\n"),
        FileEntry("a/" * 60 + "long", b"pax"),
        FileEntry("../../up", b"x"),
        FileEntry("l", type="symlink", linkname="../../etc"),
        FileEntry("h", type="hardlink", linkname="var/lib/dpkg/status"),
        FileEntry("w", type="whiteout"),
        FileEntry("o", type="opaque"),
    ]
)
SEGMENT = st.lists(st.sampled_from(["a", ".", "..", "/", "\x00", "é", ".wh."]), max_size=12).map("".join)


def consume(blob: bytes) -> None:
    reader = LayerReader(io.BytesIO(blob), limits=LIMITS)
    try:
        for entry in reader:
            assert entry.path.startswith("/") and "/../" not in entry.path + "/"
            assert "//" not in entry.path and "/./" not in entry.path + "/"
            if entry.type == HARDLINK:
                assert entry.linkname.startswith("/") and "/../" not in entry.linkname + "/"
            if entry.type == FILE:
                data = reader.read(4096)
                assert data is None or len(data) == entry.size
    except LayerError:
        pass


mutation = st.lists(st.tuples(st.integers(0, len(SEED) - 1), st.integers(0, 255)), max_size=12)


@settings(max_examples=300, deadline=2000, suppress_health_check=[HealthCheck.too_slow])
@given(mutation, st.integers(0, len(SEED)))
def test_mutated_tar_only_raises_layer_error(changes: list[tuple[int, int]], cut: int) -> None:
    blob = bytearray(SEED)
    for pos, value in changes:
        blob[pos] = value
    consume(bytes(blob[:cut]) if cut else bytes(blob))


@settings(max_examples=100, deadline=2000)
@given(mutation, st.sampled_from(["gzip", "zstd"]), st.integers(1, 4000))
def test_mutated_compressed_layer_only_raises_layer_error(changes, kind: str, cut: int) -> None:
    packed = gzip.compress(SEED) if kind == "gzip" else zstandard.ZstdCompressor().compress(SEED)
    blob = bytearray(packed)
    for pos, value in changes:
        blob[pos % len(blob)] = value
    consume(bytes(blob[: max(1, len(blob) - cut % len(blob))]))


@settings(max_examples=200, deadline=2000)
@given(st.binary(max_size=3000))
def test_random_bytes_only_raise_layer_error(blob: bytes) -> None:
    consume(blob)


@settings(max_examples=300, deadline=1000)
@given(st.lists(SEGMENT, max_size=8).map("/".join))
def test_norm_path_never_leaves_root(name: str) -> None:
    path = norm_path(name)
    assert path.startswith("/") and ".." not in path.split("/") and "." not in path.split("/")
    assert path == "/" or not path.endswith("/")


@settings(max_examples=300, deadline=1000)
@given(st.dictionaries(st.sampled_from(["/a", "/b", "/a/b", "/c"]), SEGMENT, max_size=4), SEGMENT)
def test_resolve_path_terminates_inside_root(links: dict[str, str], path: str) -> None:
    out = resolve_path("/" + path, links.get)
    assert out is None or (out.startswith("/") and ".." not in out.split("/"))
