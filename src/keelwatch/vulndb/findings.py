"""`Finding`: one flaw in one installed package, with everything needed to act on it.

Plain data, JSON-serialisable with `to_dict` (the shape of `findings` in JSON output
and of what `rescan` stores). Suppressed findings are kept, flagged, with the reason.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from keelwatch.vulndb.severity import Severity

FIXED = "fixed"
NOT_FIXED = "not-fixed"
UNDETERMINED = "undetermined"


@dataclass(slots=True)
class PackageRef:
    name: str
    version: str
    type: str
    purl: str = ""
    locations: list[str] = field(default_factory=list)
    source_name: str | None = None


@dataclass(slots=True)
class Kev:
    flag: bool = False
    date_added: str = ""
    due_date: str = ""
    known_ransomware: str = ""


@dataclass(slots=True)
class Epss:
    score: float
    percentile: float
    cve: str = ""
    date: str = ""


@dataclass(slots=True)
class Remediation:
    command: str = ""  # empty when there is no fix to install
    target_version: str | None = None
    in_base_image: bool | None = None  # None: unknown which layers the image itself added
    advice: str = ""


@dataclass(slots=True)
class Suppression:
    by: str  # "openvex" | "ignore-file"
    reason: str
    status: str = ""  # OpenVEX status (not_affected / fixed) when by == "openvex"
    justification: str = ""
    expires: str | None = None
    document: str = ""


@dataclass(slots=True)
class Finding:
    id: str
    package: PackageRef
    aliases: list[str] = field(default_factory=list)
    fixed_versions: list[str] = field(default_factory=list)  # ascending; empty = no fix yet
    status: str = NOT_FIXED
    severity: Severity = field(default_factory=Severity)
    kev: Kev = field(default_factory=Kev)
    epss: Epss | None = None
    layer_index: int | None = None
    layer_diff_id: str | None = None
    references: list[str] = field(default_factory=list)
    summary: str = ""
    sources: list[dict[str, str]] = field(default_factory=list)  # [{"source", "id"}] of the records
    remediation: Remediation = field(default_factory=Remediation)
    suppression: Suppression | None = None
    # Where the package's layer came from in the image's lineage: "from base `X` (level 1)",
    # "from intermediate `Y` (level 2)", "from this image"; empty when lineage is unknown.
    origin: str = ""
    origin_level: int | None = None

    @property
    def suppressed(self) -> bool:
        return self.suppression is not None

    @property
    def ids(self) -> list[str]:
        return [self.id, *self.aliases]

    def key(self) -> tuple[str, str, str, str]:
        """Identity across rescans: (flaw id, package type, name, version)."""
        return (self.id, self.package.type, self.package.name, self.package.version)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["suppressed"] = self.suppressed
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Finding:
        epss = data.get("epss")
        supp = data.get("suppression")
        return cls(
            id=data["id"],
            package=PackageRef(**data["package"]),
            aliases=list(data.get("aliases") or []),
            fixed_versions=list(data.get("fixed_versions") or []),
            status=data.get("status", NOT_FIXED),
            severity=Severity(**(data.get("severity") or {})),
            kev=Kev(**(data.get("kev") or {})),
            epss=Epss(**epss) if epss else None,
            layer_index=data.get("layer_index"),
            layer_diff_id=data.get("layer_diff_id"),
            references=list(data.get("references") or []),
            summary=data.get("summary", ""),
            sources=list(data.get("sources") or []),
            remediation=Remediation(**(data.get("remediation") or {})),
            suppression=Suppression(**supp) if supp else None,
            origin=data.get("origin", ""),
            origin_level=data.get("origin_level"),
        )
