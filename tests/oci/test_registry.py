"""Push to and pull from the real CNCF Distribution registry: no auth, Basic, Bearer token."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from imagebuilder import FileEntry, OciLayoutWriter, make_layer, write_docker_archive, write_oci_layout
from keelwatch.errors import DigestMismatchError, ImageSourceError
from keelwatch.oci.auth import Credentials, load_docker_credentials, parse_challenge
from keelwatch.oci.push import copy_image, push_layout
from keelwatch.oci.registry import RegistryClient
from keelwatch.oci.resolve import open_image

images = sys.modules["keelwatch_test_images"]  # loaded by conftest.py
pytestmark = pytest.mark.registry


@pytest.fixture
def layout(tmp_path: Path) -> tuple[Path, list]:
    layers = [make_layer(images.real_entries()), make_layer(images.app_entries(), "zstd")]
    write_oci_layout(tmp_path / "img", layers, tag="1.0", labels={"team": "core"})
    return tmp_path / "img", layers


def _read_layers(image) -> list[bytes]:
    out = []
    for i in range(len(image.layers)):
        with image.open_layer(i) as fh:
            out.append(fh.read())
    return out


def test_push_and_pull_without_auth(registry, layout):
    path, layers = layout
    result = push_layout(f"oci:{path}:1.0", registry.ref("plain/app", "1.0"), insecure=True)
    local = open_image(f"oci:{path}:1.0")
    assert result.digest == local.manifest_digest
    assert len(result.uploaded) == 3 and result.skipped == []
    pulled = open_image(registry.ref("plain/app", "1.0"), insecure=True)
    assert pulled.manifest_digest == local.manifest_digest
    assert pulled.labels == {"team": "core"}
    assert [li.diff_id for li in pulled.layers] == [x.diff_id for x in layers]
    assert _read_layers(pulled) == [x.blob for x in layers]
    pinned = open_image(f"{registry.host}/plain/app@{result.digest}", insecure=True)
    assert pinned.config_digest == local.config_digest
    # a second push uploads nothing
    again = push_layout(f"oci:{path}:1.0", registry.ref("plain/app", "1.1"), insecure=True)
    assert again.uploaded == [] and len(again.skipped) == 3


def test_unknown_manifest_and_repo(registry):
    with pytest.raises(ImageSourceError, match="manifest unknown: .*nothing/here:nope"):
        open_image(registry.ref("nothing/here", "nope"), insecure=True)
    with (
        RegistryClient(registry.host, insecure=True) as client,
        pytest.raises(ImageSourceError, match="name unknown"),
    ):
        client.list_tags("nothing/here")


def test_insecure_only_for_loopback():
    with pytest.raises(ImageSourceError, match="only allowed for loopback"):
        open_image("registry.example.com/app:1", insecure=True)


def test_tampered_registry_blob_is_an_error(registry, layout):
    path, layers = layout
    push_layout(f"oci:{path}:1.0", registry.ref("tamper/app", "1.0"), insecure=True)
    # Overwrite the stored layer data on the registry's disk, as a compromised store would.
    hexd = layers[0].digest.split(":")[1]
    data_file = registry.root / "data" / "docker/registry/v2/blobs/sha256" / hexd[:2] / hexd / "data"
    assert data_file.is_file()
    original = data_file.read_bytes()
    try:
        data_file.write_bytes(original[:-1] + bytes([original[-1] ^ 1]))
        image = open_image(registry.ref("tamper/app", "1.0"), insecure=True)
        with pytest.raises(DigestMismatchError), image.open_layer(0) as fh:
            fh.read()
    finally:
        data_file.write_bytes(original)


def test_multiarch_push_and_platform_pull(registry, tmp_path):
    w = OciLayoutWriter(tmp_path / "multi")
    digests = {}
    for platform in ("linux/amd64", "linux/arm64/v8"):
        layer = make_layer([*images.real_entries(), FileEntry("platform", platform.encode())])
        digests[platform] = w.add_image([layer], platform=platform, tag=None)
    index_digest = w.add_index(list(digests.values()), tag="latest")
    result = push_layout(f"oci:{tmp_path / 'multi'}:latest", registry.ref("multi/app", "2"), insecure=True)
    assert result.digest == index_digest
    assert set(digests.values()) <= set(result.manifests)
    for platform in ("linux/amd64", "linux/arm64", "linux/arm64/v8"):
        image = open_image(registry.ref("multi/app", "2"), platform=platform, insecure=True)
        assert image.manifest_digest == digests["linux/arm64/v8" if "arm" in platform else platform]
        content = images.layer_file(_read_layers(image)[0], image.layers[0].media_type, "platform").decode()
        assert content.startswith(platform.split("/v")[0])
    with pytest.raises(ImageSourceError, match="no image for platform windows/amd64"):
        open_image(registry.ref("multi/app", "2"), platform="windows/amd64", insecure=True)


def test_tags_and_catalog_pagination(registry, tmp_path):
    digest = write_oci_layout(tmp_path / "p", [make_layer(images.real_entries())], tag="t")
    tags = [f"v{i}" for i in range(7)]
    for repo in ("page/one", "page/two", "page/three"):
        for tag in tags:
            push_layout(f"oci:{tmp_path / 'p'}:t", registry.ref(repo, tag), insecure=True)
    with RegistryClient(registry.host, insecure=True) as client:
        assert sorted(client.list_tags("page/one", page_size=2)) == sorted(tags)
        assert sorted(client.list_tags("page/two")) == sorted(tags)
        repos = client.list_repositories(page_size=1)
        assert {"page/one", "page/two", "page/three"} <= set(repos)
        assert len(repos) == len(set(repos))
        assert client.head_manifest("page/one", "v3") == digest


def test_docker_archive_copy(registry, tmp_path):
    layers = [make_layer(images.real_entries())]
    write_docker_archive(tmp_path / "a.tar", layers, repo_tag="arch/app:1")
    src = open_image(f"docker-archive:{tmp_path / 'a.tar'}")
    result = copy_image(src, registry.ref("arch/app", "1"), insecure=True)
    src.source.close()
    pulled = open_image(registry.ref("arch/app", "1"), insecure=True)
    assert pulled.manifest_digest == result.digest
    assert pulled.layers[0].diff_id == layers[0].diff_id
    assert _read_layers(pulled)[0] == gzip.decompress(layers[0].blob)


# -- auth ----------------------------------------------------------------------------------------


def test_docker_config_credentials(tmp_path, monkeypatch):
    import base64

    cfg = tmp_path / "docker"
    cfg.mkdir()
    auth = base64.b64encode(b"bob:pa:ss").decode()
    (cfg / "config.json").write_text(
        json.dumps(
            {
                "auths": {
                    "https://index.docker.io/v1/": {"auth": auth},
                    "http://localhost:5000": {"auth": auth},
                }
            }
        )
    )
    monkeypatch.setenv("DOCKER_CONFIG", str(cfg))
    assert load_docker_credentials("docker.io") == Credentials("bob", "pa:ss")
    assert load_docker_credentials("localhost:5000") == Credentials("bob", "pa:ss")
    assert load_docker_credentials("ghcr.io") is None
    (cfg / "config.json").write_text("{bad")
    with pytest.raises(ImageSourceError, match="cannot read Docker credentials"):
        load_docker_credentials("ghcr.io")


def test_challenge_parsing():
    scheme, params = parse_challenge(
        'Bearer realm="https://auth.example.com/token",service="registry.example.com",scope="repository:a/b:pull,push"'
    )
    assert scheme == "bearer"
    assert params == {
        "realm": "https://auth.example.com/token",
        "service": "registry.example.com",
        "scope": "repository:a/b:pull,push",
    }
    assert parse_challenge('Basic realm="x"') == ("basic", {"realm": "x"})


@pytest.mark.parametrize("mode", ["basic_registry", "token_registry"])
def test_auth_push_pull_via_docker_config(mode, request, layout, tmp_path, monkeypatch):
    reg = request.getfixturevalue(mode)
    path, layers = layout
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path / "nocreds"))
    with pytest.raises(ImageSourceError, match=f"authentication required for {reg.host}/auth/app"):
        push_layout(f"oci:{path}:1.0", reg.ref("auth/app", "1.0"), insecure=True)
    monkeypatch.setenv("DOCKER_CONFIG", str(reg.docker_config(tmp_path / "bad", "alice", "wrong")))
    with pytest.raises(ImageSourceError, match="authentication failed for .*alice"):
        push_layout(f"oci:{path}:1.0", reg.ref("auth/app", "1.0"), insecure=True)
    monkeypatch.setenv("DOCKER_CONFIG", str(reg.docker_config(tmp_path / "good", "alice", "wonderland")))
    result = push_layout(f"oci:{path}:1.0", reg.ref("auth/app", "1.0"), insecure=True)
    image = open_image(reg.ref("auth/app", "1.0"), insecure=True)
    assert image.manifest_digest == result.digest
    assert _read_layers(image) == [x.blob for x in layers]
    with RegistryClient(reg.host, insecure=True) as client:
        assert "auth/app" in client.list_repositories()
        assert client.list_tags("auth/app") == ["1.0"]
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path / "nocreds"))
    with pytest.raises(ImageSourceError, match="authentication required"):
        open_image(reg.ref("auth/app", "1.0"), insecure=True)


def test_token_is_cached_per_scope(token_registry, layout, tmp_path, monkeypatch):
    path, _ = layout
    monkeypatch.setenv(
        "DOCKER_CONFIG", str(token_registry.docker_config(tmp_path / "c", "alice", "wonderland"))
    )
    push_layout(f"oci:{path}:1.0", token_registry.ref("cache/app", "1.0"), insecure=True)
    before = len(token_registry.issuer.requests)
    image = open_image(token_registry.ref("cache/app", "1.0"), insecure=True)
    _read_layers(image)
    image.source.close()
    fetched = token_registry.issuer.requests[before:]
    assert len(fetched) == 1, fetched  # one token for repository:cache/app:pull, reused for every blob
    assert fetched[0]["query"]["scope"] == ["repository:cache/app:pull"]


# -- CLI -----------------------------------------------------------------------------------------


def test_cli_push(registry, layout):
    from keelwatch.cli import _register_all, app

    _register_all()
    path, _ = layout
    result = CliRunner().invoke(
        app, ["push", f"oci:{path}:1.0", registry.ref("cli/app", "1.0"), "--insecure"]
    )
    assert result.exit_code == 0, result.output
    digest = result.stdout.strip().splitlines()[-1]
    assert digest == open_image(f"oci:{path}:1.0").manifest_digest
    assert open_image(registry.ref("cli/app", "1.0"), insecure=True).manifest_digest == digest


def test_cli_push_errors_exit_2(registry, tmp_path):
    env = {**os.environ, "DOCKER_CONFIG": str(tmp_path / "none")}
    cmd = [sys.executable, "-c", "from keelwatch.cli import main; main()", "push"]
    missing = subprocess.run([*cmd, f"oci:{tmp_path / 'nope'}", registry.ref("cli/x")], capture_output=True,
                             text=True, env=env, timeout=60)  # fmt: skip
    assert missing.returncode == 2
    assert missing.stderr.startswith("error: ") and "does not exist" in missing.stderr
    assert "Traceback" not in missing.stderr
    write_oci_layout(tmp_path / "img", [make_layer(images.real_entries())])
    plain = subprocess.run([*cmd, f"oci:{tmp_path / 'img'}", registry.ref("cli/x")], capture_output=True,
                           text=True, env=env, timeout=60)  # fmt: skip
    assert plain.returncode == 2  # HTTPS against a plain-HTTP registry fails cleanly without --insecure
    assert plain.stderr.startswith("error: ") and "Traceback" not in plain.stderr


def test_push_of_corrupt_layout_fails_and_tags_nothing(registry, layout):
    path, layers = layout
    blob = path / "blobs" / "sha256" / layers[1].digest.split(":")[1]
    data = bytearray(blob.read_bytes())
    data[-3] ^= 0xFF
    blob.write_bytes(bytes(data))
    with pytest.raises(ImageSourceError):
        push_layout(f"oci:{path}:1.0", registry.ref("corrupt/app", "1.0"), insecure=True)
    with pytest.raises(ImageSourceError, match="manifest unknown"):
        open_image(registry.ref("corrupt/app", "1.0"), insecure=True)


def test_token_realm_must_be_https_off_loopback():
    from keelwatch.oci.auth import Authenticator
    from keelwatch.oci.transport import RegistryLimits, Transport

    auth = Authenticator("registry.example.com", Credentials("a", "b"))
    transport = Transport(
        "registry.example.com", "https://registry.example.com", insecure=False, limits=RegistryLimits()
    )
    with pytest.raises(ImageSourceError, match="HTTPS required"):
        auth.authorize(
            'Bearer realm="http://evil.example.com/token",service="x"', "repository:a:pull", transport
        )
    transport.close()


def test_registry_factory_custom_users_and_clean_stop(registry_factory, layout):
    path, _ = layout
    reg = registry_factory(auth="htpasswd", users={"carol": "c0ral!"})
    with RegistryClient(reg.host, insecure=True, credentials=Credentials("carol", "c0ral!")) as client:
        result = push_layout(f"oci:{path}:1.0", reg.ref("fac/app", "1.0"), client=client)
        assert client.head_manifest("fac/app", "1.0") == result.digest
    reg.stop()
    assert reg.process.poll() is not None
    with pytest.raises(ImageSourceError, match="cannot reach registry"):
        open_image(reg.ref("fac/app", "1.0"), insecure=True)


def test_credential_helper(basic_registry, layout, tmp_path, monkeypatch):
    """A docker-credential-* helper (the real stdin/stdout protocol) supplies the password."""
    bindir = tmp_path / "bin"
    bindir.mkdir()
    helper = bindir / "docker-credential-kwtest"
    helper.write_text(
        "#!/bin/sh\n"
        '[ "$1" = get ] || exit 1\n'
        "read server\n"
        f'[ "$server" = "{basic_registry.host}" ] || {{ echo "credentials not found"; exit 1; }}\n'
        'printf \'{"ServerURL":"%s","Username":"alice","Secret":"wonderland"}\' "$server"\n'
    )
    helper.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bindir}{os.pathsep}{os.environ['PATH']}")
    cfg = tmp_path / "docker"
    cfg.mkdir()
    (cfg / "config.json").write_text(json.dumps({"credHelpers": {basic_registry.host: "kwtest"}}))
    monkeypatch.setenv("DOCKER_CONFIG", str(cfg))
    assert load_docker_credentials(basic_registry.host) == Credentials("alice", "wonderland")
    assert load_docker_credentials("ghcr.io") is None
    path, _ = layout
    result = push_layout(f"oci:{path}:1.0", basic_registry.ref("helper/app", "1.0"), insecure=True)
    assert open_image(basic_registry.ref("helper/app", "1.0"), insecure=True).manifest_digest == result.digest
