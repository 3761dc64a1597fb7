"""The floors of the house, enforced: the pure core imports no database, use case or shell.

Every module under the core packages is parsed (not imported, so nothing runs) and every
import in it is checked, including imports inside functions, under `if TYPE_CHECKING:` and
`importlib.import_module("...")` with a literal name. A core module may not import
`keelwatch.store`, `keelwatch.app`, `keelwatch.cli` or `sqlalchemy` (nor `alembic`).
There are no exceptions: the last ones (governance and the feed update) moved to
`store/` and `app/` in issue 7. SQL for a core concept goes into a `store/` repository,
the orchestration into an `app/` use case.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parent.parent / "src" / "keelwatch"

CORE = ("oci", "catalog", "scan", "lineage", "policy", "vulndb", "governance", "compare", "sbom")
# Top-level modules every floor shares: they belong to the core too.
CORE_MODULES = ("model", "errors", "config", "termtext", "userfile")
FORBIDDEN = ("keelwatch.store", "keelwatch.app", "keelwatch.cli", "sqlalchemy", "alembic")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imported_modules(source: str, module: str, is_package: bool = False) -> set[str]:
    """Every module name `source` imports anywhere (absolute form; relative imports resolved)."""
    found: set[str] = set()
    package = module if is_package else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            found.add(base)
            # `from keelwatch import store` imports the module keelwatch.store.
            if not forbidden_in({base}):
                found.update(f"{base}.{alias.name}" for alias in node.names if alias.name != "*")
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute | ast.Name)
            and (node.func.attr if isinstance(node.func, ast.Attribute) else node.func.id)
            in ("import_module", "__import__")
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            found.add(node.args[0].value)
    return found


def forbidden_in(names: set[str]) -> set[str]:
    return {n for n in names if any(n == f or n.startswith(f + ".") for f in FORBIDDEN)}


def core_files() -> list[Path]:
    files = [p for pkg in CORE for p in sorted((SRC / pkg).rglob("*.py"))]
    files += [SRC / f"{m}.py" for m in CORE_MODULES if (SRC / f"{m}.py").exists()]
    return files


def violations() -> set[tuple[str, str]]:
    found = set()
    for path in core_files():
        name = module_name(path)
        names = imported_modules(path.read_text(), name, is_package=path.name == "__init__.py")
        found.update((name, bad) for bad in forbidden_in(names))
    return found


def test_core_packages_exist() -> None:
    """Guards the check itself: a renamed package must not silently drop out of it."""
    for pkg in CORE:
        assert (SRC / pkg / "__init__.py").is_file(), pkg
    assert len(core_files()) > 50


def test_core_imports_no_store_app_cli_or_sqlalchemy() -> None:
    found = sorted(violations())
    listing = "\n".join(f"  {m} -> {i}" for m, i in found)
    assert not found, f"core modules import store/app/cli/SQLAlchemy:\n{listing}"


@pytest.mark.parametrize(
    "source",
    [
        "import sqlalchemy",
        "import sqlalchemy.orm as orm",
        "from sqlalchemy import select",
        "from keelwatch.store.db import Store",
        "from keelwatch import store",
        "from keelwatch import cli, model",
        "from ...app import findings",
        "from ...store.models import Base",
        "def f():\n    from keelwatch.app.scanning import scan_image\n",
        "class C:\n    def m(self):\n        import keelwatch.cli\n",
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from keelwatch.store.db import Store\n",
        "import importlib\nimportlib.import_module('keelwatch.store.kb')",
        "__import__('sqlalchemy')",
    ],
)
def test_checker_sees_every_kind_of_import(source: str) -> None:
    assert forbidden_in(imported_modules(source, "keelwatch.vulndb.feeds.x"))


@pytest.mark.parametrize(
    "source",
    [
        "import keelwatch.model",
        "from keelwatch import model, errors",
        "from . import base",
        "from ..versions import scheme_for",
        "from keelwatch.vulndb.store_free import x",
        "import storage",
        "x = 'keelwatch.store'",
    ],
)
def test_checker_allows_the_core(source: str) -> None:
    assert not forbidden_in(imported_modules(source, "keelwatch.vulndb.feeds.x"))
