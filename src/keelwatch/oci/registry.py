"""A client for the OCI Distribution API v2 (pull, push, tags, catalog) over httpx.

HTTPS always, except with `insecure=True` for a registry on a loopback host
(localhost, 127.0.0.1, ::1), where plain HTTP is used: keelwatch never sends
credentials or trusts content over plain HTTP to another machine. Auth is
anonymous, Basic or Bearer token (keelwatch.oci.auth), answered on the first 401
and cached per scope. Manifests are capped at 4 MiB and every blob and manifest is
digest-verified. Errors are one line: "authentication required for HOST/REPO",
"manifest unknown: REF", "cannot reach registry HOST: …".
"""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Callable, Iterable, Iterator
from typing import Any, BinaryIO
from urllib.parse import urljoin

import httpx

from keelwatch import __name__ as _pkg
from keelwatch.errors import DigestMismatchError, ImageSourceError
from keelwatch.oci.auth import LOOPBACK, Authenticator, Credentials, load_docker_credentials
from keelwatch.oci.image import (
    DEFAULT_PLATFORM,
    MT_DOCKER_LIST,
    MT_DOCKER_MANIFEST,
    MT_OCI_INDEX,
    MT_OCI_MANIFEST,
    Image,
)
from keelwatch.oci.reference import Reference, parse_registry_reference
from keelwatch.oci.resolve import MANIFEST_LIMIT, image_from_descriptor
from keelwatch.oci.verify import VerifyingReader, parse_digest, read_verified, verify_bytes

MANIFEST_ACCEPT = ", ".join([MT_OCI_MANIFEST, MT_OCI_INDEX, MT_DOCKER_MANIFEST, MT_DOCKER_LIST])
LIST_LIMIT = 16 << 20
MAX_PAGES = 10_000
CHUNK = 1 << 16
USER_AGENT = f"{_pkg}/0.1"

Content = bytes | Callable[[], Iterable[bytes]] | None


class _ResponseStream(io.RawIOBase):
    """A file-like view of a streaming httpx response body (decoded per Content-Encoding)."""

    def __init__(self, response: httpx.Response) -> None:
        super().__init__()
        self._response = response
        self._chunks: Iterator[bytes] = response.iter_bytes(CHUNK)
        self._buf = b""

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> bytes:
        if size is None or size < 0:
            return self._buf + b"".join(self._chunks)
        while len(self._buf) < size:
            try:
                self._buf += next(self._chunks)
            except StopIteration:
                break
            except httpx.HTTPError as exc:
                raise ImageSourceError(f"download interrupted: {exc}") from None
        out, self._buf = self._buf[:size], self._buf[size:]
        return out

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        if not self.closed:
            self._response.close()
        super().close()


def _error_detail(resp: httpx.Response) -> str:
    """The registry's error code and message (body read at most 64 KiB), else the HTTP status."""
    try:
        if not resp.is_stream_consumed:
            body = b""
            for chunk in resp.iter_bytes(CHUNK):
                body += chunk
                if len(body) > 65536:
                    break
            resp.close()
        else:
            body = resp.content
        errors = json.loads(body).get("errors") or []
        if errors and isinstance(errors[0], dict):
            return f"{errors[0].get('code', '')}: {errors[0].get('message', '')}".strip(": ")
    except (ValueError, AttributeError, httpx.HTTPError, httpx.StreamError):
        pass
    return f"HTTP {resp.status_code}"


class RegistryClient:
    """One registry host; one httpx connection pool; tokens cached per scope."""

    def __init__(
        self,
        registry: str,
        *,
        insecure: bool = False,
        credentials: Credentials | None | str = "auto",
        timeout: float = 30.0,
        api_host: str | None = None,
    ) -> None:
        self.registry = registry
        self.api_host = api_host or registry
        host = (
            self.api_host.rsplit(":", 1)[0]
            if not self.api_host.startswith("[")
            else self.api_host[1:].split("]")[0]
        )
        if insecure and host not in LOOPBACK:
            raise ImageSourceError(
                "plain HTTP (--insecure) is only allowed for loopback registries "
                f"(localhost, 127.0.0.1, ::1), not {registry}"
            )
        self.base = f"{'http' if insecure else 'https'}://{self.api_host}"
        creds = load_docker_credentials(registry) if credentials == "auto" else credentials
        assert not isinstance(creds, str)
        self.auth = Authenticator(registry, creds, timeout=timeout)
        self._client = httpx.Client(
            follow_redirects=True,
            timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0)),
            headers={"User-Agent": USER_AGENT},
        )

    @classmethod
    def for_reference(cls, ref: Reference, *, insecure: bool = False, **kw: Any) -> RegistryClient:
        assert ref.registry is not None
        return cls(ref.registry, insecure=insecure, api_host=ref.api_host, **kw)

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> RegistryClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- transport ---------------------------------------------------------------------------

    def request(
        self,
        method: str,
        path: str,
        *,
        scope: str,
        what: str,
        headers: dict[str, str] | None = None,
        params: dict[str, str] | None = None,
        content: Content = None,
        stream: bool = False,
    ) -> httpx.Response:
        """Send, answering one auth challenge; 401/403 and transport errors become one-line errors."""
        url = path if path.startswith(("http://", "https://")) else self.base + path
        # Credentials and tokens only ever go to the registry itself (an upload Location may
        # point elsewhere, e.g. object storage; httpx also drops them on cross-origin redirects).
        same_origin = url.startswith(self.base + "/")
        auth = self.auth.cached(scope) if same_origin else None
        for attempt in range(2):
            hdrs = {**(headers or {}), **({"Authorization": auth} if auth else {})}
            body = content() if callable(content) else content
            req = self._client.build_request(method, url, headers=hdrs, params=params, content=body)
            try:
                resp = self._client.send(req, stream=stream)
            except httpx.TimeoutException:
                raise ImageSourceError(f"registry {self.registry} timed out ({what})") from None
            except httpx.HTTPError as exc:
                raise ImageSourceError(f"cannot reach registry {self.registry}: {exc}") from None
            if resp.status_code != 401:
                break
            challenge = resp.headers.get("WWW-Authenticate", "")
            if attempt == 1 or not challenge or not same_origin:
                break
            resp.close()
            auth = self.auth.authorize(challenge, scope, self._client, what)
        if resp.status_code == 401:
            if self.auth.credentials:
                user = self.auth.credentials.username
                raise ImageSourceError(f"authentication failed for {what} as {user} ({_error_detail(resp)})")
            raise ImageSourceError(f"authentication required for {what}")
        if resp.status_code == 403:
            raise ImageSourceError(f"access denied to {what} ({_error_detail(resp)})")
        return resp

    def _fail(self, resp: httpx.Response, what: str, unknown: str | None = None) -> None:
        if resp.status_code == 404 and unknown:
            resp.close()
            raise ImageSourceError(f"{unknown}: {what}")
        detail = _error_detail(resp)
        raise ImageSourceError(f"{what}: registry {self.registry} answered {detail}")

    def _read_capped(self, resp: httpx.Response, limit: int, what: str) -> bytes:
        length = resp.headers.get("Content-Length")
        if length and length.isdigit() and int(length) > limit:
            resp.close()
            raise ImageSourceError(f"{what} is too large ({length} bytes, limit {limit})")
        data = bytearray()
        try:
            for chunk in resp.iter_bytes(CHUNK):
                data += chunk
                if len(data) > limit:
                    raise ImageSourceError(f"{what} is too large (over {limit} bytes)")
        except httpx.HTTPError as exc:
            raise ImageSourceError(f"{what}: download interrupted: {exc}") from None
        finally:
            resp.close()
        return bytes(data)

    # -- pull --------------------------------------------------------------------------------

    def get_manifest(self, repo: str, reference: str) -> tuple[bytes, str, str]:
        """(bytes, media type, digest) of a manifest or index; verified when `reference` is a digest."""
        what = f"{self.registry}/{repo}"
        resp = self.request(
            "GET",
            f"/v2/{repo}/manifests/{reference}",
            scope=f"repository:{repo}:pull",
            what=what,
            headers={"Accept": MANIFEST_ACCEPT},
            stream=True,
        )
        shown = f"{what}@{reference}" if ":" in reference else f"{what}:{reference}"
        if resp.status_code != 200:
            self._fail(resp, shown, "manifest unknown")
        data = self._read_capped(resp, MANIFEST_LIMIT, f"manifest {shown}")
        media_type = resp.headers.get("Content-Type", "").split(";")[0].strip()
        if ":" in reference:
            verify_bytes(data, reference, f"manifest {shown}")
            digest = reference
        else:
            digest = "sha256:" + hashlib.sha256(data).hexdigest()
            header = resp.headers.get("Docker-Content-Digest", "")
            if header.startswith("sha256:") and header != digest:
                raise DigestMismatchError(f"manifest {shown}: registry says {header} but content is {digest}")
        return data, media_type, digest

    def head_manifest(self, repo: str, reference: str) -> str | None:
        """The digest of a manifest, or None if unknown."""
        what = f"{self.registry}/{repo}"
        resp = self.request(
            "HEAD",
            f"/v2/{repo}/manifests/{reference}",
            scope=f"repository:{repo}:pull",
            what=what,
            headers={"Accept": MANIFEST_ACCEPT},
        )
        if resp.status_code == 404:
            return None
        if resp.status_code != 200:
            self._fail(resp, f"{what}:{reference}")
        return resp.headers.get("Docker-Content-Digest")

    def open_blob(self, repo: str, digest: str, size: int | None = None) -> BinaryIO:
        """A streaming, digest-verified reader over a blob."""
        parse_digest(digest)
        what = f"{self.registry}/{repo}"
        resp = self.request(
            "GET", f"/v2/{repo}/blobs/{digest}", scope=f"repository:{repo}:pull", what=what, stream=True
        )
        if resp.status_code != 200:
            self._fail(resp, f"{what}@{digest}", "blob unknown")
        return VerifyingReader(_ResponseStream(resp), digest, size)  # type: ignore[arg-type,return-value]

    # -- push --------------------------------------------------------------------------------

    def blob_exists(self, repo: str, digest: str) -> bool:
        what = f"{self.registry}/{repo}"
        resp = self.request(
            "HEAD", f"/v2/{repo}/blobs/{digest}", scope=f"repository:{repo}:pull,push", what=what
        )
        if resp.status_code == 200:
            return True
        if resp.status_code == 404:
            return False
        self._fail(resp, f"{what}@{digest}")
        return False

    def upload_blob(self, repo: str, digest: str, size: int, content: Content) -> None:
        """Monolithic upload: POST to open a session, PUT the whole blob with ?digest=."""
        what = f"{self.registry}/{repo}"
        scope = f"repository:{repo}:pull,push"
        resp = self.request("POST", f"/v2/{repo}/blobs/uploads/", scope=scope, what=what)
        if resp.status_code != 202 or "Location" not in resp.headers:
            self._fail(resp, f"{what}: cannot start blob upload")
        location = urljoin(self.base + "/", resp.headers["Location"])
        sep = "&" if "?" in location else "?"
        resp = self.request(
            "PUT",
            f"{location}{sep}digest={digest}",
            scope=scope,
            what=what,
            headers={"Content-Type": "application/octet-stream", "Content-Length": str(size)},
            content=content,
        )
        if resp.status_code != 201:
            self._fail(resp, f"{what}: upload of blob {digest} failed")

    def put_manifest(self, repo: str, reference: str, data: bytes, media_type: str) -> str:
        """Upload a manifest or index under a tag or digest; returns its digest."""
        what = f"{self.registry}/{repo}"
        resp = self.request(
            "PUT",
            f"/v2/{repo}/manifests/{reference}",
            scope=f"repository:{repo}:pull,push",
            what=what,
            headers={"Content-Type": media_type},
            content=data,
        )
        if resp.status_code != 201:
            self._fail(resp, f"{what}:{reference}: manifest upload failed")
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        header = resp.headers.get("Docker-Content-Digest")
        if header and header.startswith("sha256:") and header != digest:
            raise DigestMismatchError(
                f"{what}: registry stored {header} for a manifest whose digest is {digest}"
            )
        return digest

    # -- listing -----------------------------------------------------------------------------

    def _paginate(self, path: str, key: str, scope: str, what: str, page_size: int | None) -> list[str]:
        out: list[str] = []
        url: str | None = self.base + path
        params = {"n": str(page_size)} if page_size else None
        seen: set[str] = set()
        for _ in range(MAX_PAGES):
            if url is None:
                return out
            if url in seen:
                raise ImageSourceError(f"{what}: registry pagination loops at {url}")
            seen.add(url)
            resp = self.request("GET", url, scope=scope, what=what, params=params, stream=True)
            if resp.status_code != 200:
                self._fail(resp, what, "name unknown" if key == "tags" else None)
            link = resp.links.get("next", {}).get("url")
            data = self._read_capped(resp, LIST_LIMIT, what)
            try:
                items = httpx.Response(200, content=data).json().get(key) or []
            except (ValueError, AttributeError):
                raise ImageSourceError(f"{what}: registry returned invalid JSON") from None
            out.extend(str(i) for i in items)
            url = urljoin(url, link) if link else None
            if url is not None and not url.startswith(self.base + "/"):
                raise ImageSourceError(f"{what}: registry pagination link leaves the registry: {link}")
            params = None  # the Link URL carries n and last
        raise ImageSourceError(f"{what}: more than {MAX_PAGES} pages")

    def list_tags(self, repo: str, page_size: int | None = None) -> list[str]:
        """All tags of `repo`, following `Link: <…>; rel="next"` pagination."""
        return self._paginate(
            f"/v2/{repo}/tags/list", "tags", f"repository:{repo}:pull", f"{self.registry}/{repo}", page_size
        )

    def list_repositories(self, page_size: int | None = None) -> list[str]:
        """All repositories from `/v2/_catalog` (needs the registry:catalog:* scope with token auth)."""
        return self._paginate("/v2/_catalog", "repositories", "registry:catalog:*", self.registry, page_size)


class RegistryImageSource:
    """Blobs of one repository, read through a RegistryClient."""

    def __init__(self, client: RegistryClient, repo: str) -> None:
        self.client = client
        self.repo = repo
        self.sizes: dict[str, int] = {}
        self._manifests: dict[str, bytes] = {}

    def open_blob(self, digest: str) -> BinaryIO:
        return self.client.open_blob(self.repo, digest, self.sizes.get(digest))

    def fetch(self, desc: dict[str, Any], limit: int, what: str) -> bytes:
        digest = desc["digest"]
        if what == "manifest":
            if digest not in self._manifests:
                data, _mt, _ = self.client.get_manifest(self.repo, digest)
                self._manifests[digest] = data
            return self._manifests[digest]
        return read_verified(self.open_blob(digest), digest, size=desc.get("size"), limit=limit, what=what)

    def close(self) -> None:
        self.client.close()


def open_registry_image(
    ref: Reference | str, *, platform: str = DEFAULT_PLATFORM, insecure: bool = False
) -> Image:
    """Resolve a registry reference (through indexes, to `platform`) to an Image that streams its layers."""
    if isinstance(ref, str):
        ref = parse_registry_reference(ref)
    client = RegistryClient.for_reference(ref, insecure=insecure)
    source = RegistryImageSource(client, ref.repository or "")
    try:
        data, media_type, digest = client.get_manifest(source.repo, ref.reference)
        source._manifests[digest] = data
        top = {"digest": digest, "size": len(data), "mediaType": media_type or None}
        image = image_from_descriptor(ref.raw, top, source.fetch, platform, source=source)
    except BaseException:
        client.close()
        raise
    source.sizes.update({layer.digest: layer.size for layer in image.layers if layer.size})
    return image
