"""Start the real CNCF Distribution registry (`docker-registry`) for tests, in three auth modes.

    reg = start_registry(tmp_path)                                   # no auth
    reg = start_registry(tmp_path, auth="htpasswd", users={"alice": "s3cret"})
    reg = start_registry(tmp_path, auth="token", users={"alice": "s3cret"})
    ...
    reg.stop()

Each registry listens on a free 127.0.0.1 port with filesystem storage under `root`
and deletes enabled. htpasswd entries are bcrypt hashes made with the system's
libcrypt (libxcrypt), the format Distribution accepts. Token mode runs a small
threaded token issuer implementing the Docker token protocol: it checks Basic
credentials, grants the requested actions to known users (nothing to anonymous
callers) and signs RS256 JWTs with a throwaway key made by `openssl`; the JWT carries
the certificate in its `x5c` header, and the registry trusts that certificate as its
`rootcertbundle`. In CI (`CI=true`) a missing binary fails instead of skipping.

Other test packages load this file by path (see tests/oci/conftest.py) and reuse
`start_registry`, `Registry` and `require_registry_binary`.
"""

from __future__ import annotations

import base64
import ctypes
import ctypes.util
import http.server
import json
import os
import shutil
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

REGISTRY_BIN = (
    os.environ.get("KEELWATCH_REGISTRY_BIN") or shutil.which("docker-registry") or "/usr/bin/docker-registry"
)
SERVICE = "keelwatch-test-registry"
ISSUER = "keelwatch-test-issuer"


def require_registry_binary() -> str:
    """The registry binary path; skips locally, fails in CI, when it is missing."""
    if not (os.path.isfile(REGISTRY_BIN) and os.access(REGISTRY_BIN, os.X_OK)):
        msg = f"CNCF Distribution registry not found at {REGISTRY_BIN} (apt-get install docker-registry)"
        if os.environ.get("CI") == "true":
            pytest.fail(msg)
        pytest.skip(msg)
    return REGISTRY_BIN


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def bcrypt_hash(password: str, rounds: int = 5) -> str:
    """A bcrypt ($2y$) hash from the system libcrypt; what Distribution's htpasswd auth reads."""
    lib = ctypes.CDLL(ctypes.util.find_library("crypt") or "libcrypt.so.1")
    lib.crypt_gensalt.restype = ctypes.c_char_p
    lib.crypt_gensalt.argtypes = [ctypes.c_char_p, ctypes.c_ulong, ctypes.c_char_p, ctypes.c_int]
    lib.crypt.restype = ctypes.c_char_p
    lib.crypt.argtypes = [ctypes.c_char_p, ctypes.c_char_p]
    salt = lib.crypt_gensalt(b"$2y$", rounds, None, 0)
    out = lib.crypt(password.encode(), salt) if salt else None
    if not out or not out.startswith(b"$2"):
        raise RuntimeError("libcrypt cannot make bcrypt hashes")
    return out.decode()


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class TokenIssuer:
    """A Docker-token-protocol issuer: GET /token?service=…&scope=… with optional Basic auth."""

    def __init__(self, workdir: Path, users: dict[str, str]) -> None:
        self.users = dict(users)
        self.key = workdir / "token.key"
        self.cert = workdir / "token.crt"
        subprocess.run(
            ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(self.key),
             "-out", str(self.cert), "-days", "2", "-subj", "/CN=keelwatch-test-issuer"],
            check=True, capture_output=True,
        )  # fmt: skip
        der = subprocess.run(
            ["openssl", "x509", "-in", str(self.cert), "-outform", "DER"], check=True, capture_output=True
        ).stdout
        self._x5c = base64.b64encode(der).decode()
        self.requests: list[dict[str, Any]] = []
        issuer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server API
                issuer._handle(self)

            def log_message(self, *args: object) -> None:
                return None

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self.realm = f"http://127.0.0.1:{self.port}/token"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def sign(self, claims: dict[str, Any]) -> str:
        header = {"typ": "JWT", "alg": "RS256", "x5c": [self._x5c]}
        signing_input = f"{_b64url(json.dumps(header).encode())}.{_b64url(json.dumps(claims).encode())}"
        sig = subprocess.run(
            ["openssl", "dgst", "-sha256", "-sign", str(self.key)],
            input=signing_input.encode(), check=True, capture_output=True,
        ).stdout  # fmt: skip
        return f"{signing_input}.{_b64url(sig)}"

    def _user(self, handler: http.server.BaseHTTPRequestHandler) -> str | None | bool:
        """The authenticated user, None for anonymous, False for bad credentials."""
        header = handler.headers.get("Authorization", "")
        if not header.startswith("Basic "):
            return None
        try:
            user, _, password = base64.b64decode(header[6:]).decode().partition(":")
        except ValueError:
            return False
        return user if self.users.get(user) == password else False

    def _handle(self, handler: http.server.BaseHTTPRequestHandler) -> None:
        url = urlsplit(handler.path)
        query = parse_qs(url.query)
        user = self._user(handler)
        self.requests.append({"path": url.path, "query": query, "user": user})
        if url.path != "/token" or user is False:
            handler.send_response(401 if user is False else 404)
            handler.send_header("Content-Length", "0")
            handler.end_headers()
            return
        access = []
        for scope in query.get("scope", []):
            for item in scope.split(" "):
                parts = item.split(":")
                if len(parts) < 3:
                    continue
                kind, name, actions = parts[0], ":".join(parts[1:-1]), parts[-1]
                granted = actions.split(",") if user else []
                if kind == "registry":
                    granted = ["*"] if user else []
                access.append({"type": kind, "name": name, "actions": granted})
        now = int(time.time())
        claims = {
            "iss": ISSUER,
            "sub": user or "",
            "aud": query.get("service", [""])[0],
            "exp": now + 300,
            "nbf": now - 10,
            "iat": now,
            "jti": uuid.uuid4().hex,
            "access": access,
        }
        token = self.sign(claims)
        body = json.dumps({"token": token, "access_token": token, "expires_in": 300}).encode()
        handler.send_response(200)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@dataclass
class Registry:
    """A running registry. `host` is `127.0.0.1:PORT`; `ref(repo, tag)` builds references."""

    host: str
    root: Path
    auth: str | None
    users: dict[str, str]
    process: subprocess.Popen[bytes]
    issuer: TokenIssuer | None = None
    log: Path | None = None
    _stopped: bool = field(default=False, repr=False)

    @property
    def url(self) -> str:
        return f"http://{self.host}"

    def ref(self, repo: str, tag: str = "latest") -> str:
        return f"{self.host}/{repo}:{tag}"

    def docker_config(self, directory: Path, user: str, password: str) -> Path:
        """Write a Docker config.json with credentials for this registry; returns the directory."""
        directory.mkdir(parents=True, exist_ok=True)
        auth = base64.b64encode(f"{user}:{password}".encode()).decode()
        (directory / "config.json").write_text(json.dumps({"auths": {self.host: {"auth": auth}}}))
        return directory

    def stop(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)
        if self.issuer:
            self.issuer.stop()

    def __enter__(self) -> Registry:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _config(
    root: Path, port: int, auth: str | None, users: dict[str, str], issuer: TokenIssuer | None
) -> str:
    lines = [
        "version: 0.1",
        "log:",
        "  level: error",
        "  accesslog:",
        "    disabled: true",
        "storage:",
        "  filesystem:",
        f"    rootdirectory: {root / 'data'}",
        "  delete:",
        "    enabled: true",
        "  maintenance:",
        "    uploadpurging:",
        "      enabled: false",
        "http:",
        f"  addr: 127.0.0.1:{port}",
        f"  secret: {uuid.uuid4().hex}",
    ]
    if auth == "htpasswd":
        htpasswd = root / "htpasswd"
        htpasswd.write_text("".join(f"{u}:{bcrypt_hash(p)}\n" for u, p in users.items()))
        lines += ["auth:", "  htpasswd:", "    realm: keelwatch-test", f"    path: {htpasswd}"]
    elif auth == "token":
        assert issuer is not None
        lines += [
            "auth:",
            "  token:",
            f"    realm: {issuer.realm}",
            f"    service: {SERVICE}",
            f"    issuer: {ISSUER}",
            f"    rootcertbundle: {issuer.cert}",
        ]
    elif auth is not None:
        raise ValueError(f"unknown auth mode {auth!r} (None, 'htpasswd' or 'token')")
    return "\n".join(lines) + "\n"


def _wait_ready(reg: Registry, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if reg.process.poll() is not None:
            log = reg.log.read_text() if reg.log and reg.log.exists() else ""
            raise RuntimeError(f"registry exited with {reg.process.returncode}: {log[-2000:]}")
        try:
            with urllib.request.urlopen(f"{reg.url}/v2/", timeout=1):
                return
        except urllib.error.HTTPError as exc:
            if exc.code == 401:
                return
        except OSError:
            pass
        time.sleep(0.05)
    reg.stop()
    raise RuntimeError(f"registry on {reg.host} not ready after {timeout}s")


def start_registry(
    root: Path,
    *,
    auth: str | None = None,
    users: dict[str, str] | None = None,
    timeout: float = 20.0,
) -> Registry:
    """Start a registry under `root` (storage, config, log); the caller stops it."""
    binary = require_registry_binary()
    root.mkdir(parents=True, exist_ok=True)
    users = dict(users or ({"alice": "wonderland"} if auth else {}))
    issuer = TokenIssuer(root, users) if auth == "token" else None
    last: Exception | None = None
    for _ in range(3):  # a port taken between free_port() and bind is retried
        port = free_port()
        config = root / "config.yml"
        config.write_text(_config(root, port, auth, users, issuer))
        log = root / "registry.log"
        with log.open("ab") as fh:
            proc = subprocess.Popen([binary, "serve", str(config)], stdout=fh, stderr=subprocess.STDOUT)
        reg = Registry(f"127.0.0.1:{port}", root, auth, users, proc, issuer, log)
        try:
            _wait_ready(reg, timeout)
            return reg
        except RuntimeError as exc:
            last = exc
            reg.issuer = None
            reg.stop()
    if issuer:
        issuer.stop()
    raise RuntimeError(f"cannot start registry: {last}")


# -- pytest fixtures (re-exported by tests/oci/conftest.py) ----------------------------------


@pytest.fixture(scope="session")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Registry]:
    """A registry without auth, shared by the session (use distinct repository names per test)."""
    reg = start_registry(tmp_path_factory.mktemp("registry"))
    yield reg
    reg.stop()


@pytest.fixture(scope="session")
def basic_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Registry]:
    """A registry with htpasswd (bcrypt) Basic auth; user alice / wonderland."""
    reg = start_registry(tmp_path_factory.mktemp("registry-basic"), auth="htpasswd")
    yield reg
    reg.stop()


@pytest.fixture(scope="session")
def token_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Registry]:
    """A registry with Bearer token auth from a test token issuer; user alice / wonderland."""
    reg = start_registry(tmp_path_factory.mktemp("registry-token"), auth="token")
    yield reg
    reg.stop()


@pytest.fixture
def registry_factory(tmp_path: Path) -> Iterator[Callable[..., Registry]]:
    """Start extra registries in a test: `registry_factory(auth="htpasswd", users={...})`."""
    started: list[Registry] = []

    def make(**kw: object) -> Registry:
        reg = start_registry(tmp_path / f"registry-{len(started)}", **kw)  # type: ignore[arg-type]
        started.append(reg)
        return reg

    yield make
    for reg in started:
        reg.stop()
