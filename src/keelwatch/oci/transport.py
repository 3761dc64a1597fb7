"""HTTP for registries and token services, under rules that hold even when the server is hostile.

Every request keelwatch sends to a registry or a token realm goes through `Transport.send`:

- A TOTAL time limit per request (headers and body together), not just a per-read timeout: a
  server that trickles one byte every few seconds is cut at the deadline. The deadline is
  enforced inside httpcore's socket reads and writes (`_DeadlineBackend`), so it also holds
  while response headers arrive. Blob transfers get their own, longer limit.
- Plain HTTP only to a loopback host, and only when the user asked for it (`--insecure`);
  every redirect and upload `Location` is checked against the same rule.
- Redirects are followed here, not by httpx: `Authorization` goes only to the origin it was
  meant for (the registry, or the token realm it named); a blob redirect to object storage is
  followed without credentials.
- `Accept-Encoding: identity`, and bodies are read raw: a `Content-Encoding: gzip`/`zstd`
  answer can never inflate in memory. Documents (manifests, tokens, lists) that come encoded
  anyway are refused; blob bytes are taken as sent and digest-verified (as Docker does).
- Bodies are streamed with a cap; nothing is read unbounded.
- Error messages are one line, with server text escaped and every known secret redacted.

The limits come from `[registry]` in config.toml (see README "Configuration").
"""

from __future__ import annotations

import io
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, fields
from typing import Any

import httpcore
import httpx

from keelwatch import __name__ as _pkg
from keelwatch import termtext
from keelwatch.errors import ImageSourceError, KeelwatchError

LOOPBACK = {"localhost", "127.0.0.1", "::1"}
USER_AGENT = f"{_pkg}/0.1"
CHUNK = 1 << 16
REDIRECTS = (301, 302, 303, 307, 308)
BAD_URL = (httpx.InvalidURL, ValueError)  # what httpx raises on a URL it cannot use (UnicodeError too)

Content = bytes | Callable[[], Iterable[bytes]] | None


@dataclass(frozen=True)
class RegistryLimits:
    """Time limits (seconds) for registry traffic; `[registry]` in config.toml overrides them."""

    timeout: float = 60.0  # total for one request and its answer (manifest, token, tags page, ...)
    blob_timeout: float = 1800.0  # total for one blob download or upload
    connect_timeout: float = 10.0  # to open a connection (TCP and TLS)
    read_timeout: float = 30.0  # longest silence between two reads
    max_redirects: int = 5

    @classmethod
    def from_mapping(cls, raw: Any, where: str = "config.toml [registry]") -> RegistryLimits:
        """Validated limits from a settings table; a wrong key or type is one clear error."""
        if raw is None:
            return cls()
        if not isinstance(raw, Mapping):
            raise KeelwatchError(f"{where}: expected a table of settings")
        known = {f.name: f.type for f in fields(cls)}
        values: dict[str, Any] = {}
        for key, value in raw.items():
            if key not in known:
                raise KeelwatchError(f"{where}: unknown setting {key!r} (known: {', '.join(known)})")
            ok = isinstance(value, int | float) and not isinstance(value, bool)
            if not ok or not 0 < value <= 86400 or (key == "max_redirects" and not isinstance(value, int)):
                raise KeelwatchError(f"{where}: {key} must be a positive number of at most 86400")
            values[key] = value
        return cls(**values)


def configured_limits() -> RegistryLimits:
    """The limits of config.toml `[registry]`, defaults otherwise."""
    from keelwatch.config import load_settings

    return RegistryLimits.from_mapping(load_settings().raw.get("registry"))


# -- the deadline, enforced inside every socket operation ------------------------------------------

_DEADLINE: ContextVar[float | None] = ContextVar("keelwatch_http_deadline", default=None)


@contextmanager
def _until(deadline: float) -> Iterator[None]:
    token = _DEADLINE.set(deadline)
    try:
        yield
    finally:
        _DEADLINE.reset(token)


def _bounded(timeout: float | None, exc: type[Exception]) -> float | None:
    """`timeout`, shortened to what is left before the current request's deadline."""
    deadline = _DEADLINE.get()
    if deadline is None:
        return timeout
    left = deadline - time.monotonic()
    if left <= 0:
        raise exc("total time limit reached")
    return left if timeout is None else min(timeout, left)


class _DeadlineStream(httpcore.NetworkStream):
    def __init__(self, inner: httpcore.NetworkStream) -> None:
        self._inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, _bounded(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, _bounded(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(
        self, ssl_context: ssl.SSLContext, server_hostname: str | None = None, timeout: float | None = None
    ) -> httpcore.NetworkStream:
        tls = self._inner.start_tls(ssl_context, server_hostname, _bounded(timeout, httpcore.ConnectTimeout))
        return _DeadlineStream(tls)

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class _DeadlineBackend(httpcore.NetworkBackend):
    def __init__(self, inner: httpcore.NetworkBackend) -> None:
        self._inner = inner

    def connect_tcp(
        self, host: str, port: int, timeout: float | None = None, **kw: Any
    ) -> httpcore.NetworkStream:
        bounded = _bounded(timeout, httpcore.ConnectTimeout)
        return _DeadlineStream(self._inner.connect_tcp(host, port, bounded, **kw))

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, **kw: Any
    ) -> httpcore.NetworkStream:
        bounded = _bounded(timeout, httpcore.ConnectTimeout)
        return _DeadlineStream(self._inner.connect_unix_socket(path, bounded, **kw))

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


def _install_deadlines(client: httpx.Client) -> None:
    """Put the deadline backend under every transport of `client` (direct and proxy mounts).

    httpx does not let a caller choose httpcore's network backend, so this reaches into the
    pools it built; if that layout ever changes this fails loudly rather than run unbounded.
    """
    transports = [client._transport, *(t for t in client._mounts.values() if t is not None)]
    for transport in transports:
        pool = getattr(transport, "_pool", None)
        backend = getattr(pool, "_network_backend", None)
        if backend is None:
            raise RuntimeError("httpx internals changed: cannot enforce registry time limits")
        if not isinstance(backend, _DeadlineBackend):
            pool._network_backend = _DeadlineBackend(backend)  # type: ignore[union-attr]


def deadline_client(client: httpx.Client) -> httpx.Client:
    """`client` with every socket operation bounded by the deadline of `time_limit` (feeds use it too)."""
    _install_deadlines(client)
    return client


@contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    """Requests of a `deadline_client` inside this block end `seconds` from now, trickled or not."""
    with _until(time.monotonic() + seconds):
        yield


# -- messages --------------------------------------------------------------------------------------


def printable(text: str, limit: int = 200) -> str:
    """Server-provided text made safe for one terminal line (keelwatch.termtext), and cut short."""
    out = termtext.printable(text)
    return out if len(out) <= limit else out[:limit] + "…"


def hostname(url: httpx.URL) -> str:
    """The host as sent on the wire (IDNA-encoded): `url.host` decodes it and can raise."""
    return url.raw_host.decode("ascii", "replace").lower()


def origin(url: httpx.URL) -> tuple[str, str, int | None]:
    default = {"http": 80, "https": 443}.get(url.scheme)
    return url.scheme, hostname(url), url.port or default


def host_port(url: httpx.URL) -> str:
    host = hostname(url)
    host = f"[{host}]" if ":" in host else host
    return f"{host}:{url.port}" if url.port else host


# -- answers ---------------------------------------------------------------------------------------


class Answer:
    """A response whose body is still on the wire, read only raw, within its deadline and a cap."""

    def __init__(self, transport: Transport, response: httpx.Response, deadline: float, what: str) -> None:
        self.transport = transport
        self.response = response
        self.deadline = deadline
        self.what = what

    @property
    def status_code(self) -> int:
        return self.response.status_code

    @property
    def headers(self) -> httpx.Headers:
        return self.response.headers

    @property
    def url(self) -> httpx.URL:
        return self.response.url

    def next_link(self) -> str | None:
        try:
            return self.response.links.get("next", {}).get("url")
        except (ValueError, AttributeError):
            return None

    def close(self) -> None:
        self.response.close()

    def chunks(self) -> Iterator[bytes]:
        """The raw body, chunk by chunk; transport failures and the deadline become one-line errors."""
        raw = self.response.iter_raw()
        try:
            while True:
                with _until(self.deadline):
                    try:
                        chunk = next(raw)
                    except StopIteration:
                        return
                    except httpx.TimeoutException:
                        raise self.transport.timed_out(self.response.url, self.what) from None
                    except (httpx.HTTPError, httpx.StreamError) as exc:
                        raise ImageSourceError(
                            f"{self.what}: download interrupted: {self.transport.redact(str(exc))}"
                        ) from None
                yield chunk
        finally:
            self.response.close()

    def _refuse_encoded(self) -> None:
        encoding = self.headers.get("Content-Encoding", "").strip().lower()
        if encoding not in ("", "identity"):
            self.close()
            raise ImageSourceError(
                f"{self.what}: the server sent a {printable(encoding, 40)}-encoded answer although "
                "keelwatch asked for identity; refused (it could inflate without bound)"
            )

    def read(self, limit: int, what: str | None = None) -> bytes:
        """The whole body of a document (manifest, token, list), refused beyond `limit` bytes."""
        if what:
            self.what = what
        self._refuse_encoded()
        length = self.headers.get("Content-Length", "")
        if length.isdigit() and int(length) > limit:
            self.close()
            raise ImageSourceError(f"{self.what} is too large ({length} bytes, limit {limit})")
        data = bytearray()
        for chunk in self.chunks():
            data += chunk
            if len(data) > limit:
                self.close()
                raise ImageSourceError(f"{self.what} is too large (over {limit} bytes)")
        return bytes(data)

    def stream(self) -> io.RawIOBase:
        """A file-like view of a blob's raw bytes (any Content-Encoding is ignored: the digest decides)."""
        return _AnswerStream(self)

    def error_detail(self) -> str:
        """The registry's error code and message (at most 64 KiB read); else the first line of a
        plain-text answer (e.g. "Client sent an HTTP request to an HTTPS server."); else the status."""
        from keelwatch.oci.schema import load_json

        status = f"HTTP {self.status_code}"
        try:
            body = self.read(65536)
        except KeelwatchError:
            return status
        try:
            doc = load_json(body, "error answer", limit=65536)
        except KeelwatchError:
            line = body.decode("utf-8", "replace").strip().split("\n", 1)[0]
            if not line or line.startswith("<"):  # nothing, or an HTML page
                return status
            return f"{status}: {self.transport.redact(printable(line, 120))}"
        errors = doc.get("errors") if isinstance(doc, dict) else None
        if isinstance(errors, list) and errors and isinstance(errors[0], dict):
            code, message = errors[0].get("code", ""), errors[0].get("message", "")
            text = f"{code}: {message}".strip(": ")
            return self.transport.redact(printable(text)) or status
        return status


class _AnswerStream(io.RawIOBase):
    def __init__(self, answer: Answer) -> None:
        super().__init__()
        self._answer = answer
        self._chunks = answer.chunks()
        self._buf = b""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        """Fill `buffer` from the body (short only at the end); `read(n)` comes from RawIOBase."""
        filled = 0
        while filled < len(buffer):
            if not self._buf:
                self._buf = next(self._chunks, b"")
                if not self._buf:
                    break
            n = min(len(buffer) - filled, len(self._buf))
            buffer[filled : filled + n] = self._buf[:n]
            self._buf = self._buf[n:]
            filled += n
        return filled

    def close(self) -> None:
        if not self.closed:
            self._answer.close()
        super().close()


# -- the transport ---------------------------------------------------------------------------------


class Transport:
    """One connection pool under the rules above; `name` is the registry shown in messages, `base`
    its API root."""

    def __init__(self, name: str, base: str, *, insecure: bool, limits: RegistryLimits) -> None:
        self.name = name
        self.base = httpx.URL(base)
        self.insecure = insecure
        self.limits = limits
        self._secrets: set[str] = set()
        self._lock = threading.Lock()
        self._client = httpx.Client(
            follow_redirects=False,
            timeout=httpx.Timeout(limits.read_timeout, connect=limits.connect_timeout),
            headers={"User-Agent": USER_AGENT, "Accept-Encoding": "identity"},
        )
        _install_deadlines(self._client)

    def close(self) -> None:
        self._client.close()

    def add_secret(self, *secrets: str) -> None:
        """Strings that must never appear in a message (passwords, tokens, auth headers)."""
        with self._lock:  # registry sync sends HEADs from several threads
            for secret in secrets:
                if secret and len(secret) >= 4:
                    self._secrets.add(secret)
                    if " " in secret:  # "Basic xxx" / "Bearer xxx": the credential alone too
                        self._secrets.add(secret.split(" ", 1)[1])

    def redact(self, text: str) -> str:
        with self._lock:
            secrets = sorted(self._secrets, key=len, reverse=True)
        for secret in secrets:
            text = text.replace(secret, "***")
        return text

    def check_url(self, url: httpx.URL, what: str) -> None:
        """HTTPS anywhere; plain HTTP only to loopback, only with --insecure; never user info
        (`http://REGISTRY@other/` looks like the registry but is `other`, and httpx would send it)."""
        if url.userinfo:
            raise ImageSourceError(f"{what}: refusing a URL with user info (host {host_port(url)})")
        if url.scheme == "https":
            return
        if url.scheme == "http" and hostname(url) in LOOPBACK and self.insecure:
            return
        shown = printable(str(url.copy_with(query=None)), 120)
        if url.scheme == "http":
            raise ImageSourceError(
                f"{what}: refusing plain-HTTP URL {shown} (plain HTTP only to a loopback registry "
                "with --insecure)"
            )
        raise ImageSourceError(f"{what}: refusing URL {shown} (only https is allowed)")

    def timed_out(self, url: httpx.URL, what: str) -> ImageSourceError:
        return ImageSourceError(
            f"{what}: {host_port(url)} gave no complete answer within the time limit "
            f"(see [registry] timeouts in config.toml)"
        )

    def send(
        self,
        method: str,
        url: str | httpx.URL,
        *,
        what: str,
        headers: Mapping[str, str] | None = None,
        params: Mapping[str, str] | None = None,
        content: Content = None,
        authorization: str | None = None,
        auth_origin: str | httpx.URL | None = None,
        blob: bool = False,
    ) -> Answer:
        """Send one request, following redirects by the rules above; the body is left to read."""
        limit = self.limits.blob_timeout if blob else self.limits.timeout
        deadline = time.monotonic() + limit
        try:
            target = httpx.URL(url, params=params) if params else httpx.URL(url)
        except BAD_URL:
            raise ImageSourceError(f"{what}: invalid URL {printable(str(url), 120)}") from None
        allowed = origin(httpx.URL(auth_origin)) if auth_origin is not None else None
        for _ in range(self.limits.max_redirects + 1):
            self.check_url(target, what)
            hdrs = dict(headers or {})
            if authorization and origin(target) == allowed:
                hdrs["Authorization"] = authorization
            body = content() if callable(content) else content
            try:
                request = self._client.build_request(method, target, headers=hdrs, content=body)
            except BAD_URL:
                raise ImageSourceError(f"{what}: invalid URL {printable(str(target), 120)}") from None
            with _until(deadline):
                try:
                    response = self._client.send(request, stream=True)
                except httpx.TimeoutException:
                    raise self.timed_out(target, what) from None
                except httpx.ConnectError as exc:
                    raise self._connect_error(target, exc, what) from None
                except BAD_URL:  # httpx parses a redirect's Location even when not following it
                    raise ImageSourceError(f"{what}: {host_port(target)} sent an invalid redirect") from None
                except (httpx.HTTPError, httpx.StreamError) as exc:
                    raise ImageSourceError(
                        f"{what}: {host_port(target)} failed: {self.redact(printable(str(exc)))}"
                    ) from None
            location = response.headers.get("Location")
            if response.status_code not in REDIRECTS or not location:
                return Answer(self, response, deadline, what)
            response.close()
            try:
                target = target.join(location)
            except BAD_URL:
                raise ImageSourceError(f"{what}: invalid redirect {printable(location, 120)}") from None
            status = response.status_code
            if method not in ("GET", "HEAD") and status in (301, 302, 303):
                method, content = "GET", None  # as browsers do; 307 and 308 keep method and body
        raise ImageSourceError(f"{what}: more than {self.limits.max_redirects} redirects")

    def _connect_error(self, url: httpx.URL, exc: Exception, what: str) -> ImageSourceError:
        cause: BaseException | None = exc
        while cause is not None and not isinstance(cause, ssl.SSLError):
            cause = cause.__cause__ or cause.__context__
        if cause is not None and self._speaks_plain_http(url):
            return ImageSourceError(
                f"{host_port(url)} answers plain HTTP: use --insecure (loopback only) or TLS"
            )
        detail = self.redact(printable(str(exc)))
        if origin(url) == origin(self.base):
            return ImageSourceError(f"cannot reach registry {self.name}: {detail}")
        return ImageSourceError(f"{what}: cannot reach {host_port(url)}: {detail}")

    def _speaks_plain_http(self, url: httpx.URL) -> bool:
        """After a failed TLS handshake: does the server answer a plain HTTP request instead?"""
        timeout = min(self.limits.connect_timeout, 5.0)
        try:
            with socket.create_connection((hostname(url), url.port or 443), timeout=timeout) as sock:
                sock.settimeout(timeout)
                sock.sendall(f"HEAD /v2/ HTTP/1.0\r\nHost: {host_port(url)}\r\n\r\n".encode())
                return sock.recv(5) == b"HTTP/"
        except OSError:
            return False
