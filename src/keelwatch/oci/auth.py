"""Registry credentials and the two auth schemes of the Distribution API: Basic and Bearer.

Credentials come from explicit arguments or Docker's `config.json` (`$DOCKER_CONFIG/config.json`,
else `~/.docker/config.json`): a credential helper named by `credHelpers.<host>` or
`credsStore` (`docker-credential-NAME get`, when installed), else `auths.<host>.auth`
(base64 `user:password`). Bearer tokens follow the Docker token
protocol: the registry's `WWW-Authenticate: Bearer realm=…,service=…,scope=…` challenge
tells us where to GET a token (with Basic credentials when we have them, sent only to the
realm's own origin over HTTPS); tokens are cached per (realm, service, scope) until they expire.
The HTTP rules (time limits, redirects, capped answers) are keelwatch.oci.transport's.
"""

from __future__ import annotations

import base64
import math
import os
import re
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from keelwatch.errors import ImageSourceError
from keelwatch.oci.safefile import read_regular
from keelwatch.oci.schema import load_json
from keelwatch.oci.transport import BAD_URL, LOOPBACK, Transport, hostname, printable

_HUB_KEYS = ("https://index.docker.io/v1/", "index.docker.io", "docker.io", "registry-1.docker.io")
_PARAM = re.compile(r'([A-Za-z0-9_-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]*))')
TOKEN_LIMIT = 1 << 20
DOCKER_CONFIG_LIMIT = 4 << 20


@dataclass(frozen=True)
class Credentials:
    username: str
    password: str

    def basic_header(self) -> str:
        raw = f"{self.username}:{self.password}".encode()
        return "Basic " + base64.b64encode(raw).decode()


def docker_config_path() -> Path:
    base = os.environ.get("DOCKER_CONFIG")
    return Path(base) / "config.json" if base else Path.home() / ".docker" / "config.json"


def _host_of(key: str) -> str:
    if "://" in key:
        key = urlsplit(key).netloc
    return key.split("/", 1)[0].lower()


def load_docker_credentials(registry: str, config_path: Path | None = None) -> Credentials | None:
    """Credentials for `registry` (host[:port]) from Docker's config.json, if any."""
    path = config_path or docker_config_path()
    if not os.path.lexists(path):
        return None
    try:
        # A user's file, but still bounded: a FIFO, a huge or deeply nested file is one error line.
        doc = load_json(read_regular(path, DOCKER_CONFIG_LIMIT, str(path), follow=True), str(path))
    except ImageSourceError as exc:
        raise ImageSourceError(f"cannot read Docker credentials: {exc}") from None
    if not isinstance(doc, dict):
        return None
    wanted = {registry.lower()}
    if registry.lower() in _HUB_KEYS:
        wanted |= set(_HUB_KEYS)
    helpers = doc.get("credHelpers") if isinstance(doc.get("credHelpers"), dict) else {}
    helper = next((str(v) for k, v in helpers.items() if _host_of(k) in wanted), None) or doc.get(
        "credsStore"
    )
    if isinstance(helper, str) and helper:
        server = "https://index.docker.io/v1/" if registry.lower() in _HUB_KEYS else registry
        found = _from_helper(helper, server)
        if found is not None:
            return found
    auths = doc.get("auths")
    if not isinstance(auths, dict):
        return None
    for key, entry in auths.items():
        if (_host_of(key) not in wanted and key not in wanted) or not isinstance(entry, dict):
            continue
        if entry.get("auth"):
            try:
                if not isinstance(entry["auth"], str):
                    raise ValueError
                user, sep, password = base64.b64decode(entry["auth"]).decode().partition(":")
            except (ValueError, UnicodeDecodeError):
                raise ImageSourceError(f"{path}: invalid auth entry for {printable(key, 80)}") from None
            if not sep:
                shown = printable(key, 80)
                raise ImageSourceError(f"{path}: invalid auth entry for {shown} (expected user:password)")
            return Credentials(user, password)
        user, password = entry.get("username"), entry.get("password")
        if user and password:
            if not isinstance(user, str) or not isinstance(password, str):
                raise ImageSourceError(f"{path}: invalid username/password entry for {printable(key, 80)}")
            return Credentials(user, password)
    return None


def _from_helper(name: str, server: str) -> Credentials | None:
    """Ask `docker-credential-NAME get` (the Docker credential helper protocol); None if it has none."""
    if not re.fullmatch(r"[A-Za-z0-9_.-]+", name):
        raise ImageSourceError(f"invalid credential helper name {name!r} in Docker config")
    binary = shutil.which(f"docker-credential-{name}")
    if binary is None:
        return None
    try:
        proc = subprocess.run(
            [binary, "get"], input=server.encode(), capture_output=True, timeout=30, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ImageSourceError(f"credential helper docker-credential-{name} failed: {exc}") from None
    if proc.returncode != 0:
        return None  # "credentials not found in native keychain" and the like
    try:
        doc = load_json(proc.stdout, "credential helper answer", limit=TOKEN_LIMIT)
        user, secret = doc["Username"], doc["Secret"]
    except (ImageSourceError, KeyError, TypeError):
        raise ImageSourceError(f"credential helper docker-credential-{name} returned invalid JSON") from None
    if not isinstance(user, str) or not isinstance(secret, str):
        raise ImageSourceError(f"credential helper docker-credential-{name} returned invalid JSON")
    # Helpers return the user "<token>" for identity tokens; those need OAuth2, which we don't speak.
    return Credentials(user, secret) if user != "<token>" else None


def parse_challenge(header: str) -> tuple[str, dict[str, str]]:
    """`Bearer realm="…",service="…",scope="…"` -> ("bearer", {realm, service, scope})."""
    scheme, _, rest = header.strip().partition(" ")
    params = {
        m.group(1).lower(): (m.group(2) if m.group(2) is not None else m.group(3))
        for m in _PARAM.finditer(rest)
    }
    return scheme.lower(), {k: v.replace('\\"', '"') for k, v in params.items()}


@dataclass
class Authenticator:
    """Answers 401 challenges for one registry; caches bearer tokens per scope."""

    registry: str
    credentials: Credentials | None = None
    _tokens: dict[tuple[str, str, str], tuple[str, float]] = field(default_factory=dict)
    _by_scope: dict[str, tuple[str, float]] = field(default_factory=dict)

    def cached(self, scope: str) -> str | None:
        """The header that last answered a challenge for requests of `scope`, while valid."""
        hit = self._by_scope.get(scope)
        return hit[0] if hit and hit[1] > time.monotonic() else None

    def authorize(self, challenge: str, scope: str, transport: Transport, what: str = "") -> str:
        """The Authorization header value answering `challenge` for a request needing `scope`."""
        value, expiry = self._answer(challenge, scope, transport, what or self.registry)
        self._by_scope[scope] = (value, expiry)
        return value

    def _answer(self, challenge: str, scope: str, transport: Transport, what: str) -> tuple[str, float]:
        scheme, params = parse_challenge(challenge)
        if scheme == "basic":
            if self.credentials is None:
                raise ImageSourceError(f"authentication required for {what} (no credentials found)")
            return self.credentials.basic_header(), float("inf")
        if scheme != "bearer" or not params.get("realm"):
            raise ImageSourceError(
                f"{self.registry}: unsupported authentication challenge {printable(challenge, 80)!r}"
            )
        realm, service = params["realm"], params.get("service", "")
        scope = params.get("scope") or scope
        key = (realm, service, scope)
        hit = self._tokens.get(key)
        if not hit or hit[1] <= time.monotonic():
            token, ttl = self._fetch_token(realm, service, scope, transport)
            transport.add_secret(token)
            # Refresh a little early so a token never expires mid-request.
            hit = self._tokens[key] = (token, time.monotonic() + max(ttl - 10, 1))
        return f"Bearer {hit[0]}", hit[1]

    def _fetch_token(self, realm: str, service: str, scope: str, transport: Transport) -> tuple[str, float]:
        """GET a token from the realm the registry named: HTTPS (plain HTTP only on loopback with
        --insecure), Basic credentials only to the realm's own origin, the answer capped."""
        shown = printable(realm, 120)
        try:
            url = httpx.URL(realm)
        except BAD_URL:
            raise ImageSourceError(f"{self.registry}: invalid token realm {shown!r}") from None
        if url.scheme != "https" and not (
            url.scheme == "http" and hostname(url) in LOOPBACK and transport.insecure
        ):
            raise ImageSourceError(f"{self.registry}: refusing token realm {shown!r} (HTTPS required)")
        query = {"service": service} if service else {}
        if scope:
            query["scope"] = scope
        basic = self.credentials.basic_header() if self.credentials else None
        what = f"{self.registry}: token service {shown}"
        resp = transport.send("GET", url, what=what, params=query, authorization=basic, auth_origin=url)
        if resp.status_code in (401, 403):
            resp.close()
            who = f"as {printable(self.credentials.username, 80)}" if self.credentials else "anonymously"
            raise ImageSourceError(
                f"authentication failed for {self.registry} ({who}): token service refused"
            )
        if resp.status_code != 200:
            resp.close()
            raise ImageSourceError(f"{what} answered HTTP {resp.status_code}")
        data = resp.read(TOKEN_LIMIT, f"{self.registry}: token answer")
        try:
            doc = load_json(data, "token answer", limit=TOKEN_LIMIT)
            token = doc.get("token") or doc.get("access_token")
            ttl = float(doc.get("expires_in") or 60)
        except (ImageSourceError, ValueError, AttributeError, TypeError, OverflowError):
            raise ImageSourceError(f"{self.registry}: token service returned invalid JSON") from None
        if not isinstance(token, str) or not token or len(token) > TOKEN_LIMIT:
            raise ImageSourceError(f"{self.registry}: token service returned no token")
        if not token.isascii() or not token.isprintable():
            raise ImageSourceError(f"{self.registry}: token service returned an invalid token")
        ttl = ttl if math.isfinite(ttl) else 60.0
        return token, min(max(ttl, 1.0), 86400.0)
