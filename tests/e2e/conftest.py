"""End-to-end fixtures for issue 4: real images, a real registry, the real `keelwatch` CLI.

Images come from examples/build_images.py (this machine's dpkg database and files, real
wheels from PyPI, cached in .keelwatch-run/downloads like tests/test_examples.py). They are
written to one OCI layout per session (blobs shared) and pushed to the CNCF Distribution
registry of tests/registry.py, with `org.opencontainers.image.base.*` annotations naming
their parent's registry reference when a test asks for them.

`kw(...)` runs the CLI in-process (Typer's CliRunner on `keelwatch.cli.app`) the way
`keelwatch.cli.main` does: a KeelwatchError becomes exit code 2 with `error: …` on stderr.
Every test has its own KEELWATCH_HOME (tests/conftest.py), so stores never leak.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from typer.testing import CliRunner

from imagebuilder import OciLayoutWriter
from keelwatch.errors import KeelwatchError
from keelwatch.oci.push import push_layout

REPO = Path(__file__).resolve().parents[2]
DOWNLOADS = REPO / ".keelwatch-run" / "downloads"
CREATED = "2024-06-01T00:00:00Z"


def _load(name: str, path: Path) -> ModuleType:
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, path)
        assert spec and spec.loader
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


registry_helpers = _load("keelwatch_test_registry", REPO / "tests" / "registry.py")
builder = _load("kw_build_images", REPO / "examples" / "build_images.py")


# -- the CLI ---------------------------------------------------------------------------------


@dataclass
class Run:
    exit_code: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        return json.loads(self.stdout)


def kw(*args: str, env: dict[str, str] | None = None) -> Run:
    """`keelwatch ARGS` in-process; wide output so Rich never folds a sentence."""
    from keelwatch.cli import _register_all, app

    if not any(g.name == "registry" for g in app.registered_groups):
        _register_all()
    result = CliRunner().invoke(app, list(args), env={"COLUMNS": "250", **(env or {})})
    if isinstance(result.exception, KeelwatchError):
        return Run(2, result.stdout, f"error: {result.exception}\n")
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return Run(result.exit_code, result.stdout, result.stderr)


# -- images ----------------------------------------------------------------------------------


class Kit:
    """Builds images from real content and pushes them, parent annotations and all."""

    def __init__(self, root: Path) -> None:
        self.builder = builder
        self.layout = root / "layout"
        self.writer = OciLayoutWriter(self.layout)  # one blob store for every image of the session
        self.dl = builder.Downloads(DOWNLOADS)
        self._count = 0
        self.debian = builder.build_debian_base()
        self.python = builder.build_python_base(self.debian, self.dl)
        self.app = builder.build_app_python(self.python, self.dl)
        self.plugin = builder.build_plugin(self.app, self.dl)
        self.rebuilt = builder.build_rebuilt(self.debian)

    def wheels_layer(self, specs: tuple[str, ...], extra: dict[str, bytes] | None = None) -> Any:
        tree = builder.Tree()
        for spec in specs:
            builder.install_wheel(tree, self.dl.wheel(spec))
        for path, data in (extra or {}).items():
            tree.file(path, data)
        return tree.layer()

    def child(self, parent: Any, name: str, tag: str, layer: Any, history: str) -> Any:
        return builder.child(parent, name, tag, [layer], [history], f"{name} (keelwatch e2e)")

    def push(self, image: Any, ref: str, *, parent: tuple[str, str] | None = None) -> str:
        """Push `image` to `ref`; `parent` = (parent ref, parent digest) for the base annotations."""
        annotations = dict(image.annotations)
        if parent is not None:
            annotations["org.opencontainers.image.base.name"] = parent[0]
            annotations["org.opencontainers.image.base.digest"] = parent[1]
        self._count += 1
        tag = f"e2e-{self._count}"
        self.writer.add_image(
            image.layers,
            tag=tag,
            labels=image.labels,
            annotations=annotations,
            platform=image.platform,
            history=image.history,
            created=CREATED,
            env=image.env,
        )
        return push_layout(f"oci:{self.layout}:{tag}", ref, insecure=True).digest

    def push_chain(self, registry: Any, refs: list[tuple[Any, str]], *, annotate: bool = True) -> list[str]:
        """Push images root first to `registry/<repo:tag>`; children name their parent if `annotate`."""
        digests: list[str] = []
        parent: tuple[str, str] | None = None
        for image, repo_tag in refs:
            ref = f"{registry.host}/{repo_tag}"
            digest = self.push(image, ref, parent=parent if annotate else None)
            digests.append(digest)
            parent = (ref, digest)
        return digests


@pytest.fixture(scope="session")
def kit(tmp_path_factory: pytest.TempPathFactory) -> Kit:
    return Kit(tmp_path_factory.mktemp("e2e-images"))


@pytest.fixture(scope="session")
def e2e_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """One registry for the session; tests use their own repository prefixes."""
    reg = registry_helpers.start_registry(tmp_path_factory.mktemp("e2e-registry"))
    yield reg
    reg.stop()


@pytest.fixture
def registry_factory(tmp_path: Path) -> Iterator[Any]:
    """Start registries in a test: `registry_factory(auth="token", users={...})`."""
    started: list[Any] = []

    def make(**kw: Any) -> Any:
        reg = registry_helpers.start_registry(tmp_path / f"registry-{len(started)}", **kw)
        started.append(reg)
        return reg

    yield make
    for reg in started:
        reg.stop()


@pytest.fixture
def own_registry(tmp_path: Path) -> Iterator[Any]:
    """A registry of one test's own, for tests that walk the whole catalog."""
    reg = registry_helpers.start_registry(tmp_path / "registry")
    yield reg
    reg.stop()


@pytest.fixture(name="kw")
def kw_fixture() -> Any:
    """The in-process CLI runner `kw(*args) -> Run`."""
    return kw


@pytest.fixture
def expert(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Act as a member of the default expert team."""
    monkeypatch.setenv("KEELWATCH_ACTOR", "erin")
    monkeypatch.setenv("KEELWATCH_TEAM", "platform-experts")
    return {"KEELWATCH_ACTOR": "erin", "KEELWATCH_TEAM": "platform-experts"}
