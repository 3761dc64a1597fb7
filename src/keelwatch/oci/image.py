"""The image-source contract: manifest, config and layer blobs, whatever the source.

Sources (`oci:`, `docker-archive:`, registry references) resolve a reference to an
`Image`; the scan engine reads layers through `open_layer`, which returns the
blob as stored (possibly compressed). Every read is digest-verified: the stream
raises DigestMismatchError at EOF when the content does not match, so a
mismatch is an error, never a result. `dir:` sources have no blobs; they present
the directory itself (see keelwatch.oci.dirsource).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, BinaryIO, Protocol

from keelwatch.model import LayerInfo

MT_OCI_INDEX = "application/vnd.oci.image.index.v1+json"
MT_OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
MT_OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
MT_DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
MT_DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
MT_DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
MT_OCI_LAYER = "application/vnd.oci.image.layer.v1.tar"
MT_OCI_LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"
MT_OCI_LAYER_ZSTD = "application/vnd.oci.image.layer.v1.tar+zstd"
MT_DOCKER_LAYER_GZIP = "application/vnd.docker.image.rootfs.diff.tar.gzip"
DEFAULT_PLATFORM = "linux/amd64"


@dataclass
class Image:
    """A resolved image: everything but the layer contents, plus a way to open them."""

    ref: str
    manifest: dict[str, Any]
    config: dict[str, Any]
    layers: list[LayerInfo]
    manifest_digest: str | None = None
    config_digest: str | None = None
    platform: str = DEFAULT_PLATFORM
    annotations: dict[str, str] = field(default_factory=dict)
    source: ImageSource | None = None
    tag: str | None = None  # the tag the source gives the image (an OCI layout's index.json), if any

    @property
    def labels(self) -> dict[str, str]:
        return dict((self.config.get("config") or {}).get("Labels") or {})

    def open_layer(self, index: int) -> BinaryIO:
        """The layer blob as stored; verified against its digest when read to EOF."""
        assert self.source is not None
        return self.source.open_blob(self.layers[index].digest)


class ImageSource(Protocol):
    """Where blobs come from: an OCI layout, a docker-save tarball or a registry."""

    def open_blob(self, digest: str) -> BinaryIO: ...

    def close(self) -> None: ...
