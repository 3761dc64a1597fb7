"""What a policy is checked against: plain facts about one image, gathered by the caller.

The policy package knows nothing of the store or the registry: the CLI (or the
service) fills a PolicySubject from the scan, the lineage, the catalogue and the
findings, then hands it to the engine.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from keelwatch.lineage.lineage import Lineage
from keelwatch.vulndb.findings import Finding
from keelwatch.vulndb.severity import Level

# OCI annotation keys behind the short metadata names policies use.
OCI_METADATA_KEYS = {
    "maintainer": "org.opencontainers.image.authors",
    "version": "org.opencontainers.image.version",
    "source": "org.opencontainers.image.source",
    "revision": "org.opencontainers.image.revision",
    "vendor": "org.opencontainers.image.vendor",
    "created": "org.opencontainers.image.created",
    "title": "org.opencontainers.image.title",
    "licenses": "org.opencontainers.image.licenses",
}


class ApprovalView(Protocol):
    """The catalogue's answer to "is this base approved?"."""

    def is_approved_digest(self, digest: str) -> bool: ...

    def is_approved_tag(self, ref: str) -> bool: ...


@dataclass(slots=True)
class PolicySubject:
    ref: str
    digest: str | None = None
    is_base: bool = False  # a base image (catalogue entry or namespace convention) vs an application
    lineage: Lineage | None = None
    metadata: Mapping[str, str] = field(default_factory=dict)
    # unsuppressed findings only: suppressing (VEX, ignore files) happens before the policy
    findings: list[Finding] = field(default_factory=list)
    # how a finding still of unknown severity is counted (the gate's rule: keelwatch.app.gate)
    unknown_as: Level = Level.HIGH
    created: datetime | None = None
    base_created: datetime | None = None  # when its nearest base was built
    # the tag the image was found under when the reference does not name one (an OCI layout's
    # index.json `org.opencontainers.image.ref.name`)
    tag: str | None = None
    local: bool = False  # read from a file or directory: it has no registry repository name


def metadata_from_oci(
    annotations: Mapping[str, str], labels: Mapping[str, str], extra: Mapping[str, str] | None = None
) -> dict[str, str]:
    """Short metadata keys from annotations, then labels; catalogue fields (`extra`) win."""
    merged: dict[str, str] = {}
    for short, key in OCI_METADATA_KEYS.items():
        value = annotations.get(key) or labels.get(key)
        if value:
            merged[short] = value
    for key, value in {**labels, **annotations}.items():
        merged.setdefault(key, value)
    merged.update({k: v for k, v in (extra or {}).items() if v})
    return merged
