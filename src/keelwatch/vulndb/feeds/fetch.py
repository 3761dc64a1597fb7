"""Get a feed file from its publisher, a mirror URL or a mirror directory.

Downloads stream into a temporary file inside the data directory (never into
memory, never outside the tool's own directories), with a size cap and timeouts,
and use conditional GET (If-None-Match / If-Modified-Since) against the
validators stored in feed_state. A file whose sha256 equals the last imported
one also counts as "not modified", so mirrors without ETags stay incremental.

A mirror directory has the publishers' relative layout (`PyPI/all.zip`,
`v3.19/main.json`, ...); each source also lists a few alternative names
(e.g. `osv/PyPI/all.zip`, `debian/DSA-list`) so a directory holding several
sources' data side by side works too.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

from keelwatch.errors import FeedError
from keelwatch.oci.transport import deadline_client, time_limit

MAX_BYTES = 2 * 1024**3
TIMEOUT = httpx.Timeout(60.0, connect=15.0)
TIME_LIMIT = 3600.0  # seconds for one whole download: a server trickling a byte a minute ends, too
USER_AGENT = "keelwatch feed updater"
# (url, bytes so far, declared total or None): how a caller shows download progress
Progress = Callable[[str, int, int | None], None]


class FeedUnreachable(FeedError):
    """The host cannot be reached at all (no route, DNS failure, refused): likely offline."""

    def __init__(self, host: str) -> None:
        super().__init__(f"cannot reach {host}: no network? use --from DIR")
        self.host = host


@dataclass
class Fetched:
    path: Path
    location: str
    sha256: str
    not_modified: bool = False
    etag: str | None = None
    last_modified: str | None = None
    # when the publisher produced it, ISO 8601: Last-Modified, else the download time; "" for a local
    # copy, whose mtime says when it was copied, not how current the data is
    snapshot: str = ""
    key: str = ""  # the file's name in feed_state.files (its first mirror candidate)
    has_body: bool = True  # False after a 304: `path` holds nothing to import

    def validators(self) -> dict[str, Any]:
        return {"etag": self.etag, "last_modified": self.last_modified, "sha256": self.sha256}


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _http_date_to_iso(value: str | None) -> str:
    from email.utils import parsedate_to_datetime

    if not value:
        return ""
    try:
        return parsedate_to_datetime(value).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    except (TypeError, ValueError):
        return ""


class Fetcher:
    """One update run's downloads; `close()` removes every temporary file."""

    def __init__(
        self,
        mirror: str | None,
        workdir: Path,
        max_bytes: int = MAX_BYTES,
        progress: Progress | None = None,
        time_limit: float = TIME_LIMIT,
    ) -> None:
        self.mirror = mirror
        self.time_limit = time_limit
        self.progress = progress
        self._unreachable: set[str] = set()  # hosts that failed to connect: not tried again this run
        self.is_url = bool(mirror) and mirror.split(":", 1)[0] in ("http", "https")
        self.max_bytes = max_bytes
        workdir.mkdir(parents=True, exist_ok=True)
        self._tmp = Path(tempfile.mkdtemp(prefix="feeds-", dir=workdir))
        self._client: httpx.Client | None = None
        if self.is_url:
            _check_mirror_url(str(mirror))
        if mirror and not self.is_url and not Path(mirror).is_dir():
            if Path(mirror).is_file():
                return  # a single document (osv only); sources decide
            raise FeedError(f"--from {mirror}: no such directory or URL")

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
        shutil.rmtree(self._tmp, ignore_errors=True)

    def __enter__(self) -> Fetcher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def local(self, candidates: list[str]) -> Path | None:
        """The first candidate that exists in a mirror directory."""
        if not self.mirror or self.is_url:
            return None
        if Path(self.mirror).is_file():  # one file given for one source
            return Path(self.mirror)
        for rel in candidates:
            path = Path(self.mirror) / rel
            if path.is_file():
                return path
        return None

    def get(
        self, url: str, candidates: list[str], previous: dict[str, Any] | None = None, required: bool = True
    ) -> Fetched | None:
        """Fetch one file; None when it does not exist and is not required."""
        previous = previous or {}
        if self.mirror and not self.is_url:
            path = self.local(candidates)
            if path is None:
                if required:
                    raise FeedError(f"{self.mirror}: none of {', '.join(candidates)} found")
                return None
            if path.stat().st_size > self.max_bytes:
                raise FeedError(f"{path}: larger than the {self.max_bytes} byte limit")
            got = self.get_local(path, previous)
            got.key = candidates[0]
            return got
        if self.is_url:
            url = f"{self.mirror.rstrip('/')}/{candidates[0]}"
        got = self._download(url, previous, required)
        if got is not None:
            got.key = candidates[0]
        return got

    def get_local(self, path: Path, previous: dict[str, Any] | None = None) -> Fetched:
        """A local file (or directory of OSV files) as it is; no snapshot date: the data gives it."""
        sha = _sha256(path) if path.is_file() else ""
        return Fetched(path, str(path), sha, not_modified=bool(sha) and sha == (previous or {}).get("sha256"))

    def _download(self, url: str, previous: dict[str, Any], required: bool) -> Fetched | None:
        if self._client is None:
            self._client = deadline_client(
                httpx.Client(timeout=TIMEOUT, follow_redirects=True, headers={"User-Agent": USER_AGENT})
            )
        headers = {}
        if previous.get("etag"):
            headers["If-None-Match"] = previous["etag"]
        if previous.get("last_modified"):
            headers["If-Modified-Since"] = previous["last_modified"]
        host = urlsplit(url).hostname or url
        if host in self._unreachable:
            raise FeedUnreachable(host)
        basename = url.split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1] or "download"
        fd, name = tempfile.mkstemp(dir=self._tmp, suffix=f"-{basename}")
        path = Path(name)
        digest = hashlib.sha256()
        try:
            with (
                time_limit(self.time_limit),
                os.fdopen(fd, "wb") as out,
                self._client.stream("GET", url, headers=headers) as resp,
            ):
                if resp.status_code == 304:
                    return Fetched(
                        path,
                        url,
                        previous.get("sha256") or "",
                        not_modified=True,
                        etag=previous.get("etag"),
                        last_modified=previous.get("last_modified"),
                        has_body=False,
                    )
                if resp.status_code == 404 and not required:
                    return None
                if resp.status_code != 200:
                    raise FeedError(f"{url}: HTTP {resp.status_code}")
                declared = int(resp.headers.get("content-length") or 0)
                if declared > self.max_bytes:
                    raise FeedError(f"{url}: {declared} bytes exceeds the {self.max_bytes} byte limit")
                size = 0
                for chunk in resp.iter_bytes(1 << 20):
                    size += len(chunk)
                    if self.progress is not None:
                        self.progress(url, size, declared or None)
                    if size > self.max_bytes:
                        raise FeedError(f"{url}: more than the {self.max_bytes} byte limit")
                    digest.update(chunk)
                    out.write(chunk)
                etag, last_modified = resp.headers.get("etag"), resp.headers.get("last-modified")
        except (httpx.ConnectError, httpx.ConnectTimeout):
            # offline, DNS failure, connection refused: one short line, not the whole exception chain
            self._unreachable.add(host)
            raise FeedUnreachable(host) from None
        except httpx.TimeoutException:
            raise FeedError(
                f"{url}: download timed out (silent for {TIMEOUT.read:.0f} s, or over the total time limit "
                f"of {self.time_limit:.0f} s)"
            ) from None
        except httpx.HTTPError as exc:
            raise FeedError(f"{url}: download failed: {_first_line(exc)}") from None
        sha = digest.hexdigest()
        fetched_at = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        return Fetched(
            path,
            url,
            sha,
            not_modified=sha == previous.get("sha256"),
            etag=etag,
            last_modified=last_modified,
            snapshot=_http_date_to_iso(last_modified) or fetched_at,
        )


def _check_mirror_url(url: str) -> None:
    """A `--from` URL httpx and urllib can both use, with a host: one line now, not one per feed later."""
    try:
        host = urlsplit(url).hostname
        httpx.URL(url)
    except (httpx.InvalidURL, ValueError) as exc:
        raise FeedError(f"--from {url}: not a valid URL: {exc}") from None
    if not host:
        raise FeedError(f"--from {url}: not a valid URL: no host")


def _first_line(exc: BaseException) -> str:
    """An exception's first line, bounded: httpx messages can carry whole chains."""
    return ((str(exc).strip().splitlines() or [type(exc).__name__])[0])[:200]
