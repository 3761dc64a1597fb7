"""Hostile image metadata and blobs through the real CLI: one error line, exit 2, nothing touched.

Each image is built from real content (this machine's dpkg status) with examples/imagebuilder.py
and then made hostile in one place: a document of the wrong type, too deep, too big, a blob
that is a FIFO or a link to a device, too many layers or members, a compression bomb.
"""

from __future__ import annotations

import gzip
import io
import json
import os
import sys
import tarfile
import zlib
from pathlib import Path
from typing import Any

import pytest

from imagebuilder import make_layer, write_docker_archive, write_oci_layout

images = sys.modules["keelwatch_test_images"]
hostile = sys.modules["keelwatch_test_hostile"]


def _layout(tmp_path: Path, **kw: Any) -> Path:
    path = tmp_path / "img"
    write_oci_layout(path, [make_layer(images.real_entries())], tag="t", **kw)
    return path


def _blob(layout: Path, digest: str) -> Path:
    return layout / "blobs" / "sha256" / digest.split(":", 1)[1]


def _manifest(layout: Path) -> tuple[Path, dict[str, Any]]:
    index = json.loads((layout / "index.json").read_text())
    path = _blob(layout, index["manifests"][0]["digest"])
    return path, json.loads(path.read_text())


def _rewrite(layout: Path, blob: Path, data: bytes) -> None:
    """Replace a config or manifest blob by `data` under its new digest, relinking its parents."""
    import hashlib

    new = "sha256:" + hashlib.sha256(data).hexdigest()
    old = "sha256:" + blob.name
    _blob(layout, new).write_bytes(data)
    for parent in [*(layout / "blobs" / "sha256").iterdir(), layout / "index.json"]:
        text = parent.read_bytes()
        if old.encode() in text and parent != blob:
            doc = json.loads(text)
            _relink(doc, old, new, len(data))
            out = json.dumps(doc).encode()
            if parent.name == "index.json":
                parent.write_bytes(out)
            else:
                _rewrite(layout, parent, out)


def _relink(doc: Any, old: str, new: str, size: int) -> None:
    if isinstance(doc, dict):
        if doc.get("digest") == old:
            doc["digest"], doc["size"] = new, size
        for v in doc.values():
            _relink(v, old, new, size)
    elif isinstance(doc, list):
        for v in doc:
            _relink(v, old, new, size)


def _config_blob(layout: Path) -> Path:
    return _blob(layout, _manifest(layout)[1]["config"]["digest"])


@pytest.mark.parametrize(
    ("field", "value", "needle"),
    [
        ("history", 7, "history must be a list, not an integer"),
        ("config", ["Labels"], "config must be an object, not a list"),
        ("config", {"Labels": "a=b"}, "config.Labels must be an object, not a string"),
        ("created", {"seconds": 1}, "created must be a string, not an object"),
        ("rootfs", {"diff_ids": "sha256:x"}, "rootfs.diff_ids must be a list"),
        ("history", [{"created_by": 5}], "history[0].created_by must be a string"),
    ],
)
def test_config_of_the_wrong_type(tmp_path, keelwatch_home, field, value, needle) -> None:
    layout = _layout(tmp_path)
    config = json.loads(_config_blob(layout).read_text())
    config[field] = value
    _rewrite(layout, _config_blob(layout), json.dumps(config).encode())
    hostile.scan_fails_cleanly(f"oci:{layout}:t", needle, home=keelwatch_home, watch=tmp_path)


@pytest.mark.parametrize(
    ("change", "needle"),
    [
        (lambda m: m.update(config=[m["config"]]), "config must be an object, not a list"),
        (lambda m: m.update(layers={"0": m["layers"][0]}), "layers must be a list"),
        (lambda m: m.update(mediaType=["x"]), "mediaType must be a string"),
        (lambda m: m["layers"][0].update(size="12"), "layers[0].size must be a non-negative integer"),
        (lambda m: m.update(annotations={"a": {"b": 1}}), "annotations.a must be a string"),
        (lambda m: m.update(layers=m["layers"] * 10_000), "layers has 10000 entries (limit"),
    ],
)
def test_manifest_of_the_wrong_type_or_size(tmp_path, keelwatch_home, change, needle) -> None:
    layout = _layout(tmp_path)
    path, manifest = _manifest(layout)
    change(manifest)
    _rewrite(layout, path, json.dumps(manifest).encode())
    hostile.scan_fails_cleanly(f"oci:{layout}:t", needle, home=keelwatch_home, watch=tmp_path)


def test_deeply_nested_and_huge_numbers(tmp_path, keelwatch_home) -> None:
    layout = _layout(tmp_path)
    config = _config_blob(layout)
    deep = config.read_bytes().rstrip()[:-1] + b', "x": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    _rewrite(layout, config, deep)
    hostile.scan_fails_cleanly(f"oci:{layout}:t", "nested deeper than", home=keelwatch_home, watch=tmp_path)

    layout = _layout(tmp_path / "n")
    path, manifest = _manifest(layout)
    text = json.dumps(manifest).replace(f'"size": {manifest["layers"][0]["size"]}', '"size": ' + "9" * 5000)
    _rewrite(layout, path, text.encode())
    hostile.scan_fails_cleanly(
        f"oci:{layout}:t", "integer with 5000 digits", home=keelwatch_home, watch=tmp_path
    )


@pytest.mark.parametrize(
    ("index", "needle"),
    [
        ({"manifests": {"a": 1}}, "manifests must be a list"),
        ({"manifests": [{"digest": 5}]}, "manifests[0].digest must be a string"),
        ({"manifests": [], "mediaType": {"x": 1}}, "mediaType must be a string"),
        ([1, 2], "not a JSON object"),
    ],
)
def test_index_of_the_wrong_type(tmp_path, keelwatch_home, index, needle) -> None:
    layout = _layout(tmp_path)
    (layout / "index.json").write_text(json.dumps(index))
    hostile.scan_fails_cleanly(f"oci:{layout}", needle, home=keelwatch_home, watch=tmp_path)


def test_huge_index_is_refused_before_reading(tmp_path, keelwatch_home) -> None:
    layout = _layout(tmp_path)
    with (layout / "index.json").open("r+b") as fh:  # sparse: 600 MB that cost no disk
        fh.truncate(600 << 20)
    hostile.scan_fails_cleanly(
        f"oci:{layout}", "is too large (629145600 bytes", home=keelwatch_home, watch=tmp_path
    )


@pytest.mark.parametrize("which", ["layer", "config"])
@pytest.mark.parametrize("kind", ["fifo", "devzero", "symlink"])
def test_blob_that_is_not_a_regular_file(tmp_path, keelwatch_home, which, kind) -> None:
    layout = _layout(tmp_path)
    _, manifest = _manifest(layout)
    digest = manifest["layers"][0]["digest"] if which == "layer" else manifest["config"]["digest"]
    blob = _blob(layout, digest)
    real = blob.read_bytes()
    blob.unlink()
    if kind == "fifo":
        os.mkfifo(blob)
        needle = "is a FIFO, not a regular file"
    elif kind == "devzero":
        blob.symlink_to("/dev/zero")
        needle = "is a symlink, not a regular file"
    else:  # even a link to the right content elsewhere: the layout must hold its blobs
        (tmp_path / "elsewhere").write_bytes(real)
        blob.symlink_to(tmp_path / "elsewhere")
        needle = "is a symlink, not a regular file"
    hostile.scan_fails_cleanly(f"oci:{layout}:t", needle, home=keelwatch_home, watch=tmp_path)


def test_index_json_that_is_a_fifo(tmp_path, keelwatch_home) -> None:
    layout = _layout(tmp_path)
    (layout / "index.json").unlink()
    os.mkfifo(layout / "index.json")
    hostile.scan_fails_cleanly(f"oci:{layout}", "is a FIFO", home=keelwatch_home, watch=tmp_path)


# -- docker-archive ------------------------------------------------------------------------------


def _tar(members: list[tuple[str, bytes]]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def _archive_members(tmp_path: Path) -> dict[str, bytes]:
    path = tmp_path / "src.tar"
    write_docker_archive(path, [make_layer(images.real_entries())], repo_tag="a:b")
    with tarfile.open(path) as tar:
        return {m.name: tar.extractfile(m).read() for m in tar.getmembers() if m.isfile()}  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("change", "needle"),
    [
        (lambda m: m, "must be a list, not an object"),
        (lambda m: [{**m[0], "Layers": "x/layer.tar"}], "[0].Layers must be a list, not a string"),
        (lambda m: [{**m[0], "Config": 5}], "[0].Config must be a string, not an integer"),
        (lambda m: [{**m[0], "RepoTags": {"a": "b"}}], "[0].RepoTags must be a list"),
        (lambda m: [{**m[0], "Layers": m[0]["Layers"] * 5000}], "Layers has 5000 entries (limit"),
    ],
)
def test_docker_archive_manifest_of_the_wrong_type(tmp_path, keelwatch_home, change, needle) -> None:
    members = _archive_members(tmp_path)
    manifest = json.loads(members["manifest.json"])
    members["manifest.json"] = json.dumps(
        change(manifest) if "object" not in needle else manifest[0]
    ).encode()
    (tmp_path / "a.tar").write_bytes(_tar(list(members.items())))
    hostile.scan_fails_cleanly(
        f"docker-archive:{tmp_path / 'a.tar'}", needle, home=keelwatch_home, watch=tmp_path
    )


def test_docker_archive_with_too_many_members(tmp_path, keelwatch_home) -> None:
    members = list(_archive_members(tmp_path).items())
    members += [(f"junk/{i}", b"") for i in range(25_000)]
    (tmp_path / "a.tar").write_bytes(_tar(members))
    hostile.scan_fails_cleanly(
        f"docker-archive:{tmp_path / 'a.tar'}", "entries (limit)", home=keelwatch_home, watch=tmp_path
    )


def test_docker_archive_wrapped_in_a_gzip_bomb(tmp_path, keelwatch_home) -> None:
    members = list(_archive_members(tmp_path).items())
    head = _tar(members[:1])[:-1024]  # a real first member, then an endless zero-filled member
    bomb_header = tarfile.TarInfo("bomb")
    bomb_header.size = 8 << 30
    comp = zlib.compressobj(9, zlib.DEFLATED, 31)
    parts = [comp.compress(head + bomb_header.tobuf())]
    zeros = bytes(1 << 20)
    parts += [comp.compress(zeros) for _ in range(400)]
    parts.append(comp.flush())
    (tmp_path / "bomb.tar.gz").write_bytes(b"".join(parts))
    assert len(gzip.decompress((tmp_path / "bomb.tar.gz").read_bytes())) > 400 << 20
    hostile.scan_fails_cleanly(
        f"docker-archive:{tmp_path / 'bomb.tar.gz'}",
        "decompression bomb",
        home=keelwatch_home,
        watch=tmp_path,
    )


def test_docker_archive_that_is_a_fifo(tmp_path, keelwatch_home) -> None:
    os.mkfifo(tmp_path / "a.tar")
    hostile.scan_fails_cleanly(
        f"docker-archive:{tmp_path / 'a.tar'}", "is a FIFO", home=keelwatch_home, watch=tmp_path
    )


def test_gzipped_docker_archive_still_scans(tmp_path, keelwatch_home) -> None:
    members = _archive_members(tmp_path)
    (tmp_path / "a.tar.gz").write_bytes(gzip.compress(_tar(list(members.items()))))
    proc = hostile.keelwatch(
        "scan", f"docker-archive:{tmp_path / 'a.tar.gz'}", "--no-vulns", "--no-store", "-q", "-f", "json",
        home=keelwatch_home,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert len([p for p in json.loads(proc.stdout)["packages"] if p["type"] == "deb"]) > 10


def test_oversized_config_blob_is_refused_without_reading_it(tmp_path, keelwatch_home) -> None:
    layout = _layout(tmp_path)
    path, manifest = _manifest(layout)
    config = _config_blob(layout)
    with config.open("r+b") as fh:  # sparse: a 2 GB config that costs no disk
        fh.truncate(2 << 30)
    manifest["config"]["size"] = 2 << 30
    _rewrite(layout, path, json.dumps(manifest).encode())
    hostile.scan_fails_cleanly(f"oci:{layout}:t", "is too large", home=keelwatch_home, watch=tmp_path)


@pytest.mark.parametrize("kind", ["symlink", "hardlink", "traversal"])
def test_docker_archive_layer_member_tricks(tmp_path, keelwatch_home, kind) -> None:
    members = _archive_members(tmp_path)
    manifest = json.loads(members["manifest.json"])
    layer_name = manifest[0]["Layers"][0]
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name, data in members.items():
            if name == layer_name:
                info = tarfile.TarInfo("real.tar" if kind != "traversal" else "../../" + name)
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
                if kind != "traversal":
                    link = tarfile.TarInfo(name)
                    link.type = tarfile.SYMTYPE if kind == "symlink" else tarfile.LNKTYPE
                    link.linkname = "real.tar"
                    tar.addfile(link)
                continue
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    (tmp_path / "a.tar").write_bytes(buf.getvalue())
    needle = "unsafe member name" if kind == "traversal" else "is not a regular file"
    hostile.scan_fails_cleanly(
        f"docker-archive:{tmp_path / 'a.tar'}", needle, home=keelwatch_home, watch=tmp_path
    )


@pytest.mark.parametrize(
    "platform", ["linux/\x1b[2J", "linux/amd64/v8/x", "linux/a b", "linux/" + "a" * 100, "/amd64"]
)
def test_platform_off_the_grammar_is_one_line(tmp_path, keelwatch_home, platform) -> None:
    """A platform reaches the store and every table: only os/arch[/variant] names, never escapes."""
    layout = _layout(tmp_path)
    args = ["scan", f"oci:{layout}", "--platform", platform, "-q", "--no-store", "--no-vulns"]
    line = hostile.assert_one_line_error(hostile.keelwatch(*args, home=keelwatch_home), "invalid platform")
    assert "\x1b" not in line


def test_oci_archive_that_is_not_a_file_is_named_as_such(tmp_path, keelwatch_home) -> None:
    fifo = tmp_path / "image.tar"
    os.mkfifo(fifo)
    for path, kind in ((fifo, "a FIFO"), (Path("/dev/zero"), "a device")):
        hostile.scan_fails_cleanly(
            f"oci-archive:{path}", f"OCI archive {path} is {kind}", home=keelwatch_home, watch=tmp_path
        )
