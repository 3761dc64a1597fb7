"""The exact upgrade command for a finding, and where the fix belongs (image or base image).

Each package type's `Ecosystem` descriptor (declared beside its cataloger) names the
command and its per-package argument (VER = the fix to install), for example
- deb: `apt-get install --only-upgrade <bin>=VER` for every installed binary package
  built from the affected source package (`upgrade_whole_source`: they must move
  together; the fix version is the source version, the binary version except for binNMUs);
- apk: `apk add --upgrade <pkg>=VER`; rpm: `dnf upgrade <pkg>-VER`;
- python: `pip install '<pkg>>=VER'`; npm: `npm install <pkg>@VER`.
Every argument is shell-quoted.

The target is the highest of the per-record nearest fixes, so one upgrade leaves
every record's affected range. A package whose layer index is below the first layer
the image itself added came from the base image: the fix belongs there (rebuild on a
patched base), not in this Dockerfile.
"""

from __future__ import annotations

import shlex

from keelwatch.catalog import ecosystem_for
from keelwatch.vulndb.findings import Remediation


def command(pkg_type: str, names: list[str], version: str) -> str:
    """The upgrade command that installs `version` of each of `names`."""
    eco = ecosystem_for(pkg_type)
    if eco is None:
        return ""
    args = (shlex.quote(eco.upgrade_arg.format(name=n, version=version)) for n in names)
    return " ".join([eco.upgrade_command, *args])


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
