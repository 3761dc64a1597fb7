"""The one reference parser: Docker Hub spellings, transports, bare paths and errors that say what to do.

The OCI-archive source is checked against its own layout: the same example image, built from
this machine's real dpkg database, must scan to the same packages from the directory and the tar.
"""

from __future__ import annotations

import gzip
import importlib.util
import io
import os
import sys
import tarfile
from pathlib import Path

import pytest

from imagebuilder import make_layer, write_docker_archive, write_oci_archive, write_oci_layout
from keelwatch.errors import ImageSourceError
from keelwatch.governance.catalogue import repository_of as catalogue_key
from keelwatch.oci.reference import Transport, parse_reference
from keelwatch.oci.resolve import open_image
from keelwatch.scan import scan_reference

images = sys.modules["keelwatch_test_images"]  # loaded by conftest.py
REPO = Path(__file__).resolve().parents[2]
D = "sha256:" + "b" * 64

HUB_SPELLINGS = [
    "debian:12",
    "docker.io/debian:12",
    "docker.io/library/debian:12",
    "index.docker.io/library/debian:12",
    "index.docker.io/debian:12",
    "registry-1.docker.io/library/debian:12",
    "registry.hub.docker.com/library/debian:12",
    "Docker.IO/library/debian:12",
    "docker://debian:12",
    "docker://index.docker.io/library/debian:12",
    "registry:debian:12",
]


@pytest.mark.parametrize("raw", HUB_SPELLINGS)
def test_every_docker_hub_spelling_is_one_canonical_name(raw: str) -> None:
    ref = parse_reference(raw)
    assert ref.transport is Transport.REGISTRY
    assert str(ref) == "docker.io/library/debian:12"
    assert catalogue_key(ref) == ("docker.io/library/debian", "12")
    assert ref.api_host == "registry-1.docker.io"  # pulls still go to the API host


def test_registry_parts_and_pins() -> None:
    # the assertions of the removed policy.subject.split_ref, on the one parser
    ref = parse_reference(f"reg:5000/base/debian:12@{D}")
    assert (ref.registry, ref.repository, ref.tag, ref.digest) == ("reg:5000", "base/debian", "12", D)
    assert catalogue_key(ref) == ("reg:5000/base/debian", "12")
    ref = parse_reference("debian:12")
    assert (ref.registry, ref.repository, ref.tag, ref.digest) == ("docker.io", "library/debian", "12", None)
    ref = parse_reference("localhost/x/y")
    assert (ref.registry, ref.repository, ref.tag, ref.digest) == ("localhost", "x/y", "latest", None)
    assert catalogue_key(parse_reference("debian")) == ("docker.io/library/debian", "latest")
    assert catalogue_key(parse_reference(f"debian@{D}")) == ("docker.io/library/debian", "")
    pinned = parse_reference("docker://debian:12").pinned(D)
    assert (str(pinned), pinned.raw) == (f"docker.io/library/debian:12@{D}", f"docker://debian:12@{D}")
    assert parse_reference(pinned.raw) == pinned


def test_every_transport_is_a_property_of_the_reference(tmp_path: Path) -> None:
    layout, archive = tmp_path / "layout", tmp_path / "a.tar"
    layout.mkdir()
    archive.write_bytes(b"")
    cases = {
        f"oci:{layout}": (Transport.OCI_LAYOUT, str(layout), None),
        f"oci:{layout}:1.0": (Transport.OCI_LAYOUT, str(layout), "1.0"),
        f"oci-dir:{layout}:1.0": (Transport.OCI_LAYOUT, str(layout), "1.0"),
        f"oci-archive:{archive}": (Transport.OCI_ARCHIVE, str(archive), None),
        f"oci-archive:{archive}:1.0": (Transport.OCI_ARCHIVE, str(archive), "1.0"),
        f"docker-archive:{archive}:app:1": (Transport.DOCKER_ARCHIVE, str(archive), "app:1"),
        f"dir:{layout}": (Transport.DIR, str(layout), None),
    }
    for raw, expected in cases.items():
        ref = parse_reference(raw)
        assert (ref.transport, ref.path, ref.tag) == expected, raw
        assert ref.transport.is_local
        assert parse_reference(str(ref)).transport is ref.transport  # the canonical form parses back
    assert str(parse_reference(f"oci-dir:{layout}:1.0")) == f"oci:{layout}:1.0"  # Syft's name, one key
    assert not parse_reference("ghcr.io/a/b:1").transport.is_local


def test_daemon_references_say_what_to_do_instead() -> None:
    for raw in ("docker:debian:12", "docker-daemon:debian:12", "podman:debian:12"):
        with pytest.raises(ImageSourceError) as info:
            parse_reference(raw)
        message = str(info.value)
        assert "does not read images from a container daemon" in message
        assert "docker save debian:12" in message and "docker-archive:image.tar" in message


def _layout(path: Path) -> str:
    return write_oci_layout(path, [make_layer(images.real_entries())], tag="12")


def test_bare_paths_are_detected_by_content(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    digest = _layout(tmp_path / "layout")
    write_oci_archive(tmp_path / "layout", tmp_path / "oci.tar")
    write_docker_archive(tmp_path / "docker.tar", [make_layer(images.real_entries())], repo_tag="app:1")
    (tmp_path / "oci.tgz").write_bytes(gzip.compress((tmp_path / "oci.tar").read_bytes()))
    expected = {
        "layout": Transport.OCI_LAYOUT,
        "oci.tar": Transport.OCI_ARCHIVE,
        "oci.tgz": Transport.OCI_ARCHIVE,
        "docker.tar": Transport.DOCKER_ARCHIVE,
    }
    monkeypatch.chdir(tmp_path)
    for name, transport in expected.items():
        for raw in (str(tmp_path / name), f"./{name}", name):
            ref = parse_reference(raw)
            assert (ref.transport, ref.path) == (transport, raw), raw
            assert ref.raw == f"{transport}:{raw}"  # explicit from now on: it parses back without probing
    assert open_image("./layout").manifest_digest == digest
    assert open_image("oci.tar").manifest_digest == digest


@pytest.mark.parametrize(
    ("make", "raw", "hint"),
    [
        (lambda p: None, "./nope", "no such file or directory"),
        (lambda p: (p / "rootfs").mkdir(), "./rootfs", "with dir:./rootfs"),
        (lambda p: (p / "junk.tar").write_bytes(b"junk" * 300), "./junk.tar", "not a readable tar"),
        (lambda p: _plain_tar(p / "other.tar"), "./other.tar", "create one with `docker save`"),
        (lambda p: os.mkfifo(p / "fifo"), "./fifo", "not a regular file or directory"),
    ],
)
def test_bad_bare_paths_are_one_line_with_a_fix(tmp_path, monkeypatch, make, raw, hint) -> None:
    make(tmp_path)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ImageSourceError) as info:
        parse_reference(raw)
    assert hint in str(info.value) and "\n" not in str(info.value)
    assert "invalid registry host" not in str(info.value)


def _plain_tar(path: Path) -> None:
    with tarfile.open(path, "w") as tar:
        info = tarfile.TarInfo("hello.txt")
        info.size = 2
        tar.addfile(info, io.BytesIO(b"hi"))


@pytest.mark.parametrize(
    ("raw", "hint"),
    [
        ("", "write one of host/repo:tag"),
        ("a b", "write one of host/repo:tag"),
        ("oci:", "write oci:DIR[:TAG]"),
        ("oci-archive:", "write oci-archive:FILE[:TAG]"),
        ("dir:", "write dir:DIR"),
        ("app:-x", "a tag is up to 128 letters"),
        ("Alpine", "lowercase letters"),
        ("app@sha256:abc", "pin with @sha256:"),
        ("bad_host.example/x", "invalid registry host"),
    ],
)
def test_reference_errors_say_what_to_do(raw: str, hint: str) -> None:
    with pytest.raises(ImageSourceError) as info:
        parse_reference(raw)
    assert hint in str(info.value)


def _builder():
    name = "kw_build_images"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, REPO / "examples" / "build_images.py")
        assert spec and spec.loader
        sys.modules[name] = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(sys.modules[name])
    return sys.modules[name]


def _packages(ref: str) -> list[tuple[str, str, str, int | None]]:
    result = scan_reference(ref, use_cache=False)
    return sorted((p.type, p.name, p.version, p.layer_index) for p in result.packages)


def test_oci_archive_scans_like_its_layout(tmp_path: Path) -> None:
    digests = _builder().build(tmp_path / "out", ["debian-base"])
    layout = tmp_path / "out" / "debian-base"
    write_oci_archive(layout, tmp_path / "debian-base.tar")
    (tmp_path / "debian-base.tar.gz").write_bytes(gzip.compress((tmp_path / "debian-base.tar").read_bytes()))
    expected = _packages(f"oci:{layout}")
    assert len(expected) > 50  # this machine's real dpkg database
    for ref in (
        f"oci-archive:{tmp_path / 'debian-base.tar'}",
        f"oci-archive:{tmp_path / 'debian-base.tar'}:12",
        f"oci-archive:{tmp_path / 'debian-base.tar.gz'}",
        str(tmp_path / "debian-base.tar"),
        f"oci-dir:{layout}",
    ):
        image = open_image(ref)
        assert image.manifest_digest == digests["debian-base"], ref
        image.source.close()
        assert _packages(ref) == expected, ref


def _archive(path: Path, members: dict[str, bytes | str]) -> None:
    """str members are symlinks to that target."""
    with tarfile.open(path, "w") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            if isinstance(data, str):
                info.type, info.linkname = tarfile.SYMTYPE, data
                tar.addfile(info)
            else:
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))


def test_oci_archive_hostile_members(tmp_path: Path) -> None:
    _layout(tmp_path / "layout")
    index = (tmp_path / "layout" / "index.json").read_bytes()
    blobs = {
        f.relative_to(tmp_path / "layout").as_posix(): f.read_bytes()
        for f in (tmp_path / "layout" / "blobs").rglob("*")
        if f.is_file()
    }
    manifest_name = next(n for n, data in blobs.items() if b'"layers"' in data)
    linked = {**blobs, manifest_name: "/etc/passwd"}
    _archive(tmp_path / "link.tar", {"oci-layout": b"{}", "index.json": index, **linked})
    with pytest.raises(ImageSourceError, match="not a regular file"):
        open_image(f"oci-archive:{tmp_path / 'link.tar'}")
    _archive(tmp_path / "evil.tar", {"../evil": b"x", "index.json": index})
    with pytest.raises(ImageSourceError, match="unsafe member name"):
        open_image(f"oci-archive:{tmp_path / 'evil.tar'}")
    _archive(tmp_path / "noindex.tar", {"oci-layout": b"{}", **blobs})
    with pytest.raises(ImageSourceError, match="index.json"):
        open_image(f"oci-archive:{tmp_path / 'noindex.tar'}")
    _archive(tmp_path / "badindex.tar", {"index.json": b'{"manifests": 3}', **blobs})
    with pytest.raises(ImageSourceError, match="manifests must be a list"):
        open_image(f"oci-archive:{tmp_path / 'badindex.tar'}")
    with pytest.raises(ImageSourceError, match="no image tagged 'nope'"):
        open_image(f"oci-archive:{tmp_path / 'link.tar'}:nope")
