"""`oci:` layouts and `docker-archive:` tarballs: round trips and hostile input."""

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
from keelwatch.oci.image import MT_DOCKER_MANIFEST
from keelwatch.oci.resolve import open_image

images = sys.modules["keelwatch_test_images"]  # loaded by conftest.py


def _blob_path(layout: Path, digest: str) -> Path:
    return layout / "blobs" / "sha256" / digest.split(":")[1]


@pytest.mark.parametrize("compression", ["gzip", "zstd", "none"])
def test_layout_round_trip(tmp_path, compression):
    base = make_layer(images.real_entries(), compression)
    app = make_layer(images.app_entries(), compression)
    digest = write_oci_layout(
        tmp_path, [base, app], tag="1.0", labels={"team": "core"}, annotations={"org.example": "yes"}
    )
    image = open_image(f"oci:{tmp_path}:1.0")
    assert image.manifest_digest == digest
    assert [(li.digest, li.diff_id, li.size, li.media_type) for li in image.layers] == [
        (x.digest, x.diff_id, x.size, x.media_type) for x in (base, app)
    ]
    assert image.labels == {"team": "core"}
    assert image.annotations == {"org.example": "yes"}
    assert image.platform == "linux/amd64"
    assert image.config_digest == image.manifest["config"]["digest"]
    with image.open_layer(1) as fh:
        blob = fh.read()
    assert blob == app.blob
    assert "etc/.wh.debian_version" in images.tar_members(blob, image.layers[1].media_type)


def test_docker_media_types_in_layout(tmp_path):
    layer = make_layer(images.real_entries())
    OciLayoutWriter(tmp_path).add_image([layer], tag="d", docker_media_types=True)
    image = open_image(f"oci:{tmp_path}:d")
    assert image.manifest["mediaType"] == MT_DOCKER_MANIFEST
    assert image.layers[0].media_type == "application/vnd.docker.image.rootfs.diff.tar.gzip"


def _multiarch(tmp_path: Path, docker: bool = False) -> tuple[Path, dict[str, str]]:
    w = OciLayoutWriter(tmp_path)
    digests = {}
    for platform in ("linux/amd64", "linux/arm64/v8", "linux/arm/v7"):
        layer = make_layer([*images.real_entries(), FileEntry("platform", platform.encode())])
        digests[platform] = w.add_image([layer], platform=platform, tag=None, docker_media_types=docker)
    w.add_index(list(digests.values()), tag="multi", docker_media_types=docker)
    return tmp_path, digests


@pytest.mark.parametrize("docker", [False, True])
def test_multiarch_platform_selection(tmp_path, docker):
    layout, digests = _multiarch(tmp_path, docker)
    assert open_image(f"oci:{layout}:multi").manifest_digest == digests["linux/amd64"]
    for wanted, want in [
        ("linux/arm64", "linux/arm64/v8"),
        ("linux/arm64/v8", "linux/arm64/v8"),
        ("linux/arm/v7", "linux/arm/v7"),
        ("linux/arm", "linux/arm/v7"),
    ]:
        image = open_image(f"oci:{layout}:multi", platform=wanted)
        assert image.manifest_digest == digests[want]
        assert image.platform == want
    with pytest.raises(ImageSourceError, match=r"no image for platform linux/s390x .*linux/arm64/v8"):
        open_image(f"oci:{layout}:multi", platform="linux/s390x")
    with pytest.raises(ImageSourceError, match="invalid platform"):
        open_image(f"oci:{layout}:multi", platform="linux")


def test_nested_index(tmp_path):
    w = OciLayoutWriter(tmp_path)
    arm = w.add_image([make_layer(images.real_entries())], platform="linux/arm64/v8", tag=None)
    inner = w.add_index([arm], tag=None)
    outer = w.add_index([inner], tag="nested")
    assert outer != inner
    # The inner index descriptor carries no platform, so point the outer index at it by hand.
    index = json.loads(_blob_path(tmp_path, outer).read_bytes())
    assert index["manifests"][0]["digest"] == inner
    image = open_image(f"oci:{tmp_path}:nested", platform="linux/arm64")
    assert image.manifest_digest == arm


def test_tag_selection_errors(tmp_path):
    layer = make_layer(images.real_entries())
    w = OciLayoutWriter(tmp_path)
    w.add_image([layer], tag="a")
    w.add_image([layer], tag="b", labels={"x": "y"})
    with pytest.raises(ImageSourceError, match="holds 2 images"):
        open_image(f"oci:{tmp_path}")
    with pytest.raises(ImageSourceError, match=r"no image tagged 'c' \(tags: a, b\)"):
        open_image(f"oci:{tmp_path}:c")
    assert open_image(f"oci:{tmp_path}:b").labels == {"x": "y"}


def test_corrupt_layer_blob_is_a_digest_error(tmp_path):
    layer = make_layer(images.real_entries())
    write_oci_layout(tmp_path, [layer])
    path = _blob_path(tmp_path, layer.digest)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    image = open_image(f"oci:{tmp_path}")
    with pytest.raises(DigestMismatchError), image.open_layer(0) as fh:
        while fh.read(4096):
            pass


def test_corrupt_config_is_a_digest_error(tmp_path):
    digest = write_oci_layout(tmp_path, [make_layer(images.real_entries())])
    manifest = json.loads(_blob_path(tmp_path, digest).read_bytes())
    _blob_path(tmp_path, manifest["config"]["digest"]).write_bytes(b'{"rootfs": {"diff_ids": []}}')
    with pytest.raises(DigestMismatchError):
        open_image(f"oci:{tmp_path}")


def test_missing_blob_and_bad_json(tmp_path):
    layer = make_layer(images.real_entries())
    digest = write_oci_layout(tmp_path / "a", [layer])
    _blob_path(tmp_path / "a", digest).unlink()
    with pytest.raises(ImageSourceError, match="missing"):
        open_image(f"oci:{tmp_path / 'a'}")
    write_oci_layout(tmp_path / "b", [layer])
    (tmp_path / "b" / "index.json").write_text("{not json")
    with pytest.raises(ImageSourceError, match="not valid JSON"):
        open_image(f"oci:{tmp_path / 'b'}")
    with pytest.raises(ImageSourceError, match="does not exist"):
        open_image(f"oci:{tmp_path / 'nope'}")
    (tmp_path / "c").mkdir()
    with pytest.raises(ImageSourceError, match="no index.json"):
        open_image(f"oci:{tmp_path / 'c'}")


def test_hostile_descriptor_digest_cannot_escape_the_layout(tmp_path):
    write_oci_layout(tmp_path, [make_layer(images.real_entries())])
    index = json.loads((tmp_path / "index.json").read_text())
    index["manifests"][0]["digest"] = "sha256:../../../../etc/passwd"
    (tmp_path / "index.json").write_text(json.dumps(index))
    with pytest.raises(ImageSourceError, match="invalid"):
        open_image(f"oci:{tmp_path}")


def test_diff_id_count_mismatch(tmp_path):
    layer = make_layer(images.real_entries())
    w = OciLayoutWriter(tmp_path)
    w.add_image(
        [layer, layer], tag="x", config={"os": "linux", "architecture": "amd64", "rootfs": {"diff_ids": []}}
    )
    with pytest.raises(ImageSourceError, match="2 layers but config has 0 diff_ids"):
        open_image(f"oci:{tmp_path}:x")


def test_oversized_manifest_is_refused(tmp_path):
    w = OciLayoutWriter(tmp_path)
    digest, size = w.add_blob(b"{" + b" " * (5 << 20) + b"}")
    index = {"schemaVersion": 2, "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json",
                                               "digest": digest, "size": size}]}  # fmt: skip
    (tmp_path / "index.json").write_text(json.dumps(index))
    with pytest.raises(ImageSourceError, match="too large"):
        open_image(f"oci:{tmp_path}")


# -- docker-archive ----------------------------------------------------------------------------


@pytest.mark.parametrize("compressed", [False, True])
def test_docker_archive_round_trip(tmp_path, compressed):
    base = make_layer(images.real_entries())
    app = make_layer(images.app_entries(), "zstd")
    path = tmp_path / "img.tar"
    config_digest = write_docker_archive(
        path, [base, app], repo_tag="team/app:1.0", labels={"l": "v"}, compressed_layers=compressed
    )
    for ref in (f"docker-archive:{path}", f"docker-archive:{path}:team/app:1.0"):
        image = open_image(ref)
        assert image.config_digest == config_digest
        assert image.manifest_digest is None
        assert [li.diff_id for li in image.layers] == [base.diff_id, app.diff_id]
        assert image.labels == {"l": "v"}
        with image.open_layer(0) as fh:
            data = fh.read()
        if compressed:
            assert data == base.blob and image.layers[1].digest == app.digest
        else:
            assert "sha256:" + hashlib.sha256(data).hexdigest() == base.diff_id
        image.source.close()


def _archive(path: Path, members: dict[str, bytes]) -> None:
    with tarfile.open(path, "w") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))


def test_docker_archive_hostile_member_names(tmp_path):
    layer = make_layer(images.real_entries(), "none")
    config = json.dumps(
        {"os": "linux", "architecture": "amd64", "rootfs": {"diff_ids": [layer.diff_id]}}
    ).encode()
    manifest = [{"Config": "../../etc/passwd", "RepoTags": ["a:b"], "Layers": ["l/layer.tar"]}]
    _archive(tmp_path / "a.tar", {"manifest.json": json.dumps(manifest).encode(), "c.json": config,
                                   "l/layer.tar": layer.blob})  # fmt: skip
    with pytest.raises(ImageSourceError, match="unsafe member name"):
        open_image(f"docker-archive:{tmp_path / 'a.tar'}")
    _archive(tmp_path / "b.tar", {"../evil": b"x", "manifest.json": b"[]"})
    with pytest.raises(ImageSourceError, match="unsafe member name"):
        open_image(f"docker-archive:{tmp_path / 'b.tar'}")


def test_docker_archive_bad_input(tmp_path):
    (tmp_path / "junk.tar").write_bytes(b"not a tar at all" * 100)
    with pytest.raises(ImageSourceError, match="not a readable tar"):
        open_image(f"docker-archive:{tmp_path / 'junk.tar'}")
    _archive(tmp_path / "nomanifest.tar", {"x": b"y"})
    with pytest.raises(ImageSourceError, match="manifest.json"):
        open_image(f"docker-archive:{tmp_path / 'nomanifest.tar'}")
    _archive(tmp_path / "badjson.tar", {"manifest.json": b"[{"})
    with pytest.raises(ImageSourceError, match="not valid JSON"):
        open_image(f"docker-archive:{tmp_path / 'badjson.tar'}")
    layer = make_layer(images.real_entries(), "none")
    config = json.dumps({"rootfs": {"diff_ids": [layer.diff_id, layer.diff_id]}}).encode()
    manifest = [{"Config": "c.json", "RepoTags": None, "Layers": ["l/layer.tar"]}]
    _archive(tmp_path / "count.tar", {"manifest.json": json.dumps(manifest).encode(), "c.json": config,
                                       "l/layer.tar": layer.blob})  # fmt: skip
    with pytest.raises(ImageSourceError, match="1 layers but config has 2 diff_ids"):
        open_image(f"docker-archive:{tmp_path / 'count.tar'}")


def test_docker_archive_tampered_layer(tmp_path):
    layer = make_layer(images.real_entries(), "none")
    config = json.dumps(
        {"os": "linux", "architecture": "amd64", "rootfs": {"diff_ids": [layer.diff_id]}}
    ).encode()
    manifest = [{"Config": "c.json", "RepoTags": ["a:b"], "Layers": ["l/layer.tar"]}]
    tampered = layer.blob.replace(b"Package:", b"Packagf:", 1)
    assert tampered != layer.blob
    _archive(tmp_path / "t.tar", {"manifest.json": json.dumps(manifest).encode(), "c.json": config,
                                   "l/layer.tar": tampered})  # fmt: skip
    image = open_image(f"docker-archive:{tmp_path / 't.tar'}")
    with pytest.raises(DigestMismatchError), image.open_layer(0) as fh:
        fh.read()


def test_gzipped_docker_archive_and_interleaved_reads(tmp_path):
    import gzip

    layers = [make_layer(images.real_entries()), make_layer(images.app_entries())]
    write_docker_archive(tmp_path / "a.tar", layers, repo_tag="app:1")
    (tmp_path / "a.tar.gz").write_bytes(gzip.compress((tmp_path / "a.tar").read_bytes()))
    for name in ("a.tar", "a.tar.gz"):
        image = open_image(f"docker-archive:{tmp_path / name}")
        with image.open_layer(0) as first, image.open_layer(1) as second:
            a, b = first.read(100), second.read(100)
            a += first.read()
            b += second.read()
        assert [hashlib.sha256(x).hexdigest() for x in (a, b)] == [x.diff_id.split(":")[1] for x in layers]
        image.source.close()
