"""The scan engine end to end on real OCI layouts: merge, whiteouts, attribution, links, cache."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from imagebuilder import FileEntry
from keelwatch.errors import ImageSourceError, LayerError
from keelwatch.scan import LayerCache, scan_image, scan_reference
from keelwatch.scan.globs import PathMatcher

STATUS = "var/lib/dpkg/status"
OS_RELEASE = b'ID=debian\nVERSION_ID="12"\nNAME="Debian GNU/Linux"\n'


def test_real_dpkg_database_is_catalogued(build_image, catalogers, real_status, kit) -> None:
    image = build_image([[FileEntry(STATUS, real_status), FileEntry("usr/lib/os-release", OS_RELEASE)]])
    result = scan_image(image, catalogers)
    debs = [p for p in result.packages if p.type == "deb"]
    installed = real_status.count(b"Status: install ok installed")
    assert len(debs) == installed > 50
    assert all(p.layer_index == 0 and p.layer_diff_id == image.layers[0].diff_id for p in debs)
    assert all(p.locations == ["/var/lib/dpkg/status"] for p in debs)
    assert result.image.os.id == "debian" and result.image.os.version_id == "12"
    assert debs[0].purl.startswith("pkg:deb/debian/")  # finalize saw the OS from another file
    assert result.image.digest == image.manifest_digest and result.image.platform == "linux/amd64"


def test_upgrade_reattributes_and_rewrite_keeps_layer(build_image, catalogers, kit) -> None:
    image = build_image(
        [
            [FileEntry(STATUS, kit.status_file(("a", "1.0"), ("b", "1.0"), ("c", "1.0")))],
            [FileEntry("etc/unrelated", b"x")],
            [FileEntry(STATUS, kit.status_file(("a", "1.0"), ("b", "2.0"), ("c", "1.0")))],  # b upgraded
            [FileEntry(STATUS, kit.status_file(("a", "1.0"), ("b", "2.0"), ("c", "1.0"), ("d", "1")))],
        ]
    )
    pkgs = kit.by_name(scan_image(image, catalogers).packages)
    assert {n: (p.version, p.layer_index) for n, p in pkgs.items()} == {
        "a": ("1.0", 0),
        "b": ("2.0", 2),
        "c": ("1.0", 0),
        "d": ("1", 3),
    }
    assert pkgs["b"].layer_diff_id == image.layers[2].diff_id


def test_removed_then_readded_is_attributed_to_the_readding_layer(build_image, catalogers, kit) -> None:
    status = kit.status_file(("a", "1.0"))
    image = build_image(
        [[FileEntry(STATUS, status)], [FileEntry(STATUS, type="whiteout")], [FileEntry(STATUS, status)]]
    )
    assert [(p.name, p.layer_index) for p in scan_image(image, catalogers).packages] == [("a", 2)]


@pytest.mark.parametrize(
    "upper",
    [
        [FileEntry(STATUS, type="whiteout")],  # file whiteout
        [FileEntry("var/lib/dpkg", type="whiteout")],  # directory whiteout removes everything below
        [FileEntry("var/lib", type="opaque")],  # opaque dir hides lower children
        [FileEntry(STATUS, type="symlink", linkname="/dev/null")],  # replaced by a non-file
    ],
)
def test_package_removed_in_upper_layer_is_not_reported(build_image, catalogers, kit, upper) -> None:
    image = build_image([[FileEntry(STATUS, kit.status_file(("a", "1.0")))], upper])
    assert scan_image(image, catalogers).packages == []


def test_opaque_keeps_same_layer_children_and_whiteout_spares_siblings(build_image, catalogers, kit) -> None:
    meta = b"Metadata-Version: 2.1\nName: %s\nVersion: 1\n"
    site = "usr/lib/python3/site-packages"
    image = build_image(
        [
            [
                FileEntry(f"{site}/old-1.dist-info/METADATA", meta % b"old"),
                FileEntry(f"{site}/keep-1.dist-info/METADATA", meta % b"keep"),
                FileEntry(f"opt/venv/{site}/gone-1.dist-info/METADATA", meta % b"gone"),
            ],
            [
                FileEntry(f"{site}/old-1.dist-info", type="whiteout"),
                FileEntry("opt/venv", type="opaque"),
                FileEntry(f"opt/venv/{site}/new-1.dist-info/METADATA", meta % b"new"),
            ],
        ]
    )
    pkgs = kit.by_name(scan_image(image, catalogers).packages)
    assert {n: p.layer_index for n, p in pkgs.items()} == {"keep": 0, "new": 1}


def test_cataloger_exception_is_a_warning_and_the_rest_is_catalogued(build_image, kit) -> None:
    image = build_image(
        [
            [
                FileEntry(STATUS, b"boom\n" + kit.status_file(("a", "1"))),
                FileEntry("var/lib/dpkg/status.d/good", kit.status_file(("b", "2"))),
                FileEntry("var/lib/dpkg/status.d/bad", b"\xff\xfe not utf-8 boom"),
            ]
        ]
    )
    result = scan_image(image, [kit.ExplodingCataloger()])
    assert [p.name for p in result.packages] == ["b"]
    assert any("/var/lib/dpkg/status:" in w and "kaboom" in w for w in result.warnings)
    assert any("/var/lib/dpkg/status.d/bad" in w for w in result.warnings)


def test_garbage_input_to_catalogers_never_crashes(build_image, catalogers) -> None:
    image = build_image(
        [[FileEntry(STATUS, b"\xff\x00" * 1000), FileEntry("x/y.dist-info/METADATA", b"\x80garbage")]]
    )
    result = scan_image(image, catalogers)
    assert result.packages == []
    assert len(result.warnings) == 2


def test_hardlinks_are_offered_and_escapes_stay_inside(build_image, catalogers, kit) -> None:
    image = build_image(
        [
            [
                FileEntry("var/lib/dpkg/status.d/a", kit.status_file(("a", "1"))),
                FileEntry(STATUS, type="hardlink", linkname="var/lib/dpkg/status.d/a"),
                FileEntry("var/lib/dpkg/status.d/c", type="hardlink", linkname=STATUS),  # a chain
                FileEntry("var/lib/dpkg/status.d/b", type="hardlink", linkname="../../../../etc/shadow"),
            ]
        ]
    )
    result = scan_image(image, catalogers)
    assert sorted((p.name, p.locations[0]) for p in result.packages) == [
        ("a", "/var/lib/dpkg/status"),
        ("a", "/var/lib/dpkg/status.d/a"),
        ("a", "/var/lib/dpkg/status.d/c"),
    ]
    assert any("/etc/shadow" in w and "not readable" in w for w in result.warnings)


def test_os_release_symlink_resolves_inside_the_image_only(build_image, catalogers) -> None:
    fedora = b'ID=fedora\nVERSION_ID="40"\n'
    image = build_image(
        [
            [
                FileEntry("usr/lib/os-release", OS_RELEASE),
                FileEntry("host/etc/os-release", fedora),
                FileEntry(
                    "etc/os-release", type="symlink", linkname="../../../../../../../usr/lib/os-release"
                ),
            ]
        ]
    )
    assert scan_image(image, catalogers).image.os.id == "debian"
    loop = build_image(
        [
            [
                FileEntry("usr/lib/os-release", OS_RELEASE),
                FileEntry("etc/os-release", type="symlink", linkname="os-release2"),
                FileEntry("etc/os-release2", type="symlink", linkname="os-release"),
            ]
        ]
    )
    assert scan_image(loop, catalogers).image.os.id == "debian"  # loop: falls back


def test_bomb_layer_fails_the_scan_with_layer_error(build_image, catalogers, tmp_path) -> None:
    image = build_image([[FileEntry("a", bytes(64 << 20))]], compression="zstd")
    from keelwatch.oci.layers import LayerLimits

    with pytest.raises(LayerError, match="decompression bomb"):
        scan_image(image, catalogers, limits=LayerLimits(ratio_threshold=1 << 20, max_ratio=100))


def _blob_path(layout: Path, digest: str) -> Path:
    algo, hexpart = digest.split(":")
    return layout / "blobs" / algo / hexpart


def test_cache_hit_never_opens_base_layers(tmp_path, catalogers, kit, real_status) -> None:
    from imagebuilder import make_layer, write_oci_layout
    from keelwatch.oci.resolve import open_image

    base = [
        make_layer([FileEntry(STATUS, real_status)]),
        make_layer([FileEntry("usr/lib/os-release", OS_RELEASE)], "zstd"),
    ]
    app = make_layer([FileEntry("app/x.dist-info/METADATA", b"Name: x\nVersion: 1\n")])
    layout = tmp_path / "layout"
    write_oci_layout(layout, [*base, app], tag="v1")
    cache = LayerCache()
    first = scan_image(open_image(f"oci:{layout}:v1"), catalogers, cache=cache)
    assert cache.misses == 3 and len(list(cache.root.glob("*.json"))) == 3

    image = open_image(f"oci:{layout}:v1")
    opened: list[int] = []
    real_open = image.open_layer
    image.open_layer = lambda i: opened.append(i) or real_open(i)  # type: ignore[method-assign]
    cache = LayerCache()
    second = scan_image(image, catalogers, cache=cache)
    assert cache.hits == 3 and opened == []  # the cache answers: no blob is read
    assert second.to_dict() == first.to_dict()

    # The blobs must still be there: a cache hit is no licence to scan an image that lost one.
    _blob_path(layout, base[0].digest).unlink()
    with pytest.raises(ImageSourceError, match="is missing"):
        scan_image(open_image(f"oci:{layout}:v1"), catalogers, cache=LayerCache())
    write_oci_layout(layout, [*base, app], tag="v1")  # the blob is back

    # A new app layer on the cached base: only the new layer is read.
    app2 = make_layer([FileEntry("app/y.dist-info/METADATA", b"Name: y\nVersion: 2\n")])
    write_oci_layout(layout, [*base, app2], tag="v2")
    image = open_image(f"oci:{layout}:v2")
    third = scan_image(image, catalogers, cache=LayerCache())
    assert kit.by_name(third.packages)["y"].layer_index == 2
    assert len(third.packages) == len(first.packages)


def test_corrupt_cache_file_is_ignored_and_rebuilt(build_image, catalogers, kit) -> None:
    image = build_image([[FileEntry(STATUS, kit.status_file(("a", "1")))]])
    cache = LayerCache()
    first = scan_image(image, catalogers, cache=cache)
    (path,) = cache.root.glob("*.json")
    for bad in (b"{not json", json.dumps({"diff_id": "sha256:" + "1" * 64}).encode(), b'{"catalogue": []}'):
        path.write_bytes(bad)
        cache = LayerCache()
        again = scan_image(image, catalogers, cache=cache)
        assert [p.name for p in again.packages] == [p.name for p in first.packages]
        assert any("corrupt" in w for w in again.warnings)
        assert json.loads(path.read_bytes())["entry"]["diff_id"] == image.layers[0].diff_id  # rewritten


def test_tampered_cache_values_are_rejected(build_image, catalogers, kit) -> None:
    image = build_image([[FileEntry(STATUS, kit.status_file(("a", "1")))]])
    cache = LayerCache()
    scan_image(image, catalogers, cache=cache)
    (path,) = cache.root.glob("*.json")
    data = json.loads(path.read_bytes())
    data["entry"]["catalogue"]["files"]["/var/lib/dpkg/status"]["dpkgtest"]["packages"][0]["name"] = ["x"]
    path.write_text(json.dumps(data))
    result = scan_image(image, catalogers, cache=LayerCache())
    assert [p.name for p in result.packages] == ["a"]


def test_progress_reports_every_layer(build_image, catalogers, kit) -> None:
    image = build_image([[FileEntry(STATUS, kit.status_file(("a", "1")))], [FileEntry("b", b"2")]])
    calls: list[tuple[int, int, int]] = []
    scan_image(image, catalogers, progress=lambda i, n, done: calls.append((i, n, done)))
    assert {(i, n) for i, n, _ in calls} == {(0, 2), (1, 2)}
    assert calls[-1] == (1, 2, image.layers[1].size)


def test_scan_reference_dir_source(tmp_path, catalogers, real_status) -> None:
    root = tmp_path / "root"
    (root / "var/lib/dpkg").mkdir(parents=True)
    (root / "var/lib/dpkg/status").write_bytes(real_status)
    (root / "usr/lib").mkdir(parents=True)
    (root / "usr/lib/os-release").write_bytes(OS_RELEASE)
    (root / "etc").mkdir()
    (root / "etc/os-release").symlink_to("../usr/lib/os-release")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "x.dist-info").mkdir()
    (outside / "x.dist-info/METADATA").write_text("Name: leaked\nVersion: 1\n")
    (root / "escape").symlink_to(outside)  # never followed
    (root / "loop").symlink_to("loop")
    result = scan_reference(f"dir:{root}", catalogers=catalogers)
    names = {p.name for p in result.packages}
    assert "leaked" not in names
    assert len(names) > 50 and result.image.os.id == "debian"
    assert all(p.layer_index == 0 for p in result.packages)


def test_scan_reference_oci_layout_uses_cache(tmp_path, catalogers, kit) -> None:
    from imagebuilder import make_layer, write_oci_layout

    layout = tmp_path / "l"
    write_oci_layout(layout, [make_layer([FileEntry(STATUS, kit.status_file(("a", "1")))])], tag="x")
    first = scan_reference(f"oci:{layout}:x", catalogers=catalogers)
    second = scan_reference(f"oci:{layout}:x", catalogers=catalogers)
    assert first.to_dict() == second.to_dict() and first.packages


def test_glob_matcher() -> None:
    class C:
        def __init__(self, name, patterns):
            self.name, self.patterns = name, patterns

    a = C("a", ("/var/lib/dpkg/status", "/var/lib/dpkg/status.d/*"))
    b = C("b", ("**/*.dist-info/METADATA", "**/node_modules/*/package.json"))
    c = C("c", ("/usr/**/lib?/x",))
    m = PathMatcher([a, b, c])
    assert m("/var/lib/dpkg/status") == (a,)
    assert m("/var/lib/dpkg/status.d/foo") == (a,)
    assert m("/var/lib/dpkg/status.d/foo/bar") == ()
    assert m("/x.dist-info/METADATA") == (b,)
    assert m("/usr/lib/python3/site-packages/y.dist-info/METADATA") == (b,)
    assert m("/usr/lib/python3/site-packages/y.dist-info/sub/METADATA") == ()
    assert m("/a/node_modules/left-pad/package.json") == (b,)
    assert m("/a/node_modules/@s/left-pad/package.json") == ()
    assert m("/usr/lib1/x") == (c,) and m("/usr/a/b/libz/x") == (c,) and m("/usr/lib12/x") == ()
    assert m("/etc/passwd") == ()


def test_dir_source_never_follows_links_or_blocks_on_fifos(tmp_path, catalogers, kit) -> None:
    import os

    root = tmp_path / "root"
    (root / "var/lib/dpkg/status.d").mkdir(parents=True)
    secret = tmp_path / "secret-status"
    secret.write_bytes(kit.status_file(("leaked", "1")))
    (root / "var/lib/dpkg/status").symlink_to(secret)  # absolute link out of the root
    os.mkfifo(root / "var/lib/dpkg/status.d/fifo")  # opening it would block
    (root / "var/lib/dpkg/status.d/ok").write_bytes(kit.status_file(("ok", "1")))
    result = scan_reference(f"dir:{root}", catalogers=catalogers)
    assert [p.name for p in result.packages] == ["ok"]


def test_dir_source_invalid_utf8_name_is_a_warning(tmp_path, catalogers, kit) -> None:
    import os

    root = tmp_path / "root"
    (root / "var/lib/dpkg/status.d").mkdir(parents=True)
    os.mkdir(os.fsencode(root) + b"/caf\xe9")
    (root / "var/lib/dpkg/status.d/ok").write_bytes(kit.status_file(("ok", "1")))
    result = scan_reference(f"dir:{root}", catalogers=catalogers)
    assert [p.name for p in result.packages] == ["ok"]
    assert any("/caf\ufffd" in w and "UTF-8" in w for w in result.warnings)


def test_default_catalogers_on_a_real_debian_layout(build_image, real_status) -> None:
    os_release = Path("/usr/lib/os-release").read_bytes()
    image = build_image(
        [
            [
                FileEntry("usr/lib/os-release", os_release),
                FileEntry("etc/os-release", type="symlink", linkname="../usr/lib/os-release"),
            ],
            [FileEntry(STATUS, real_status)],
        ]
    )
    result = scan_image(image, cache=LayerCache())
    debs = [p for p in result.packages if p.type == "deb"]
    assert len(debs) == real_status.count(b"Status: install ok installed")
    assert result.image.os.id == "debian"
    assert all(p.layer_index == 1 and "distro=debian-" in p.purl for p in debs)


def test_blob_digest_is_verified_even_when_the_tar_is_fine(tmp_path, catalogers, kit) -> None:
    import gzip

    from imagebuilder import make_layer, make_tar, write_oci_layout
    from keelwatch.errors import DigestMismatchError
    from keelwatch.oci.resolve import open_image

    entries = [FileEntry(STATUS, kit.status_file(("a", "1")))]
    layout = tmp_path / "l"
    layer = make_layer(entries)
    write_oci_layout(layout, [layer], tag="x")
    # Same tar (so the diff_id still matches), different gzip bytes: only the blob digest can tell.
    _blob_path(layout, layer.digest).write_bytes(gzip.compress(make_tar(entries), compresslevel=1, mtime=7))
    with pytest.raises(DigestMismatchError, match="does not match"):
        scan_image(open_image(f"oci:{layout}:x"), catalogers, cache=LayerCache())
    assert not list(LayerCache().root.glob("*.json"))  # nothing cached from a bad blob
