"""The package and image model shared by every part of keelwatch.

One package model for all ecosystems (as Syft does): catalogers fill it, the
vulnerability matcher reads it, SBOM writers and the store serialise it. It is
plain data with no behaviour beyond (de)serialisation, so core analysis stays
independent of the web, the database and the queue.
"""

from __future__ import annotations

import copy
from dataclasses import asdict, dataclass, field, is_dataclass
from typing import Any


def _copy(value: Any) -> Any:
    """What `dataclasses.asdict` makes of a field value (a deep copy), for plain JSON-like data.

    asdict calls `copy.deepcopy` on every leaf and tests every value for being a dataclass:
    on the ~800 packages of a Debian image that was a fifth of a cached re-scan's own work.
    Strings, numbers and None are immutable, so they are returned as they are.
    """
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    if type(value) is list:
        return [_copy(v) for v in value]
    if type(value) is dict:
        return {_copy(k): _copy(v) for k, v in value.items()}
    if type(value) is tuple:
        return tuple(_copy(v) for v in value)
    if is_dataclass(value) and not isinstance(value, type):
        return asdict(value)
    return copy.deepcopy(value)  # anything else: exactly what asdict does with it


@dataclass(slots=True)
class Package:
    """One installed package, wherever in the image it was found."""

    name: str
    version: str
    type: str  # Syft's package type; its `Ecosystem` is `keelwatch.catalog.ecosystem_for(type)`
    purl: str = ""
    source_name: str | None = None
    source_version: str | None = None
    licenses: list[str] = field(default_factory=list)
    locations: list[str] = field(default_factory=list)
    layer_index: int | None = None
    layer_diff_id: str | None = None
    # Ecosystem-specific facts (arch, epoch, release, origin, …): never needed for identity.
    metadata: dict[str, Any] = field(default_factory=dict)

    def key(self) -> tuple[str, str, str, str]:
        """Identity inside one image: same type, name, version and first location."""
        return (self.type, self.name, self.version, self.locations[0] if self.locations else "")

    def to_dict(self) -> dict[str, Any]:
        """`asdict(self)` (same keys, order and deep copy), without its per-leaf deepcopy."""
        return {name: _copy(getattr(self, name)) for name in _PACKAGE_FIELDS}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Package:
        return cls(**{k: data[k] for k in cls.__dataclass_fields__ if k in data})


_PACKAGE_FIELDS = tuple(Package.__dataclass_fields__)


@dataclass(slots=True)
class OSInfo:
    """What /etc/os-release (or its fallbacks) says. All empty for distroless/scratch."""

    id: str = ""
    version_id: str = ""
    version_codename: str = ""
    name: str = ""
    pretty_name: str = ""
    id_like: list[str] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.id or self.version_id or self.name)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> OSInfo:
        return cls(**{k: data[k] for k in cls.__dataclass_fields__ if k in data})


@dataclass(slots=True)
class LayerInfo:
    """One layer of an image as its manifest and config describe it."""

    digest: str  # digest of the blob as stored (compressed)
    diff_id: str  # digest of the uncompressed tar, from config rootfs.diff_ids
    size: int = 0
    media_type: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"digest": self.digest, "diff_id": self.diff_id, "size": self.size}


@dataclass(slots=True)
class ImageInfo:
    """Identity and metadata of a scanned image (the `image` object of the JSON output)."""

    ref: str
    digest: str | None = None  # manifest digest, when the source has a manifest
    config_digest: str | None = None
    platform: str = ""
    os: OSInfo = field(default_factory=OSInfo)
    layers: list[LayerInfo] = field(default_factory=list)
    labels: dict[str, str] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)
    created: str | None = None
    # Number of config history entries (empty layers included): tells a metadata-only
    # child (same layers, longer history) from its parent in lineage detection.
    history_length: int = 0
    tag: str | None = None  # the tag the image was found under: the reference's, or its OCI layout's

    def to_dict(self) -> dict[str, Any]:
        return {
            "ref": self.ref,
            "digest": self.digest,
            "config_digest": self.config_digest,
            "platform": self.platform,
            "os": self.os.to_dict(),
            "layers": [layer.to_dict() for layer in self.layers],
            "labels": dict(self.labels),
            "annotations": dict(self.annotations),
            "created": self.created,
            "history_length": self.history_length,
            "tag": self.tag,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ImageInfo:
        return cls(
            ref=data["ref"],
            digest=data.get("digest"),
            config_digest=data.get("config_digest"),
            platform=data.get("platform", ""),
            os=OSInfo.from_dict(data.get("os") or {}),
            layers=[LayerInfo(**layer) for layer in data.get("layers", [])],
            labels=dict(data.get("labels") or {}),
            annotations=dict(data.get("annotations") or {}),
            created=data.get("created"),
            history_length=int(data.get("history_length") or 0),
            tag=data["tag"] if isinstance(data.get("tag"), str) else None,
        )


@dataclass(slots=True)
class ScanResult:
    """Everything a scan learned about one image: the input to matching, SBOMs and the store."""

    image: ImageInfo
    packages: list[Package] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    # The resolved base-image lineage (keelwatch.lineage.Lineage.to_dict()), when known.
    lineage: dict[str, Any] | None = None
    # The vulnerability data the findings were matched against and its coverage of each
    # ecosystem of the image (keelwatch.vulndb.coverage.Coverage.to_dict()), when matched.
    vulnerability_data: dict[str, Any] | None = None
    # Why the package set may miss packages: a bound of the scan was hit (keelwatch.scan.engine
    # Budget). Empty for a complete scan. A gate cannot judge what was not catalogued.
    incomplete: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "image": self.image.to_dict(),
            "packages": [p.to_dict() for p in self.packages],
            "warnings": list(self.warnings),
        }
        if self.lineage is not None:
            data["lineage"] = self.lineage
        if self.vulnerability_data is not None:
            data["vulnerability_data"] = self.vulnerability_data
        if self.incomplete:
            data["incomplete"] = list(self.incomplete)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ScanResult:
        return cls(
            image=ImageInfo.from_dict(data["image"]),
            packages=[Package.from_dict(p) for p in data.get("packages", [])],
            warnings=list(data.get("warnings", [])),
            lineage=data.get("lineage"),
            vulnerability_data=data.get("vulnerability_data"),
            incomplete=[str(r) for r in data.get("incomplete") or []],
        )
