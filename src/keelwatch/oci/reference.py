"""Image references: `oci:PATH[:TAG]`, `docker-archive:PATH[:REPO:TAG]`, `dir:PATH`, registry names.

Registry references follow the Docker/OCI grammar `[host[:port]/]repo[:tag][@algo:hex]`.
The first component is a registry host when it contains `.` or `:` or is `localhost`;
otherwise the image lives on Docker Hub (`docker.io`, API host `registry-1.docker.io`)
and single-name repositories get the `library/` prefix, as `docker pull` does.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

from keelwatch.errors import ImageSourceError
from keelwatch.oci.verify import parse_digest

DOCKER_HUB = "docker.io"
DOCKER_HUB_API = "registry-1.docker.io"
_HUB_ALIASES = {"docker.io", "index.docker.io", "registry-1.docker.io", "registry.hub.docker.com"}
_COMPONENT = re.compile(r"^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$")
_TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
_HOST = re.compile(
    r"^(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*|\[[0-9a-fA-F:.]+\])(?::[0-9]{1,5})?$"
)
LOOPBACK_HOSTS = {"localhost", "127.0.0.1", "::1", "[::1]"}


@dataclass(frozen=True)
class Reference:
    """A parsed reference. `kind` is oci, docker-archive, dir or registry."""

    kind: str
    raw: str
    path: str | None = None
    tag: str | None = None
    registry: str | None = None
    repository: str | None = None
    digest: str | None = None

    @property
    def api_host(self) -> str:
        """Host[:port] the Distribution API lives on."""
        assert self.registry is not None
        return DOCKER_HUB_API if self.registry == DOCKER_HUB else self.registry

    @property
    def hostname(self) -> str:
        """Registry host without the port (for loopback checks)."""
        host = self.api_host
        if host.startswith("["):
            return host[: host.index("]") + 1]
        return host.rsplit(":", 1)[0] if ":" in host else host

    @property
    def is_loopback(self) -> bool:
        return self.hostname in LOOPBACK_HOSTS

    @property
    def reference(self) -> str:
        """What goes into /v2/<repo>/manifests/<reference>: the digest if pinned, else the tag."""
        return self.digest or self.tag or "latest"

    def with_tag(self, tag: str) -> Reference:
        return Reference(self.kind, self.raw, self.path, tag, self.registry, self.repository, None)

    def __str__(self) -> str:
        if self.kind == "registry":
            out = f"{self.registry}/{self.repository}"
            if self.tag:
                out += f":{self.tag}"
            if self.digest:
                out += f"@{self.digest}"
            return out
        out = f"{self.kind}:{self.path}"
        return f"{out}:{self.tag}" if self.tag else out


def _split_path_tag(kind: str, rest: str, raw: str, *, is_file: bool) -> Reference:
    if not rest:
        raise ImageSourceError(f"invalid reference {raw!r}: missing path after {kind}:")
    exists = os.path.isfile if is_file else os.path.isdir
    if exists(rest) or ":" not in rest:
        return Reference(kind, raw, path=rest)
    if is_file:
        # docker-archive:PATH:REPO:TAG -- the path is the longest existing prefix.
        parts = rest.split(":")
        for i in range(len(parts) - 1, 0, -1):
            candidate = ":".join(parts[:i])
            if exists(candidate):
                return Reference(kind, raw, path=candidate, tag=":".join(parts[i:]))
        return Reference(kind, raw, path=rest)
    path, _, tag = rest.rpartition(":")
    if not path or not tag or "/" in tag:
        return Reference(kind, raw, path=rest)
    return Reference(kind, raw, path=path, tag=tag)


def parse_registry_reference(raw: str) -> Reference:
    """`[host[:port]/]repo[:tag][@digest]` with Docker Hub defaults."""
    text = raw.removeprefix("docker://").removeprefix("registry:")
    if not text or any(c.isspace() for c in text):
        raise ImageSourceError(f"invalid image reference {raw!r}")
    name, digest = text, None
    if "@" in text:
        name, _, digest = text.partition("@")
        parse_digest(digest)
    tag = None
    last = name.rsplit("/", 1)[-1]
    if ":" in last:
        name, _, tag = name.rpartition(":")
        if not _TAG.match(tag):
            raise ImageSourceError(f"invalid tag {tag!r} in reference {raw!r}")
    parts = name.split("/")
    if len(parts) > 1 and (
        "." in parts[0] or ":" in parts[0] or parts[0] == "localhost" or parts[0].startswith("[")
    ):
        host, repo_parts = parts[0], parts[1:]
        if not _HOST.match(host):
            raise ImageSourceError(f"invalid registry host {host!r} in reference {raw!r}")
    else:
        host, repo_parts = DOCKER_HUB, parts
    if host.lower() in _HUB_ALIASES:
        host = DOCKER_HUB
    if host == DOCKER_HUB and len(repo_parts) == 1:
        repo_parts = ["library", *repo_parts]
    for comp in repo_parts:
        if not _COMPONENT.match(comp):
            raise ImageSourceError(
                f"invalid repository name {'/'.join(repo_parts)!r} in reference {raw!r} "
                "(lowercase letters, digits and separators . _ - only)"
            )
    repo = "/".join(repo_parts)
    if len(repo) > 255:
        raise ImageSourceError(f"repository name too long in reference {raw!r}")
    if tag is None and digest is None:
        tag = "latest"
    return Reference("registry", raw, tag=tag, registry=host, repository=repo, digest=digest)


def parse_reference(raw: str) -> Reference:
    """Any reference the CLI accepts; raises ImageSourceError with a one-line reason."""
    if raw.startswith("oci:"):
        return _split_path_tag("oci", raw[4:], raw, is_file=False)
    if raw.startswith("docker-archive:"):
        return _split_path_tag("docker-archive", raw[len("docker-archive:") :], raw, is_file=True)
    if raw.startswith("dir:"):
        if not raw[4:]:
            raise ImageSourceError(f"invalid reference {raw!r}: missing path after dir:")
        return Reference("dir", raw, path=raw[4:])
    return parse_registry_reference(raw)
