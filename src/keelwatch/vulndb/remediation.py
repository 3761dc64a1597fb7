"""The exact upgrade command for a finding, and where the fix belongs (image or base image).

Commands per package manager (VER = the fix to install):
- deb: `apt-get install --only-upgrade <bin>=VER` for every installed binary package
  built from the affected source package (they must move together; the fix version is
  the source version, which is the binary version except for binNMUs);
- apk: `apk add --upgrade <pkg>=VER`; rpm: `dnf upgrade <pkg>-VER`;
- python: `pip install '<pkg>>=VER'`; npm: `npm install <pkg>@VER`.

The target is the highest of the per-record nearest fixes, so one upgrade leaves
every record's affected range. A package whose layer index is below the first layer
the image itself added came from the base image: the fix belongs there (rebuild on a
patched base), not in this Dockerfile.
"""

from __future__ import annotations

import shlex

from keelwatch.model import APK, DEB, NPM, PYTHON, RPM
from keelwatch.vulndb.findings import Remediation


def command(pkg_type: str, names: list[str], version: str) -> str:
    """The upgrade command that installs `version` of each of `names`."""
    q = shlex.quote
    if pkg_type == DEB:
        return "apt-get install --only-upgrade " + " ".join(q(f"{n}={version}") for n in names)
    if pkg_type == APK:
        return "apk add --upgrade " + " ".join(q(f"{n}={version}") for n in names)
    if pkg_type == RPM:
        return "dnf upgrade " + " ".join(q(f"{n}-{version}") for n in names)
    if pkg_type == PYTHON:
        return "pip install " + " ".join(f"'{n}>={version}'" for n in names)
    if pkg_type == NPM:
        return "npm install " + " ".join(q(f"{n}@{version}") for n in names)
    return ""


def remediate(
    pkg_type: str,
    names: list[str],
    target: str | None,
    layer_index: int | None,
    first_own_layer: int | None,
) -> Remediation:
    """Remediation for one finding; `first_own_layer` is None when the base is unknown."""
    in_base = None
    if first_own_layer is not None and layer_index is not None:
        in_base = layer_index < first_own_layer
    if target is None:
        advice = "no fixed version published yet"
        if in_base:
            advice += "; the package comes from the base image: watch for a patched base"
        return Remediation("", None, in_base, advice)
    cmd = command(pkg_type, names, target)
    if in_base:
        advice = (
            f"the package comes from the base image (layer {layer_index}): rebuild on a base "
            f"image that ships {target} or later rather than upgrading in this image"
        )
    else:
        advice = f"upgrade to {target} or later"
    return Remediation(cmd, target, in_base, advice)
