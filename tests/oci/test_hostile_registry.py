"""The registry client against a hostile registry on loopback (tests/oci/hostile_server.py).

Each case is a server that misbehaves in one way: trickled or endless answers, pagination that
loops, huge or compression-bomb documents, redirects and upload locations that try to pull
credentials or plain-HTTP traffic away from the registry, error messages that echo secrets.
Limits are small (about a second) so every case ends in a few seconds.
"""

from __future__ import annotations

import base64
import dataclasses
import gzip
import hashlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import zstandard

from keelwatch.errors import DigestMismatchError, ImageSourceError, KeelwatchError
from keelwatch.oci.auth import Authenticator, Credentials
from keelwatch.oci.registry import RegistryClient
from keelwatch.oci.transport import RegistryLimits, Transport

hostile = sys.modules["keelwatch_test_hostile_registry"]  # loaded by conftest.py
images = sys.modules["keelwatch_test_images"]

FAST = RegistryLimits(timeout=1.5, blob_timeout=1.5, connect_timeout=1.0, read_timeout=1.0, max_redirects=3)
USER, PASSWORD = "alice", "pa55-Wonderland-secret"
BASIC = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
TOKEN = "tok-3f9a1c77e2b04d5e9c1d"
DIGEST = "sha256:" + "ab" * 32


@pytest.fixture
def srv():
    with hostile.HostileServer() as server:
        yield server


@pytest.fixture
def other():
    """A second server on another origin (localhost:PORT): object storage, or an attacker."""
    with hostile.HostileServer(bind="127.0.0.1") as server:
        server.host = f"localhost:{server.port}"
        yield server


@pytest.fixture
def off_loopback():
    """A server on 127.0.0.2: loopback for the kernel, but not a host keelwatch lets plain HTTP reach."""
    try:
        server = hostile.HostileServer(bind="127.0.0.2")
    except OSError:
        pytest.skip("127.0.0.2 is not routable here")
    with server:
        yield server


def client(server, credentials: Credentials | None = None, insecure: bool = True) -> RegistryClient:
    return RegistryClient(server.host, insecure=insecure, credentials=credentials, limits=FAST)


def json_reply(doc: object, status: int = 200, **headers: str):
    return lambda h: h.reply(status, json.dumps(doc).encode(), headers)


def require_basic(fn):
    """Answer 401 with a Basic challenge unless the request carries the right credentials."""

    def handler(h):
        if h.headers.get("Authorization") != BASIC:
            h.reply(401, b"{}", {"WWW-Authenticate": 'Basic realm="hostile"'})
        else:
            fn(h)

    return handler


def listened(server) -> float:
    """How long the client stayed on a trickled answer before hanging up (server-side clock)."""
    deadline = time.monotonic() + hostile.MAX_MISBEHAVIOUR + 2
    while not server.trickled and time.monotonic() < deadline:
        time.sleep(0.05)
    return max(server.trickled)


# -- total time limits -----------------------------------------------------------------------------


def test_trickled_headers_are_cut_at_the_total_deadline(srv):
    """One header byte every 0.25 s: every read succeeds long before the read timeout."""
    srv.route("GET", "/v2/app/manifests/1", lambda h: h.trickle(b"HTTP/1.1 200 OK\r\nX-Pad: " + b"a" * 400))
    with client(srv) as c, pytest.raises(ImageSourceError, match="time limit"):
        c.get_manifest("app", "1")
    assert listened(srv) < 4


def _trickled_body(h):
    h.send_response(200)
    h.send_header("Content-Length", "4000")
    h.end_headers()
    h.trickle(b"{" * 4000)


def test_trickled_manifest_body_is_cut(srv):
    srv.route("GET", "/v2/app/manifests/1", _trickled_body)
    with client(srv) as c, pytest.raises(ImageSourceError, match="time limit"):
        c.get_manifest("app", "1")
    assert listened(srv) < 4


def test_trickled_blob_is_cut(srv):
    srv.route("GET", f"/v2/app/blobs/{DIGEST}", _trickled_body)
    with client(srv) as c, pytest.raises(ImageSourceError, match="time limit"):
        c.open_blob("app", DIGEST, 4000).read()
    assert listened(srv) < 4


def test_trickled_token_answer_is_cut(srv):
    realm = f"http://{srv.host}/token"
    srv.route(
        "GET", "/v2/app/manifests/1", json_reply({}, 401, **{"WWW-Authenticate": f'Bearer realm="{realm}"'})
    )
    srv.route("GET", "/token", _trickled_body)
    with client(srv) as c, pytest.raises(ImageSourceError, match="time limit"):
        c.get_manifest("app", "1")
    assert listened(srv) < 4


def test_endless_blob_is_cut_by_its_declared_size(srv):
    srv.route("GET", f"/v2/app/blobs/{DIGEST}", lambda h: h.endless(b"HTTP/1.1 200 OK\r\n\r\n"))
    with client(srv) as c, pytest.raises(DigestMismatchError, match="larger than its declared size"):
        c.open_blob("app", DIGEST, 100_000).read()


# -- pagination ------------------------------------------------------------------------------------


def _looping_pages(key: str, path: str):
    """Every page lists the same entries and links to a 'next' page with a new `last`."""
    count = {"n": 0}

    def handler(h):
        count["n"] += 1
        link = f'<{path}?n=2&last=z{count["n"]}>; rel="next"' if count["n"] < 60 else None
        h.reply(200, json.dumps({key: ["a", "b"]}).encode(), {"Link": link} if link else {})

    return handler


def test_tags_pagination_that_loops_is_stopped(srv):
    srv.route("GET", "/v2/app/tags/list", _looping_pages("tags", "/v2/app/tags/list"))
    with client(srv) as c, pytest.raises(ImageSourceError, match="pagination loops"):
        c.list_tags("app", page_size=2)
    assert len(srv.requests) <= 3


def test_catalog_pagination_that_loops_is_stopped(srv):
    srv.route("GET", "/v2/_catalog", _looping_pages("repositories", "/v2/_catalog"))
    with client(srv) as c, pytest.raises(ImageSourceError, match="pagination loops"):
        c.list_repositories(page_size=2)


def test_catalog_link_back_to_the_same_page_in_another_spelling(srv):
    def handler(h):
        last = "last=x" in h.path
        link = "</v2/_catalog?last=x&n=1>" if not last else "</v2/_catalog?n=1&last=x>"
        h.reply(
            200,
            json.dumps({"repositories": ["y" if last else "x"]}).encode(),
            {"Link": link + '; rel="next"'},
        )

    srv.route("GET", "/v2/_catalog", handler)
    with client(srv) as c, pytest.raises(ImageSourceError, match="pagination loops"):
        c.list_repositories(page_size=1)


@pytest.mark.parametrize("items", ['"a string"', "42", "[1, 2]", '{"a": 1}'])
def test_tags_list_of_the_wrong_type(srv, items):
    srv.route("GET", "/v2/app/tags/list", lambda h: h.reply(200, f'{{"tags": {items}}}'.encode()))
    with client(srv) as c, pytest.raises(ImageSourceError, match="invalid tags list"):
        c.list_tags("app")


# -- huge and encoded documents --------------------------------------------------------------------

ENDLESS_JSON = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n"


def _bearer_challenge(srv):
    realm = f"http://{srv.host}/token"
    return json_reply({}, 401, **{"WWW-Authenticate": f'Bearer realm="{realm}",service="hostile"'})


@pytest.mark.parametrize("what", ["manifest", "token", "tags"])
def test_huge_answers_are_refused_while_streaming(srv, what):
    endless = lambda h: h.endless(ENDLESS_JSON, b" " * 65536, limit=512 << 20)  # noqa: E731
    if what == "token":
        srv.route("GET", "/v2/app/manifests/1", _bearer_challenge(srv))
        srv.route("GET", "/token", endless)
    else:
        srv.route("GET", "/v2/app/manifests/1" if what == "manifest" else "/v2/app/tags/list", endless)
    with client(srv) as c, pytest.raises(ImageSourceError, match="too large"):
        c.get_manifest("app", "1") if what != "tags" else c.list_tags("app")
    assert srv.endless_done.wait(10)
    assert srv.sent_bytes < 64 << 20, "the client read far past the limit before refusing"


@pytest.fixture(scope="module")
def bombs() -> dict[str, bytes]:
    zeros = b"\0" * (64 << 20)
    return {"gzip": gzip.compress(zeros, 9), "zstd": zstandard.ZstdCompressor(level=19).compress(zeros)}


@pytest.mark.parametrize("encoding", ["gzip", "zstd"])
@pytest.mark.parametrize("what", ["manifest", "token"])
def test_compression_bombs_are_refused_before_inflating(srv, bombs, encoding, what):
    bomb = lambda h: h.reply(200, bombs[encoding], {"Content-Encoding": encoding})  # noqa: E731
    if what == "token":
        srv.route("GET", "/v2/app/manifests/1", _bearer_challenge(srv))
        srv.route("GET", "/token", bomb)
    else:
        srv.route("GET", "/v2/app/manifests/1", bomb)
    with client(srv) as c, pytest.raises(ImageSourceError, match=f"{encoding}-encoded answer .* refused"):
        c.get_manifest("app", "1")
    assert all(r.headers.get("accept-encoding") == "identity" for r in srv.requests)


def test_an_encoded_blob_is_taken_as_sent_and_verified(srv):
    """Like Docker: blob bytes are never decoded, so the digest decides (and nothing inflates)."""
    blob = gzip.compress(b"layer bytes" * 100)
    digest = "sha256:" + hashlib.sha256(blob).hexdigest()
    srv.route("GET", f"/v2/app/blobs/{digest}", lambda h: h.reply(200, blob, {"Content-Encoding": "gzip"}))
    with client(srv) as c, c.open_blob("app", digest, len(blob)) as fh:
        assert fh.read() == blob


# -- where credentials and plain HTTP may go -------------------------------------------------------


def test_blob_redirect_to_storage_is_followed_without_credentials(srv, other):
    blob = b"blob from object storage"
    digest = "sha256:" + hashlib.sha256(blob).hexdigest()
    storage = f"http://{other.host}/storage/{digest}"
    srv.route(
        "GET", f"/v2/app/blobs/{digest}", require_basic(lambda h: h.reply(307, b"", {"Location": storage}))
    )
    other.route("GET", f"/storage/{digest}", lambda h: h.reply(200, blob))
    with client(srv, Credentials(USER, PASSWORD)) as c, c.open_blob("app", digest, len(blob)) as fh:
        assert fh.read() == blob
    assert any(r.headers.get("authorization") == BASIC for r in srv.requests)
    assert other.requests and all("authorization" not in r.headers for r in other.requests)


def test_redirect_leaving_loopback_over_plain_http_is_refused(srv, off_loopback):
    srv.route(
        "GET",
        f"/v2/app/blobs/{DIGEST}",
        lambda h: h.reply(307, b"", {"Location": f"http://{off_loopback.host}/x"}),
    )
    with client(srv) as c, pytest.raises(ImageSourceError, match="refusing plain-HTTP URL"):
        c.open_blob("app", DIGEST, 10).read()
    assert off_loopback.requests == []


def test_endless_redirects_are_cut(srv):
    srv.route("GET", "*", lambda h: h.reply(302, b"", {"Location": h.path + "x"}))
    with client(srv) as c, pytest.raises(ImageSourceError, match="more than 3 redirects"):
        c.get_manifest("app", "1")


def _upload_to(location: str):
    def handler(h):
        h.reply(202, b"", {"Location": location})

    return handler


def test_upload_location_leaving_loopback_over_plain_http_is_refused(srv, off_loopback):
    srv.route(
        "POST", "/v2/app/blobs/uploads/", require_basic(_upload_to(f"http://{off_loopback.host}/upload"))
    )
    with client(srv, Credentials(USER, PASSWORD)) as c, pytest.raises(ImageSourceError, match="plain-HTTP"):
        c.upload_blob("app", DIGEST, 3, b"abc")
    assert off_loopback.requests == []


def test_upload_location_that_disguises_another_host_gets_no_credentials(srv, other):
    """`http://REGISTRY@evil/` starts with the registry's URL but its host is `evil`."""
    srv.route(
        "POST", "/v2/app/blobs/uploads/", require_basic(_upload_to(f"http://{srv.host}@{other.host}/up"))
    )
    other.route("PUT", "/up", lambda h: h.reply(201))
    with client(srv, Credentials(USER, PASSWORD)) as c, pytest.raises(ImageSourceError, match="user info"):
        c.upload_blob("app", DIGEST, 3, b"abc")
    assert other.requests == []


def test_token_realm_redirected_to_another_host_gets_no_credentials(srv, other):
    srv.route("GET", "/v2/app/manifests/1", lambda h: (
        h.reply(200, b"{}") if h.headers.get("Authorization") == f"Bearer {TOKEN}"
        else _bearer_challenge(srv)(h)
    ))  # fmt: skip
    srv.route("GET", "/token", lambda h: h.reply(307, b"", {"Location": f"http://{other.host}/token"}))
    other.route("GET", "/token", json_reply({"token": TOKEN}))
    with client(srv, Credentials(USER, PASSWORD)) as c:
        assert c.get_manifest("app", "1")[0] == b"{}"
    assert any(r.path.startswith("/token") and r.headers.get("authorization") == BASIC for r in srv.requests)
    assert other.requests and all("authorization" not in r.headers for r in other.requests)


def test_token_realm_on_another_host_over_plain_http_is_refused(srv, off_loopback):
    realm = f"http://{off_loopback.host}/token"
    srv.route(
        "GET", "/v2/app/manifests/1", json_reply({}, 401, **{"WWW-Authenticate": f'Bearer realm="{realm}"'})
    )
    with (
        client(srv, Credentials(USER, PASSWORD)) as c,
        pytest.raises(ImageSourceError, match="HTTPS required"),
    ):
        c.get_manifest("app", "1")
    assert off_loopback.requests == []


def test_plain_http_realm_needs_insecure_even_on_loopback(srv):
    transport = Transport("registry.example.com", "https://registry.example.com", insecure=False, limits=FAST)
    auth = Authenticator("registry.example.com", Credentials(USER, PASSWORD))
    with pytest.raises(ImageSourceError, match="HTTPS required"):
        auth.authorize(f'Bearer realm="http://{srv.host}/token"', "repository:a:pull", transport)
    transport.close()
    assert srv.requests == []


def test_plain_http_registry_without_insecure_says_what_to_do(srv):
    srv.route("GET", "*", json_reply({}))
    with client(srv, insecure=False) as c, pytest.raises(ImageSourceError) as err:
        c.get_manifest("app", "1")
    assert str(err.value) == f"{srv.host} answers plain HTTP: use --insecure (loopback only) or TLS"


def test_registry_error_text_is_one_escaped_line(srv):
    srv.route(
        "GET",
        "/v2/app/manifests/1",
        json_reply({"errors": [{"code": "X", "message": "a\nb\x1b[31mred"}]}, 500),
    )
    with client(srv) as c, pytest.raises(ImageSourceError) as err:
        c.get_manifest("app", "1")
    assert "\n" not in str(err.value) and "\x1b" not in str(err.value)


WEIRD_LOCATIONS = ["javascript:alert(1)", "http://xn--/", "http://[::1", "file:///etc/passwd", "http://127.0.0.1:99999/",
                   "https://a@b@c/", "x" * 5000]  # fmt: skip


@pytest.mark.parametrize("location", WEIRD_LOCATIONS, ids=lambda v: v[:20])
def test_weird_redirect_and_upload_locations_are_one_clean_error(srv, location):
    srv.route("GET", "*", lambda h: h.reply(302, b"", {"Location": location}))
    srv.route("POST", "*", lambda h: h.reply(202, b"", {"Location": location}))
    with client(srv) as c:
        for call in (lambda: c.get_manifest("app", "1"), lambda: c.upload_blob("app", DIGEST, 3, b"abc")):
            with pytest.raises(ImageSourceError) as err:
                call()
            assert "\n" not in str(err.value) and len(str(err.value)) < 400


@pytest.mark.parametrize(
    "challenge",
    ["Bearer", 'Bearer realm="', 'Bearer realm="http://[::1"', 'Bearer realm="https://xn--/"',
     "Negotiate abc", 'Bearer realm="file:///etc/passwd"', 'Bearer realm="https://a@b/"',
     "Bearer " + 'realm="x",' * 2000],
    ids=lambda v: v[:20],
)  # fmt: skip
def test_weird_challenges_are_one_clean_error(srv, challenge):
    srv.route("GET", "*", lambda h: h.reply(401, b"{}", {"WWW-Authenticate": challenge}))
    with client(srv, Credentials(USER, PASSWORD)) as c, pytest.raises(ImageSourceError) as err:
        c.get_manifest("app", "1")
    assert "\n" not in str(err.value) and PASSWORD not in str(err.value)


@pytest.mark.parametrize("name", ["../../v2/other", "Upper", "a\u001b[31mred", "a b", "-lead", "x" * 300])
def test_listed_names_off_the_grammar_are_refused(srv, name):
    srv.route("GET", "/v2/app/tags/list", json_reply({"tags": [name.replace("/", "")]}))
    srv.route("GET", "/v2/_catalog", json_reply({"repositories": ["ok/repo", name]}))
    with client(srv) as c:
        with pytest.raises(ImageSourceError, match="invalid name"):
            c.list_repositories()
        if name not in ("Upper", "../../v2/other"):  # valid tags, invalid repository names
            with pytest.raises(ImageSourceError, match="invalid name"):
                c.list_tags("app")


@pytest.mark.parametrize(
    "content",
    ["[" * 100_000,
     '{"auths": {"h:1": {"auth": 5}}}',
     '{"auths": {"h:1": {"username": ["a"], "password": "b"}}}',
     '{"auths": {"h:1": {"auth": "' + "9" * 5000 + '"}}}',
     '{"credsStore": 5, "auths": {"h:1": {"auth": "@@"}}}',
     " " * (5 << 20)],
    ids=["nested", "auth-int", "user-list", "auth-junk", "auth-b64", "huge"],
)  # fmt: skip
def test_malformed_docker_config_is_one_clean_error(tmp_path, content):
    from keelwatch.oci.auth import load_docker_credentials

    (tmp_path / "config.json").write_text(content)
    with pytest.raises(ImageSourceError) as err:
        load_docker_credentials("h:1", tmp_path / "config.json")
    assert "\n" not in str(err.value) and str(tmp_path / "config.json") in str(err.value)


def test_docker_config_that_is_a_fifo_does_not_hang(tmp_path):
    from keelwatch.oci.auth import load_docker_credentials

    os.mkfifo(tmp_path / "config.json")
    with pytest.raises(ImageSourceError, match="not a regular file"):
        load_docker_credentials("h:1", tmp_path / "config.json")


def test_manifest_digest_header_is_validated_or_computed(srv):
    doc = b'{"schemaVersion": 2}'
    bad = {"Docker-Content-Digest": "sha256:../../x"}
    srv.route("HEAD", "/v2/app/manifests/bad", lambda h: h.reply(200, b"", bad))
    srv.route("HEAD", "/v2/app/manifests/none", lambda h: h.reply(200, b""))
    srv.route("GET", "/v2/app/manifests/none", lambda h: h.reply(200, doc))
    with client(srv) as c:
        with pytest.raises(ImageSourceError, match="invalid digest"):
            c.head_manifest("app", "bad")
        assert c.head_manifest("app", "none") == "sha256:" + hashlib.sha256(doc).hexdigest()


def test_plain_text_error_answers_are_shown(srv):
    """What Go's TLS server says to a plain-HTTP request (a registry used with --insecure by mistake)."""
    body = b"Client sent an HTTP request to an HTTPS server.\n"
    srv.route("GET", "*", lambda h: h.reply(400, body, {"Content-Type": "text/plain"}))
    with client(srv) as c, pytest.raises(ImageSourceError, match="HTTP 400: Client sent an HTTP request"):
        c.get_manifest("app", "1")


# -- settings --------------------------------------------------------------------------------------


def test_limits_from_settings():
    limits = RegistryLimits.from_mapping({"timeout": 5, "blob_timeout": 60.5})
    assert (limits.timeout, limits.blob_timeout, limits.read_timeout) == (
        5,
        60.5,
        RegistryLimits().read_timeout,
    )
    for bad in (
        {"timeout": "soon"},
        {"timeout": -1},
        {"timeout": True},
        {"max_redirects": 1.5},
        {"nope": 1},
        [],
    ):
        with pytest.raises(KeelwatchError, match=r"config.toml \[registry\]"):
            RegistryLimits.from_mapping(bad)


# -- the command line ------------------------------------------------------------------------------


def _keelwatch(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-c", "from keelwatch.cli import main; main()", *args]
    return subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, **(env or {})}, timeout=60)


def _one_line_error(run: subprocess.CompletedProcess[str]) -> str:
    assert run.returncode == 2, run.stderr
    assert "Traceback" not in run.stderr
    lines = [line for line in run.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), run.stderr
    return lines[0]


def _docker_config(tmp_path: Path, host: str) -> dict[str, str]:
    cfg = tmp_path / "docker"
    cfg.mkdir()
    (cfg / "config.json").write_text(json.dumps({"auths": {host: {"auth": BASIC.split(" ", 1)[1]}}}))
    return {"DOCKER_CONFIG": str(cfg)}


@pytest.mark.parametrize("scheme", ["basic", "bearer"])
def test_cli_error_never_shows_a_secret(srv, tmp_path, scheme):
    """The registry echoes the Authorization header it got in its error message."""

    def echo(h):
        auth = h.headers.get("Authorization", "")
        msg = f"denied for {auth} (user {USER}, password {PASSWORD}, token {TOKEN})"
        h.reply(403, json.dumps({"errors": [{"code": "DENIED", "message": msg}]}).encode())

    if scheme == "basic":
        srv.route("GET", "/v2/app/manifests/1", require_basic(echo))
    else:
        srv.route("GET", "/v2/app/manifests/1", lambda h: (
            echo(h) if h.headers.get("Authorization") else _bearer_challenge(srv)(h)
        ))  # fmt: skip
        srv.route("GET", "/token", require_basic(json_reply({"token": TOKEN})))
    run = _keelwatch("scan", f"{srv.host}/app:1", "--insecure", "--no-store", "--no-vulns", "-q",
                     env=_docker_config(tmp_path, srv.host))  # fmt: skip
    line = _one_line_error(run)
    assert "access denied" in line
    for secret in (PASSWORD, BASIC.split(" ", 1)[1], *([TOKEN] if scheme == "bearer" else [])):
        assert secret not in run.stderr and secret not in run.stdout


def test_cli_time_limit_from_settings(srv, keelwatch_home, tmp_path):
    keelwatch_home.mkdir(parents=True, exist_ok=True)
    (keelwatch_home / "config.toml").write_text("[registry]\ntimeout = 1\nread_timeout = 1\n")
    srv.route("GET", "/v2/app/manifests/1", _trickled_body)
    run = _keelwatch("scan", f"{srv.host}/app:1", "--insecure", "--no-store", "--no-vulns", "-q",
                     env={"DOCKER_CONFIG": str(tmp_path / "none")})  # fmt: skip
    assert "time limit" in _one_line_error(run)
    assert listened(srv) < 4
    (keelwatch_home / "config.toml").write_text('[registry]\ntimeout = "soon"\n')
    run = _keelwatch("scan", f"{srv.host}/app:1", "--insecure", "--no-store", "--no-vulns", "-q")
    assert "timeout must be a positive number" in _one_line_error(run)


def test_cli_plain_http_registry_without_insecure(srv, tmp_path):
    srv.route("GET", "*", json_reply({}))
    run = _keelwatch("scan", f"{srv.host}/app:1", "--no-store", "--no-vulns", "-q",
                     env={"DOCKER_CONFIG": str(tmp_path / "none")})  # fmt: skip
    assert (
        _one_line_error(run) == f"error: {srv.host} answers plain HTTP: use --insecure (loopback only) or TLS"
    )


def test_readme_documents_every_registry_limit():
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    block = readme.split("[registry]", 1)[1].split("```", 1)[0]
    documented = {line.split("=")[0].strip() for line in block.splitlines() if "=" in line}
    assert documented == {f.name for f in dataclasses.fields(RegistryLimits)}


def test_cli_registry_sync_with_a_looping_catalog(srv, tmp_path):
    srv.route("GET", "/v2/_catalog", _looping_pages("repositories", "/v2/_catalog"))
    env = {"DOCKER_CONFIG": str(tmp_path / "none")}
    run = _keelwatch("registry", "sync", srv.host, "--insecure", "-q", env=env)
    assert "pagination loops" in _one_line_error(run)


def test_cli_push_to_an_upload_location_off_loopback(srv, off_loopback, tmp_path):
    from imagebuilder import make_layer, write_oci_layout

    write_oci_layout(tmp_path / "img", [make_layer(images.real_entries())], tag="1")
    srv.route("HEAD", "*", lambda h: h.reply(404))
    srv.route("POST", "/v2/app/blobs/uploads/", _upload_to(f"http://{off_loopback.host}/upload"))
    run = _keelwatch("push", f"oci:{tmp_path / 'img'}:1", f"{srv.host}/app:1", "--insecure",
                     env={"DOCKER_CONFIG": str(tmp_path / "none")})  # fmt: skip
    assert "refusing plain-HTTP URL" in _one_line_error(run)
    assert off_loopback.requests == []
