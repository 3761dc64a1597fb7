"""Registry fixtures (session scope) over tests/registry.py.

Other test packages reuse them by loading tests/registry.py by path as below (the module
is cached in sys.modules as `keelwatch_test_registry`) and re-exporting its fixtures
(`registry`, `basic_registry`, `token_registry`, `registry_factory`), or by calling
`start_registry(tmp, auth=None|"htpasswd"|"token")` directly.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

_HERE = Path(__file__).resolve().parent


def _load(name: str, path: Path) -> ModuleType:
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, path)
        assert spec and spec.loader
        mod = importlib.util.module_from_spec(spec)
        sys.modules[name] = mod
        spec.loader.exec_module(mod)
    return sys.modules[name]


registry_helpers = _load("keelwatch_test_registry", _HERE.parent / "registry.py")
# Real-content test images for tests/oci/test_*.py: `images = sys.modules["keelwatch_test_images"]`.
_load("keelwatch_test_images", _HERE / "images.py")
# A hostile registry on loopback (tests/oci/test_hostile_registry.py): `keelwatch_test_hostile_registry`.
_load("keelwatch_test_hostile_registry", _HERE / "hostile_server.py")
# The fixtures live in tests/registry.py so any conftest can re-export them like this.
registry = registry_helpers.registry
basic_registry = registry_helpers.basic_registry
token_registry = registry_helpers.token_registry
registry_factory = registry_helpers.registry_factory
