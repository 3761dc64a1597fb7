"""Image references: the one parser every command, the catalogue and the store go through.

A reference names an image and the *transport* it is read through (`Transport`):
- `oci:PATH[:TAG]` or `oci-dir:PATH[:TAG]` (Syft's name): an OCI image layout directory;
- `oci-archive:PATH[:TAG]`: a tar of an OCI layout (BuildKit `--output type=oci`,
  `podman save --format oci-archive`);
- `docker-archive:PATH[:REPO:TAG]`: a `docker save` tarball;
- `dir:PATH`: an unpacked root filesystem;
- a registry name `[host[:port]/]repo[:tag][@algo:hex]`, optionally written `docker://NAME`
  or `registry:NAME`;
- a bare local path: a directory holding an OCI layout, or a tar file (docker or OCI
  archive, told apart by its content).

Registry names follow the Docker/OCI grammar. The first component is a registry host when
it contains `.` or `:` or is `localhost`; otherwise the image lives on Docker Hub. Every
Docker Hub spelling (`debian:12`, `docker.io/debian:12`, `index.docker.io/library/debian:12`,
`registry-1.docker.io/library/debian:12`, `docker://debian:12`) parses to the same
canonical name `docker.io/library/debian:12`; pulls go to the API host `registry-1.docker.io`.
The transport is decided here, once: nothing else looks at string prefixes.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, replace
from enum import StrEnum

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
FORMS = "host/repo:tag, oci:DIR, oci-archive:FILE, docker-archive:FILE or dir:DIR"


class Transport(StrEnum):
    """How an image is read; the value is the prefix of its canonical spelling."""

    REGISTRY = "registry"
    OCI_LAYOUT = "oci"
    OCI_ARCHIVE = "oci-archive"
    DOCKER_ARCHIVE = "docker-archive"
    DIR = "dir"

    @property
    def is_local(self) -> bool:
        """Read from a file or directory on this machine (no registry, no tag history)."""
        return self is not Transport.REGISTRY


# The schemes a user may write before the path, and the transport each means.
_LOCAL_SCHEMES = {
    "oci": Transport.OCI_LAYOUT,
    "oci-dir": Transport.OCI_LAYOUT,
    "oci-archive": Transport.OCI_ARCHIVE,
    "docker-archive": Transport.DOCKER_ARCHIVE,
    "dir": Transport.DIR,
}
_DAEMON_SCHEMES = ("docker", "docker-daemon", "podman", "containerd")
_PATH_START = ("/", "./", "../", "~/", ".\\", "..\\")


@dataclass(frozen=True)
class Reference:
    """A parsed reference.

    `raw` is what the user wrote, except that a transport detected from a bare path is
    made explicit (`oci:./out`), so `raw` always parses back to the same transport.
    """

    transport: Transport
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

    @property
    def name(self) -> str:
        """The canonical repository: `docker.io/library/debian` or `oci:out/debian` (no tag)."""
        if self.transport is Transport.REGISTRY:
            return f"{self.registry}/{self.repository}"
        assert self.path is not None
        return f"{self.transport}:{os.path.normpath(self.path)}"

    @property
    def repo_path(self) -> str:
        """The repository without its host (`library/debian`), or the local path: what naming rules read."""
        if self.transport is Transport.REGISTRY:
            return self.repository or ""
        return os.path.normpath(self.path or "")

    def with_tag(self, tag: str) -> Reference:
        return replace(self, tag=tag, digest=None)

    def pinned(self, digest: str) -> Reference:
        """The same name pinned to `digest`: what a check of one approved digest must read."""
        if self.transport.is_local or self.digest == digest:
            return self
        parse_digest(digest)
        return replace(self, digest=digest, raw=f"{self.raw.partition('@')[0]}@{digest}")

    def __str__(self) -> str:
        """The canonical spelling: one string per image name, whatever the user wrote."""
        out = self.name
        if self.tag:
            out += f":{self.tag}"
        if self.digest:
            out += f"@{self.digest}"
        return out


def try_parse(text: str) -> Reference | None:
    """A stored name (a scan's `image.ref`, a catalogue entry's ref), or None if it no longer parses."""
    try:
        return parse_reference(text, detect_paths=False)
    except ImageSourceError:
        return None


def canonical_name(text: str) -> str:
    """The canonical spelling of a stored name; the name itself when it no longer parses."""
    ref = try_parse(text)
    return str(ref) if ref is not None else text


def image_name(text: str) -> str:
    """How documents (SBOMs) name an image: the path of a local source, else the reference."""
    ref = try_parse(text)
    return (ref.path or text) if ref is not None and ref.transport.is_local else text


def _split_path_tag(transport: Transport, rest: str, raw: str, *, is_file: bool) -> Reference:
    if not rest:
        what = "FILE" if is_file else "DIR"
        raise ImageSourceError(
            f"invalid reference {raw!r}: missing path after {raw.split(':', 1)[0]}: "
            f"(write {transport}:{what}[:TAG])"
        )
    exists = os.path.isfile if is_file else os.path.isdir
    if exists(rest) or ":" not in rest:
        return Reference(transport, raw, path=rest)
    if is_file:
        # ARCHIVE:PATH:REPO:TAG -- the path is the longest existing prefix.
        parts = rest.split(":")
        for i in range(len(parts) - 1, 0, -1):
            candidate = ":".join(parts[:i])
            if exists(candidate):
                return Reference(transport, raw, path=candidate, tag=":".join(parts[i:]))
        return Reference(transport, raw, path=rest)
    path, _, tag = rest.rpartition(":")
    if not path or not tag or "/" in tag:
        return Reference(transport, raw, path=rest)
    return Reference(transport, raw, path=path, tag=tag)


def parse_registry_reference(raw: str) -> Reference:
    """`[host[:port]/]repo[:tag][@digest]` with Docker Hub defaults."""
    text = raw.removeprefix("docker://").removeprefix("registry:")
    if not text or any(c.isspace() for c in text):
        raise ImageSourceError(f"invalid image reference {raw!r}: write one of {FORMS}")
    name, digest = text, None
    if "@" in text:
        name, _, digest = text.partition("@")
        try:
            parse_digest(digest)
        except ImageSourceError as exc:
            raise ImageSourceError(
                f"{exc} in reference {raw!r}: pin with @sha256: and the 64 hex digits of the manifest"
            ) from None
    tag = None
    last = name.rsplit("/", 1)[-1]
    if ":" in last:
        name, _, tag = name.rpartition(":")
        if not _TAG.match(tag):
            raise ImageSourceError(
                f"invalid tag {tag!r} in reference {raw!r}: a tag is up to 128 letters, digits, "
                "'_', '.' and '-', not starting with '.' or '-'"
            )
    parts = name.split("/")
    if len(parts) > 1 and (
        "." in parts[0] or ":" in parts[0] or parts[0] == "localhost" or parts[0].startswith("[")
    ):
        host, repo_parts = parts[0], parts[1:]
        if not _HOST.match(host):
            raise ImageSourceError(
                f"invalid registry host {host!r} in reference {raw!r}: write host[:port]/repo:tag, "
                f"or for a local image one of {FORMS}"
            )
    else:
        host, repo_parts = DOCKER_HUB, parts
    host = host.lower()
    if host in _HUB_ALIASES:
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
        raise ImageSourceError(f"repository name too long in reference {raw!r} (at most 255 characters)")
    if tag is None and digest is None:
        tag = "latest"
    return Reference(Transport.REGISTRY, raw, tag=tag, registry=host, repository=repo, digest=digest)


def _no_daemon(raw: str, name: str) -> ImageSourceError:
    name = name or "IMAGE"
    return ImageSourceError(
        f"{raw}: keelwatch does not read images from a container daemon; export the image with "
        f"`docker save {name} -o image.tar` (or `podman save --format oci-archive -o image.tar {name}`) "
        f"and scan docker-archive:image.tar (or oci-archive:image.tar), or scan {name} from its registry"
    )


def _local_path(raw: str) -> Reference | None:
    """A bare path on disk (an OCI layout directory or an image tarball), else None.

    Text that exists on disk is a path (as Syft decides); text that only looks like a path
    (`/`, `./`, `../`) is an error when missing, never a registry name.
    """
    looks_like_path = raw.startswith(_PATH_START) or raw in (".", "..")
    if not os.path.exists(raw):
        if looks_like_path:
            raise ImageSourceError(
                f"{raw}: no such file or directory (a local image is an OCI layout directory or an "
                f"image tarball; a registry image is host/repo:tag)"
            )
        return None
    if os.path.isdir(raw):
        if os.path.isfile(os.path.join(raw, "oci-layout")) or os.path.isfile(os.path.join(raw, "index.json")):
            return Reference(Transport.OCI_LAYOUT, f"oci:{raw}", path=raw)
        if looks_like_path:
            raise ImageSourceError(
                f"{raw} is a directory but not an OCI layout (no oci-layout or index.json): "
                f"scan an unpacked root filesystem with dir:{raw}"
            )
        return None
    if os.path.isfile(raw):
        from keelwatch.oci.archive import archive_transport  # the archive reader sniffs the content

        transport = Transport(archive_transport(raw))
        return Reference(transport, f"{transport}:{raw}", path=raw)
    raise ImageSourceError(f"{raw} is not a regular file or directory: give an image tarball or OCI layout")


def parse_reference(raw: str, *, detect_paths: bool = True) -> Reference:
    """Any reference the CLI accepts; raises ImageSourceError with a one-line reason and a fix.

    `detect_paths=False` for names that come from data (stored refs, image annotations):
    those never make keelwatch look at a file on this machine.
    """
    if not raw or not raw.strip():
        raise ImageSourceError(f"empty image reference: write one of {FORMS}")
    scheme, colon, rest = raw.partition(":")
    if colon and scheme in _LOCAL_SCHEMES:
        transport = _LOCAL_SCHEMES[scheme]
        if transport is Transport.DIR:
            if not rest:
                raise ImageSourceError(f"invalid reference {raw!r}: missing path after dir: (write dir:DIR)")
            return Reference(Transport.DIR, raw, path=rest)
        is_file = transport in (Transport.OCI_ARCHIVE, Transport.DOCKER_ARCHIVE)
        return _split_path_tag(transport, rest, raw, is_file=is_file)
    if colon and scheme in _DAEMON_SCHEMES and not rest.startswith("//"):
        raise _no_daemon(raw, rest)
    if detect_paths and (scheme not in ("docker", "registry") or not colon):
        local = _local_path(raw)
        if local is not None:
            return local
    return parse_registry_reference(raw)


def as_reference(ref: str | Reference) -> Reference:
    """Accept either form at the edges of the core: strings are parsed once, here."""
    return ref if isinstance(ref, Reference) else parse_reference(ref)
