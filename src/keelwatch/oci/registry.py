"""A client for the OCI Distribution API v2 (pull, push, tags, catalog).

HTTPS always, except with `insecure=True` for a registry on a loopback host
(localhost, 127.0.0.1, ::1), where plain HTTP is used: keelwatch never sends
credentials or trusts content over plain HTTP to another machine. Every request goes
through keelwatch.oci.transport (total time limits, redirect and credential rules,
raw capped bodies). Auth is anonymous, Basic or Bearer token (keelwatch.oci.auth),
answered on the first 401 and cached per scope. Manifests are capped and every blob
and manifest is digest-verified. Errors are one line: "authentication required for
HOST/REPO", "manifest unknown: REF", "cannot reach registry HOST: …".
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import replace
from typing import Any, BinaryIO
from urllib.parse import parse_qsl, urlencode

import httpx

from keelwatch.errors import DigestMismatchError, ImageSourceError
from keelwatch.oci.auth import Authenticator, Credentials, load_docker_credentials
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
from keelwatch.oci.schema import load_json
from keelwatch.oci.transport import (
    BAD_URL,
    CHUNK,
    LOOPBACK,
    Answer,
    Content,
    RegistryLimits,
    Transport,
    configured_limits,
    origin,
    printable,
)
from keelwatch.oci.verify import VerifyingReader, parse_digest, read_verified, verify_bytes

MANIFEST_ACCEPT = ", ".join([MT_OCI_MANIFEST, MT_OCI_INDEX, MT_DOCKER_MANIFEST, MT_DOCKER_LIST])
LIST_LIMIT = 16 << 20
MAX_PAGES = 10_000
MAX_LISTED = 1_000_000
# The Distribution spec's grammar for what tags and catalog pages may list.
_TAG = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")
_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_REPOSITORY = re.compile(rf"{_COMPONENT}(?:/{_COMPONENT})*")

__all__ = ["CHUNK", "Content", "RegistryClient", "RegistryImageSource", "open_registry_image"]


class RegistryClient:
    """One registry host; one connection pool; tokens cached per scope."""

    def __init__(
        self,
        registry: str,
        *,
        insecure: bool = False,
        credentials: Credentials | None | str = "auto",
        timeout: float | None = None,
        api_host: str | None = None,
        limits: RegistryLimits | None = None,
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
        limits = limits or configured_limits()
        if timeout is not None:
            limits = replace(limits, timeout=timeout)
        creds = load_docker_credentials(registry) if credentials == "auto" else credentials
        assert not isinstance(creds, str)
        self.transport = Transport(registry, self.base, insecure=insecure, limits=limits)
        if creds is not None:
            self.transport.add_secret(creds.password, creds.basic_header())
        self.auth = Authenticator(registry, creds)

    @classmethod
    def for_reference(cls, ref: Reference, *, insecure: bool = False, **kw: Any) -> RegistryClient:
        assert ref.registry is not None
        return cls(ref.registry, insecure=insecure, api_host=ref.api_host, **kw)

    def close(self) -> None:
        self.transport.close()

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
        blob: bool = False,
    ) -> Answer:
        """Send, answering one auth challenge; 401/403 and transport errors become one-line errors.

        Credentials and tokens only ever go to the registry itself: the transport attaches them
        only to URLs of the registry's origin (an upload Location or a blob redirect may point
        to object storage, which gets none), and only the registry's own 401 is answered.
        """
        url = path if path.startswith(("http://", "https://")) else self.base + path
        home = origin(httpx.URL(self.base))
        auth = self.auth.cached(scope)
        for attempt in range(2):
            resp = self.transport.send(
                method, url, what=what, headers=headers, params=params, content=content,
                authorization=auth, auth_origin=self.base, blob=blob,
            )  # fmt: skip
            if resp.status_code != 401:
                break
            challenge = resp.headers.get("WWW-Authenticate", "")
            if attempt == 1 or not challenge or origin(resp.url) != home:
                break
            resp.close()
            auth = self.auth.authorize(challenge, scope, self.transport, what)
        if resp.status_code == 401:
            if self.auth.credentials:
                user = printable(self.auth.credentials.username, 80)
                raise ImageSourceError(f"authentication failed for {what} as {user} ({resp.error_detail()})")
            resp.close()
            raise ImageSourceError(f"authentication required for {what}")
        if resp.status_code == 403:
            raise ImageSourceError(f"access denied to {what} ({resp.error_detail()})")
        return resp

    def _fail(self, resp: Answer, what: str, unknown: str | None = None) -> None:
        if resp.status_code == 404 and unknown:
            resp.close()
            raise ImageSourceError(f"{unknown}: {what}")
        detail = resp.error_detail()
        raise ImageSourceError(f"{what}: registry {self.registry} answered {detail}")

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
        )
        shown = f"{what}@{reference}" if ":" in reference else f"{what}:{reference}"
        if resp.status_code != 200:
            self._fail(resp, shown, "manifest unknown")
        data = resp.read(MANIFEST_LIMIT, f"manifest {shown}")
        media_type = resp.headers.get("Content-Type", "").split(";")[0].strip()
        if ":" in reference:
            verify_bytes(data, reference, f"manifest {shown}")
            digest = reference
        else:
            digest = "sha256:" + hashlib.sha256(data).hexdigest()
            header = resp.headers.get("Docker-Content-Digest", "")
            if header.startswith("sha256:") and header != digest:
                said = printable(header, 80)
                raise DigestMismatchError(f"manifest {shown}: registry says {said} but content is {digest}")
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
        resp.close()
        if resp.status_code == 404:
            return None
        if resp.status_code != 200:
            self._fail(resp, f"{what}:{reference}")
        digest = resp.headers.get("Docker-Content-Digest")
        if not digest:  # optional in the spec: then the digest is the content's
            return self.get_manifest(repo, reference)[2]
        try:
            parse_digest(digest)  # it goes into URLs, the store and tables
        except ImageSourceError:
            said = printable(digest, 80)
            raise ImageSourceError(f"{what}:{reference}: registry sent an invalid digest {said!r}") from None
        return digest

    def open_blob(self, repo: str, digest: str, size: int | None = None) -> BinaryIO:
        """A streaming, digest-verified reader over a blob."""
        parse_digest(digest)
        what = f"{self.registry}/{repo}"
        resp = self.request(
            "GET", f"/v2/{repo}/blobs/{digest}", scope=f"repository:{repo}:pull", what=what, blob=True
        )
        if resp.status_code != 200:
            self._fail(resp, f"{what}@{digest}", "blob unknown")
        return VerifyingReader(resp.stream(), digest, size)  # type: ignore[arg-type,return-value]

    # -- push --------------------------------------------------------------------------------

    def blob_exists(self, repo: str, digest: str) -> bool:
        what = f"{self.registry}/{repo}"
        resp = self.request(
            "HEAD", f"/v2/{repo}/blobs/{digest}", scope=f"repository:{repo}:pull,push", what=what
        )
        if resp.status_code in (200, 404):
            resp.close()
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
        resp.close()
        try:
            location = resp.url.join(resp.headers["Location"])
        except BAD_URL:
            raise ImageSourceError(f"{what}: registry sent an invalid upload location") from None
        query = [*parse_qsl(location.query.decode(), keep_blank_values=True), ("digest", digest)]
        resp = self.request(
            "PUT",
            str(location.copy_with(query=urlencode(query).encode())),
            scope=scope,
            what=what,
            headers={"Content-Type": "application/octet-stream", "Content-Length": str(size)},
            content=content,
            blob=True,
        )
        if resp.status_code != 201:
            self._fail(resp, f"{what}: upload of blob {digest} failed")
        resp.close()

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
        resp.close()
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        header = resp.headers.get("Docker-Content-Digest")
        if header and header.startswith("sha256:") and header != digest:
            raise DigestMismatchError(
                f"{what}: registry stored {printable(header, 80)} for a manifest whose digest is {digest}"
            )
        return digest

    # -- listing -----------------------------------------------------------------------------

    def _paginate(self, path: str, key: str, scope: str, what: str, page_size: int | None) -> list[str]:
        """Follow `Link: <…>; rel="next"`; a link seen before, or a page that brings no new entry
        but a next link, is a loop; pages and entries are bounded too."""
        out: list[str] = []
        known: set[str] = set()
        params = {"n": str(page_size)} if page_size else None
        url: httpx.URL | None = httpx.URL(self.base + path, params=params)
        home = origin(httpx.URL(self.base))
        seen: set[str] = set()
        for _ in range(MAX_PAGES):
            if url is None:
                return out
            canonical = str(url.copy_with(query=urlencode(sorted(parse_qsl(url.query.decode()))).encode()))
            if canonical in seen:
                raise ImageSourceError(f"{what}: registry pagination loops at {printable(str(url), 120)}")
            seen.add(canonical)
            resp = self.request("GET", str(url), scope=scope, what=what)
            if resp.status_code != 200:
                self._fail(resp, what, "name unknown" if key == "tags" else None)
            link = resp.next_link()
            items = _list_items(resp.read(LIST_LIMIT, f"{what}: {key} list page"), key, what)
            fresh = [i for i in items if i not in known]
            known.update(fresh)
            out.extend(fresh)
            if len(out) > MAX_LISTED:
                raise ImageSourceError(f"{what}: registry lists more than {MAX_LISTED} {key}")
            if link and not fresh:
                raise ImageSourceError(f"{what}: registry pagination loops (a page with no new {key})")
            try:
                url = resp.url.join(link) if link else None
            except BAD_URL:
                shown = printable(link or "", 120)
                raise ImageSourceError(f"{what}: invalid pagination link {shown}") from None
            if url is not None and origin(url) != home:
                shown = printable(link or "", 120)
                raise ImageSourceError(f"{what}: registry pagination link leaves the registry: {shown}")
        raise ImageSourceError(f"{what}: more than {MAX_PAGES} pages")

    def list_tags(self, repo: str, page_size: int | None = None) -> list[str]:
        """All tags of `repo`, following `Link: <…>; rel="next"` pagination."""
        return self._paginate(
            f"/v2/{repo}/tags/list", "tags", f"repository:{repo}:pull", f"{self.registry}/{repo}", page_size
        )

    def list_repositories(self, page_size: int | None = None) -> list[str]:
        """All repositories from `/v2/_catalog` (needs the registry:catalog:* scope with token auth)."""
        return self._paginate("/v2/_catalog", "repositories", "registry:catalog:*", self.registry, page_size)


def _list_items(data: bytes, key: str, what: str) -> list[str]:
    """The `key` list of a tags or catalog page: a JSON list of strings (null when empty)."""
    try:
        doc = load_json(data, "list page", limit=LIST_LIMIT)
    except ImageSourceError:
        raise ImageSourceError(f"{what}: registry returned invalid JSON") from None
    items = doc.get(key) if isinstance(doc, dict) else ()
    if items is None:
        return []
    if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
        raise ImageSourceError(f"{what}: registry returned an invalid {key} list")
    grammar = _TAG if key == "tags" else _REPOSITORY
    for item in items:
        # A name off the spec's grammar would reach URLs (`../`), messages and terminals (escapes).
        if not grammar.fullmatch(item) or len(item) > 255:
            raise ImageSourceError(f"{what}: registry listed an invalid name {printable(item, 80)!r}")
    return items


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
