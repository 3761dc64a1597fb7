"""The writer, digest verification and reference parsing."""

from __future__ import annotations

import hashlib
import io
import json
import sys
import tarfile
from pathlib import Path

import pytest

from imagebuilder import FileEntry, OciLayoutWriter, make_layer, write_docker_archive, write_oci_layout
from keelwatch.errors import DigestMismatchError, ImageSourceError
from keelwatch.oci.reference import parse_reference
from keelwatch.oci.verify import VerifyingReader, read_verified

images = sys.modules["keelwatch_test_images"]  # loaded by conftest.py


def test_layers_are_deterministic_and_digests_are_real():
    a = make_layer(images.real_entries())
    b = make_layer(images.real_entries())
    assert a == b
    assert a.digest == "sha256:" + hashlib.sha256(a.blob).hexdigest()
    assert a.size == len(a.blob)
    import gzip

    assert a.diff_id == "sha256:" + hashlib.sha256(gzip.decompress(a.blob)).hexdigest()


@pytest.mark.parametrize("compression", ["gzip", "zstd", "none"])
def test_layer_members(compression):
    layer = make_layer(images.real_entries() + images.app_entries(), compression)
    members = images.tar_members(layer.blob, layer.media_type)
    assert "etc/.wh.debian_version" in members
    assert "var/cache/.wh..wh..opq" in members
    assert members["bin/sh"].issym() and members["bin/sh"].linkname == "/bin/dash"
    assert members["app/main.py"].mode == 0o755
    assert all(m.mtime == 0 for m in members.values())
    if Path("/etc/os-release").is_file():
        got = images.layer_file(layer.blob, layer.media_type, "etc/os-release")
        assert got == Path("/etc/os-release").read_bytes()


def test_ready_tar_is_used_as_is():
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        info = tarfile.TarInfo("hello")
        info.size = 2
        tar.addfile(info, io.BytesIO(b"hi"))
    layer = make_layer(buf.getvalue(), "none")
    assert layer.blob == buf.getvalue()
    assert layer.diff_id == layer.digest


def test_unknown_entry_type_and_compression():
    with pytest.raises(ValueError):
        make_layer([FileEntry("x", type="fifo")])
    with pytest.raises(ValueError):
        make_layer([FileEntry("x")], "bzip2")


def test_layout_files(tmp_path):
    layer = make_layer(images.real_entries())
    digest = write_oci_layout(tmp_path, [layer], tag="1.0", labels={"a": "b"}, env={"X": "1"})
    assert json.loads((tmp_path / "oci-layout").read_text()) == {"imageLayoutVersion": "1.0.0"}
    index = json.loads((tmp_path / "index.json").read_text())
    assert index["manifests"][0]["digest"] == digest
    assert index["manifests"][0]["annotations"]["org.opencontainers.image.ref.name"] == "1.0"
    for blob in (tmp_path / "blobs" / "sha256").iterdir():
        assert hashlib.sha256(blob.read_bytes()).hexdigest() == blob.name
    manifest = json.loads((tmp_path / "blobs" / "sha256" / digest.split(":")[1]).read_bytes())
    config = json.loads(
        (tmp_path / "blobs" / "sha256" / manifest["config"]["digest"].split(":")[1]).read_bytes()
    )
    assert config["config"]["Labels"] == {"a": "b"}
    assert config["config"]["Env"] == ["X=1"]
    assert config["rootfs"]["diff_ids"] == [layer.diff_id]


def test_retagging_replaces_the_index_entry(tmp_path):
    w = OciLayoutWriter(tmp_path)
    w.add_image([make_layer([FileEntry("a", b"1")])], tag="t")
    second = w.add_image([make_layer([FileEntry("a", b"2")])], tag="t")
    entries = json.loads((tmp_path / "index.json").read_text())["manifests"]
    assert [e["digest"] for e in entries] == [second]


def test_docker_archive_layout(tmp_path):
    layer = make_layer(images.real_entries())
    config_digest = write_docker_archive(tmp_path / "a.tar", [layer], repo_tag="app:1")
    with tarfile.open(tmp_path / "a.tar") as tar:
        manifest = json.load(tar.extractfile("manifest.json"))
        assert manifest[0]["RepoTags"] == ["app:1"]
        assert manifest[0]["Config"] == config_digest.split(":")[1] + ".json"
        data = tar.extractfile(manifest[0]["Layers"][0]).read()
    assert "sha256:" + hashlib.sha256(data).hexdigest() == layer.diff_id


# -- verify ------------------------------------------------------------------------------------


def test_verifying_reader_accepts_good_content():
    data = Path("/etc/os-release").read_bytes() if Path("/etc/os-release").is_file() else b"x" * 1000
    for algo in ("sha256", "sha512"):
        digest = f"{algo}:" + hashlib.new(algo, data).hexdigest()
        with VerifyingReader(io.BytesIO(data), digest, len(data)) as r:
            assert r.read() == data


def test_verifying_reader_rejects_bad_content_at_eof():
    data = b"hello world"
    digest = "sha256:" + hashlib.sha256(b"other").hexdigest()
    r = VerifyingReader(io.BytesIO(data), digest)
    assert r.read(5) == b"hello"
    with pytest.raises(DigestMismatchError):
        r.read()


def test_verifying_reader_size_checks():
    data = b"hello world"
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    with pytest.raises(DigestMismatchError, match="larger"):
        VerifyingReader(io.BytesIO(data), digest, 5).read()
    with pytest.raises(DigestMismatchError, match="truncated"):
        VerifyingReader(io.BytesIO(data[:4]), digest, len(data)).read()
    with pytest.raises(ImageSourceError, match="too large"):
        read_verified(io.BytesIO(data), digest, limit=4)


@pytest.mark.parametrize("digest", ["md5:" + "0" * 32, "sha256:abc", "sha256:" + "G" * 64, "nocolon", ""])
def test_bad_digests(digest):
    with pytest.raises(ImageSourceError):
        VerifyingReader(io.BytesIO(b""), digest)


# -- references --------------------------------------------------------------------------------

D = "sha256:" + "a" * 64


@pytest.mark.parametrize(
    ("raw", "registry", "repo", "tag", "digest"),
    [
        ("alpine", "docker.io", "library/alpine", "latest", None),
        ("alpine:3.19", "docker.io", "library/alpine", "3.19", None),
        ("bitnami/redis:7", "docker.io", "bitnami/redis", "7", None),
        ("index.docker.io/library/debian:12", "docker.io", "library/debian", "12", None),
        ("ghcr.io/org/team/app:v1.2", "ghcr.io", "org/team/app", "v1.2", None),
        ("localhost:5000/app", "localhost:5000", "app", "latest", None),
        ("127.0.0.1:5000/a/b:c@" + D, "127.0.0.1:5000", "a/b", "c", D),
        ("registry.example.com/app@" + D, "registry.example.com", "app", None, D),
        ("[::1]:5000/app:x", "[::1]:5000", "app", "x", None),
    ],
)
def test_registry_references(raw, registry, repo, tag, digest):
    ref = parse_reference(raw)
    assert (ref.transport, ref.registry, ref.repository, ref.tag, ref.digest) == (
        "registry",
        registry,
        repo,
        tag,
        digest,
    )


def test_docker_hub_api_host():
    assert parse_reference("alpine").api_host == "registry-1.docker.io"
    assert parse_reference("localhost:5000/x").is_loopback
    assert not parse_reference("ghcr.io/x").is_loopback


@pytest.mark.parametrize(
    "raw",
    ["", "Alpine", "foo:bar:baz", "a b", "app@sha1:abc", "app:", "-app", "ghcr.io/x:" + "t" * 200, "oci:"],
)
def test_malformed_references(raw):
    with pytest.raises(ImageSourceError):
        parse_reference(raw)


def test_oci_and_archive_references(tmp_path):
    layout = tmp_path / "with:colon"
    layout.mkdir()
    assert parse_reference(f"oci:{layout}").path == str(layout)
    ref = parse_reference(f"oci:{tmp_path}/img:1.0")
    assert (ref.path, ref.tag) == (f"{tmp_path}/img", "1.0")
    archive = tmp_path / "a.tar"
    archive.write_bytes(b"")
    ref = parse_reference(f"docker-archive:{archive}:app:1")
    assert (ref.transport, ref.path, ref.tag) == ("docker-archive", str(archive), "app:1")
    assert parse_reference(f"dir:{tmp_path}").transport == "dir"


def test_push_help_renders():
    from typer.testing import CliRunner

    from keelwatch.cli import _register_all, app

    _register_all()
    result = CliRunner().invoke(app, ["push", "--help"])
    assert result.exit_code == 0, result.output
    assert "--insecure" in result.output and "--platform" in result.output
