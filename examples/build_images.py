"""Build the example images (OCI layouts) from real content, without a container engine.

    uv run python examples/build_images.py --out .keelwatch-run/images [--only NAME ...]
        [--docker-archive]

Every image is one OCI layout directory `OUT/NAME` with one tagged manifest in index.json.
The content is real: this machine's Debian package database and files, wheels from PyPI,
npm packages from the npm registry, the rpm database fixture of tests/fixtures/rpm and the
Alpine database fixture of tests/fixtures/catalog (when present). Downloads are cached in
`OUT/.downloads`; the build itself is deterministic (mtime 0, sorted entries, fixed dates), so
the same machine and the same downloads give the same digests.

Images (level = place in the base-image chain):

- debian-base (1): /etc/os-release, the dpkg database (status + info/) of this machine, the files
  of a handful of packages and the copyright file of every package.
- python-base (2): debian-base + current wheels unpacked into /usr/local/lib/python3.11/site-packages.
- app-python (3): python-base + old vulnerable releases (requests 2.19.1, urllib3 1.24.1,
  jinja2 2.10, pyyaml 5.3, ...) + a layer that whites out `six` 1.11.0 again.
- app-python-plugin (4): app-python + werkzeug 0.14.1 and a plugin.
- app-node (2): debian-base + an npm tree (express 4.17.1, lodash 4.17.15, ...) in /app.
- rpm-base (1): the real rpm database fixture at /var/lib/rpm/rpmdb.sqlite.
- alpine-base (1): the real Alpine `installed` database fixture (skipped when absent).
- debian-base-multiarch (1): an index over linux/amd64 (debian-base) and linux/arm64/v8.
- debian-base-rebuilt (1): debian-base rebuilt: same tag, one extra layer, new digest.
- noannot/* (1-4): the 4-level chain again without base-image annotations.

Levels 2-4 carry `org.opencontainers.image.base.name` / `base.digest` annotations naming their
parent. `--docker-archive` also writes `OUT/app-python.docker.tar` (a `docker save` tarball).
"""

from __future__ import annotations

import argparse
import fnmatch
import hashlib
import json
import os
import re
import shutil
import stat
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from imagebuilder import BuiltLayer, FileEntry, OciLayoutWriter, make_layer, write_docker_archive

EXAMPLES = Path(__file__).resolve().parent
REPO = EXAMPLES.parent
SITE = "/usr/local/lib/python3.11/site-packages"
REGISTRY = "keelwatch.example"
SOURCE = "https://github.com/keelwatch/keelwatch"
CREATED = "2024-06-01T00:00:00Z"

# Packages of this machine whose files go into debian-base (the status file lists all of them).
DEB_FILES_OF = (
    "base-files",
    "bash",
    "coreutils",
    "libc6",
    "dpkg",
    "perl-base",
    "tar",
    "grep",
    "sed",
    "gzip",
    "findutils",
    "debianutils",
    "util-linux",
    "libssl3",
    "zlib1g",
    "ncurses-base",
    "apt",
    "libstdc++6",
)
MERGED_USR = {"bin": "usr/bin", "lib": "usr/lib", "lib64": "usr/lib64", "sbin": "usr/sbin"}

# python-base: current releases, all published as wheels.
PYTHON_BASE_WHEELS = (
    "pip==24.3.1",
    "setuptools==75.6.0",
    "wheel==0.45.1",
    "six==1.16.0",
    "packaging==24.2",
    "attrs==24.2.0",
    "click==8.1.7",
    "pygments==2.18.0",
    "typing_extensions==4.12.2",
    "python-dateutil==2.9.0.post0",
    "pytz==2024.2",
    "tomli==2.2.1",
)
# app-python: old releases with known vulnerabilities. pyyaml 5.3 and markupsafe 1.1.0 have no
# wheel for Python 3.11 on PyPI, so they are built from their sdists with `pip wheel`.
APP_PYTHON_WHEELS = (
    "requests==2.19.1",
    "urllib3==1.24.1",
    "jinja2==2.10",
    "certifi==2018.4.16",
    "idna==2.7",
    "chardet==3.0.4",
)
APP_PYTHON_SDISTS = ("pyyaml==5.3", "markupsafe==1.1.0")
# Installed in app-python's first layer and deleted by a whiteout in its second.
DELETED_WHEEL = "six==1.11.0"
PLUGIN_WHEELS = ("werkzeug==0.14.1",)


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- file trees


class Tree:
    """Entries of one layer keyed by path; parent directories are added implicitly."""

    def __init__(self) -> None:
        self.entries: dict[str, FileEntry] = {}

    def _parents(self, path: str) -> None:
        parts = path.strip("/").split("/")[:-1]
        for i in range(1, len(parts) + 1):
            d = "/".join(parts[:i])
            if d not in self.entries:
                self.entries[d] = FileEntry(d, type="dir", mode=0o755)

    def add(self, entry: FileEntry) -> None:
        entry.path = entry.path.strip("/")
        self._parents(entry.path)
        self.entries[entry.path] = entry

    def file(self, path: str, data: bytes, mode: int = 0o644) -> None:
        self.add(FileEntry(path, data=data, mode=mode))

    def symlink(self, path: str, target: str) -> None:
        self.add(FileEntry(path, type="symlink", linkname=target))

    def host(self, path: str) -> None:
        """Copy one path of this machine (file, symlink or directory itself), merged-usr aware."""
        canonical = canonical_path(path)
        try:
            st = os.lstat(canonical)
        except OSError:
            return
        mode = stat.S_IMODE(st.st_mode)
        if stat.S_ISLNK(st.st_mode):
            self.add(FileEntry(canonical, type="symlink", linkname=os.readlink(canonical)))
        elif stat.S_ISDIR(st.st_mode):
            if canonical.strip("/") not in self.entries:
                self.add(FileEntry(canonical, type="dir", mode=mode))
        elif stat.S_ISREG(st.st_mode):
            try:
                data = Path(canonical).read_bytes()
            except OSError:
                return
            self.add(FileEntry(canonical, data=data, mode=mode))

    def layer(self) -> BuiltLayer:
        return make_layer([self.entries[k] for k in sorted(self.entries)])


def canonical_path(path: str) -> str:
    """Resolve symlinked parent directories (/bin -> /usr/bin) so no tar entry goes through a link."""
    head, base = os.path.split(path)
    return os.path.join(os.path.realpath(head), base)


# --------------------------------------------------------------------------- downloads


@dataclass
class Downloads:
    """Cached downloads from PyPI and npm under one directory (never re-fetched once present)."""

    root: Path
    wheels: Path = field(init=False)

    def __post_init__(self) -> None:
        self.wheels = self.root / "wheels"
        self.wheels.mkdir(parents=True, exist_ok=True)

    def _cached(self, spec: str) -> Path | None:
        name, version = spec.split("==")
        stem = re.sub(r"[-_.]+", "_", name).lower()
        for whl in sorted(self.wheels.glob("*.whl")):
            parts = whl.name.split("-")
            if re.sub(r"[-_.]+", "_", parts[0]).lower() == stem and parts[1] == version:
                return whl
        return None

    def wheel(self, spec: str, build: bool = False) -> Path:
        """The wheel of `name==version`: downloaded (or built from the sdist when `build`)."""
        if hit := self._cached(spec):
            return hit
        pip = pip_command()
        if build:
            cmd = [*pip, "wheel", "--no-deps", "--no-cache-dir", "-w", str(self.wheels), spec]
        else:
            cmd = [*pip, "download", "--no-deps", "--only-binary=:all:", "--python-version", "3.11"]
            cmd += ["--dest", str(self.wheels), spec]
        log(f"  fetching {spec} ({'pip wheel' if build else 'pip download'})")
        run(cmd)
        if hit := self._cached(spec):
            return hit
        raise SystemExit(f"pip did not produce a wheel for {spec}")

    def npm_tree(self) -> Path:
        """`npm ci` of examples/app-node (package-lock.json pins every version); cached."""
        target = self.root / "npm" / "app"
        lock = EXAMPLES / "app-node" / "package-lock.json"
        stamp = target / ".keelwatch-lock-sha256"
        digest = hashlib.sha256(lock.read_bytes()).hexdigest()
        if stamp.is_file() and stamp.read_text() == digest:
            return target
        if target.exists():
            shutil.rmtree(target)
        target.mkdir(parents=True)
        for name in ("package.json", "package-lock.json"):
            shutil.copy(EXAMPLES / "app-node" / name, target / name)
        log("  npm ci (examples/app-node/package-lock.json)")
        run(
            [
                "npm",
                "ci",
                "--no-audit",
                "--no-fund",
                "--ignore-scripts",
                "--cache",
                str(self.root / "npm-cache"),
            ],
            cwd=target,
        )
        stamp.write_text(digest)
        return target


def run(cmd: list[str], cwd: Path | None = None) -> None:
    """Run a download tool quietly; show its output only when it fails."""
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    if proc.returncode != 0:
        sys.stderr.write(proc.stdout + proc.stderr)
        raise SystemExit(f"{' '.join(cmd[:3])} ... failed with exit code {proc.returncode}")


def pip_command() -> list[str]:
    """A pip to download with: this interpreter's, else the first pip3/pip on PATH."""
    import importlib.util

    if importlib.util.find_spec("pip") is not None:
        return [sys.executable, "-m", "pip"]
    for name in ("pip3", "pip"):
        if found := shutil.which(name):
            return [found]
    raise SystemExit("no pip found: install pip (or run with a Python that has it)")


def install_wheel(tree: Tree, wheel: Path, site: str = SITE) -> str:
    """Unpack a wheel as pip installs it (purelib/platlib into site-packages); returns its dist-info."""
    dist_info = ""
    with zipfile.ZipFile(wheel) as zf:
        for info in sorted(zf.infolist(), key=lambda i: i.filename):
            if info.is_dir():
                continue
            name = info.filename
            data = zf.read(info)
            mode = 0o755 if (info.external_attr >> 16) & 0o111 else 0o644
            top, _, rest = name.partition("/")
            if top.endswith(".data"):
                kind, _, sub = rest.partition("/")
                if kind in ("purelib", "platlib"):
                    tree.file(f"{site}/{sub}", data, mode)
                elif kind == "scripts":
                    if data.startswith(b"#!python"):
                        data = b"#!/usr/local/bin/python3" + data[len(b"#!python") :]
                    tree.file(f"/usr/local/bin/{sub}", data, 0o755)
                elif kind == "data":
                    tree.file(f"/usr/local/{sub}", data, mode)
                continue
            if top.endswith(".dist-info"):
                dist_info = top
            tree.file(f"{site}/{name}", data, mode)
    if dist_info:
        tree.file(f"{site}/{dist_info}/INSTALLER", b"pip\n")
    return dist_info


# --------------------------------------------------------------------------- images


@dataclass
class Built:
    """An image's layers and metadata, so children can extend it and variants reuse it."""

    name: str
    tag: str
    layers: list[BuiltLayer]
    history: list[str]
    labels: dict[str, str]
    annotations: dict[str, str]
    platform: str = "linux/amd64"
    parent: Built | None = None
    digest: str = ""
    env: list[str] | None = None

    @property
    def full_name(self) -> str:
        return f"{REGISTRY}/{self.name}:{self.tag}"


def oci_metadata(name: str, version: str, description: str) -> dict[str, str]:
    return {
        "org.opencontainers.image.authors": "keelwatch maintainers <keelwatch@example.org>",
        "org.opencontainers.image.version": version,
        "org.opencontainers.image.source": SOURCE,
        "org.opencontainers.image.revision": hashlib.sha1(f"{name}:{version}".encode()).hexdigest(),
        "org.opencontainers.image.vendor": "keelwatch examples",
        "org.opencontainers.image.created": CREATED,
        "org.opencontainers.image.title": name,
        "org.opencontainers.image.description": description,
    }


def child(
    parent: Built, name: str, tag: str, layers: list[BuiltLayer], history: list[str], desc: str
) -> Built:
    meta = oci_metadata(name, tag, desc)
    return Built(
        name=name,
        tag=tag,
        layers=parent.layers + layers,
        history=parent.history + history,
        labels={**parent.labels, **meta},
        annotations=meta,
        parent=parent,
        env=parent.env,
    )


def debian_tree() -> Tree:
    tree = Tree()
    for link, target in MERGED_USR.items():
        tree.symlink(link, target)
    for path in ("/etc/os-release", "/usr/lib/os-release", "/etc/debian_version"):
        tree.host(path)
    for d in ("/var/lib/dpkg", "/var/lib/dpkg/info", "/usr/share/doc"):
        tree.host(d)
    tree.host("/var/lib/dpkg/status")
    for info in sorted(Path("/var/lib/dpkg/info").iterdir()):
        tree.host(str(info))
    for doc in sorted(Path("/usr/share/doc").iterdir()):
        tree.host(str(doc))
        if not doc.is_symlink():
            tree.host(str(doc / "copyright"))
    listing = subprocess.run(
        ["dpkg-query", "-L", *DEB_FILES_OF], check=True, capture_output=True, text=True
    ).stdout
    for path in listing.splitlines():
        if path.startswith("/") and not path.startswith("/usr/share/locale"):
            tree.host(path)
    return tree


def build_debian_base() -> Built:
    layer = debian_tree().layer()
    meta = oci_metadata("debian-base", "12", "Debian 12 from this machine's package database")
    return Built(
        name="debian-base",
        tag="12",
        layers=[layer],
        history=["COPY debian rootfs (dpkg status, info, files of base packages) /"],
        labels=dict(meta),
        annotations=meta,
    )


def build_python_base(debian: Built, dl: Downloads) -> Built:
    tree = Tree()
    for spec in PYTHON_BASE_WHEELS:
        install_wheel(tree, dl.wheel(spec))
    out = child(
        debian,
        "python-base",
        "3.11",
        [tree.layer()],
        ["RUN pip install " + " ".join(PYTHON_BASE_WHEELS)],
        "Python 3.11 site-packages on debian-base",
    )
    out.env = ["PATH=/usr/local/bin:/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin", "PYTHON_VERSION=3.11"]
    return out


def build_app_python(python: Built, dl: Downloads) -> Built:
    deps = Tree()
    for spec in APP_PYTHON_WHEELS:
        install_wheel(deps, dl.wheel(spec))
    for spec in APP_PYTHON_SDISTS:
        install_wheel(deps, dl.wheel(spec, build=True))
    six_tree = Tree()
    dist_info = install_wheel(six_tree, dl.wheel(DELETED_WHEEL))
    for entry in six_tree.entries.values():
        deps.add(entry)
    app = Tree()
    app.file("/app/app.py", b'import requests\n\nprint(requests.get("https://example.org").status_code)\n')
    # six 1.11.0 was installed by the layer above; this one deletes it again.
    app.add(FileEntry(f"{SITE}/{dist_info}", type="whiteout"))
    app.add(FileEntry(f"{SITE}/six.py", type="whiteout"))
    specs = APP_PYTHON_WHEELS + APP_PYTHON_SDISTS + (DELETED_WHEEL,)
    return child(
        python,
        "app-python",
        "1.0",
        [deps.layer(), app.layer()],
        ["RUN pip install " + " ".join(specs), "COPY app.py /app/ && pip uninstall six"],
        "Example Python application with old, vulnerable dependencies",
    )


def build_plugin(app: Built, dl: Downloads) -> Built:
    tree = Tree()
    for spec in PLUGIN_WHEELS:
        install_wheel(tree, dl.wheel(spec))
    tree.file("/app/plugin.py", b"from werkzeug.wrappers import Request  # noqa: F401\n")
    return child(
        app,
        "app-python-plugin",
        "1.0",
        [tree.layer()],
        ["RUN pip install " + " ".join(PLUGIN_WHEELS) + " && COPY plugin.py /app/"],
        "app-python with a plugin (level 4 of the lineage chain)",
    )


def build_app_node(debian: Built, dl: Downloads) -> Built:
    src = dl.npm_tree()
    tree = Tree()
    for name in ("package.json", "package-lock.json"):
        tree.file(f"/app/{name}", (src / name).read_bytes())
    for path in sorted((src / "node_modules").rglob("*")):
        rel = "/app/" + path.relative_to(src).as_posix()
        if path.is_symlink():
            tree.symlink(rel, os.readlink(path))
        elif path.is_file():
            tree.file(rel, path.read_bytes(), 0o755 if os.access(path, os.X_OK) else 0o644)
    tree.file("/app/index.js", b"const express = require('express');\nexpress().listen(3000);\n")
    return child(
        debian,
        "app-node",
        "1.0",
        [tree.layer()],
        ["COPY app /app (npm ci)"],
        "Example Node.js application with old, vulnerable dependencies",
    )


def build_rpm_base() -> Built:
    db = REPO / "tests" / "fixtures" / "rpm" / "sqlite" / "rpmdb.sqlite"
    if not db.is_file():
        raise LookupError(f"rpm database fixture {db} not found")
    tree = Tree()
    tree.file("/var/lib/rpm/rpmdb.sqlite", db.read_bytes())
    meta = oci_metadata("rpm-base", "1.0", "The real rpm database fixture of tests/fixtures/rpm")
    return Built("rpm-base", "1.0", [tree.layer()], ["COPY rpmdb.sqlite /var/lib/rpm/"], meta, meta)


def find_apk_db() -> Path | None:
    root = REPO / "tests" / "fixtures" / "catalog"
    if not root.is_dir():
        return None
    hits = [p for p in sorted(root.rglob("*")) if p.is_file() and fnmatch.fnmatch(p.name, "installed*")]
    return hits[0] if hits else None


def build_alpine_base() -> Built:
    db = find_apk_db()
    if db is None:
        raise LookupError("no Alpine `installed` database fixture under tests/fixtures/catalog yet")
    tree = Tree()
    tree.file("/lib/apk/db/installed", db.read_bytes())
    release = db.parent / "os-release"
    if release.is_file():
        tree.file("/etc/os-release", release.read_bytes())
    meta = oci_metadata("alpine-base", "1.0", f"The real Alpine package database {db.relative_to(REPO)}")
    return Built("alpine-base", "1.0", [tree.layer()], ["COPY installed /lib/apk/db/"], meta, meta)


# --------------------------------------------------------------------------- writing


def write_image(out: Path, image: Built, *, base_annotations: bool = True) -> str:
    """One layout directory, written beside and renamed into place (never half-written)."""
    annotations = manifest_annotations(image, base_annotations)
    target = out / image.name
    tmp = Path(tempfile.mkdtemp(dir=out, prefix=f".{image.name}."))
    digest = OciLayoutWriter(tmp).add_image(
        image.layers,
        tag=image.tag,
        labels=image.labels,
        annotations=annotations,
        platform=image.platform,
        history=image.history,
        created=CREATED,
        env=image.env,
    )
    replace_dir(tmp, target)
    return digest


def manifest_annotations(image: Built, base_annotations: bool = True) -> dict[str, str]:
    """The image's annotations plus, for levels 2+, the base-image ones naming its parent."""
    annotations = dict(image.annotations)
    if base_annotations and image.parent is not None:
        annotations["org.opencontainers.image.base.name"] = image.parent.full_name
        annotations["org.opencontainers.image.base.digest"] = image.parent.digest
    return annotations


def replace_dir(tmp: Path, target: Path) -> None:
    if target.exists():
        old = target.with_name(f".{target.name}.old")
        if old.exists():
            shutil.rmtree(old)
        target.rename(old)
        tmp.rename(target)
        shutil.rmtree(old)
    else:
        tmp.rename(target)


def write_multiarch(out: Path, debian: Built) -> str:
    """amd64 is debian-base itself; arm64 has the same package database but no amd64 binaries."""
    tree = Tree()
    for path in ("/etc/os-release", "/usr/lib/os-release", "/var/lib/dpkg/status"):
        tree.host(path)
    arm = tree.layer()
    tmp = Path(tempfile.mkdtemp(dir=out, prefix=".multiarch."))
    w = OciLayoutWriter(tmp)
    kw = {"labels": debian.labels, "history": debian.history, "created": CREATED, "tag": None}
    amd = w.add_image(debian.layers, platform="linux/amd64", **kw)  # type: ignore[arg-type]
    arm64 = w.add_image([arm], platform="linux/arm64/v8", **kw)  # type: ignore[arg-type]
    digest = w.add_index([amd, arm64], tag=debian.tag, annotations=debian.annotations)
    replace_dir(tmp, out / "debian-base-multiarch")
    return digest


def build_rebuilt(debian: Built) -> Built:
    """debian-base after a rebuild: same name and tag, an extra layer, so a new digest."""
    tree = Tree()
    tree.file("/etc/keelwatch-rebuild", b"rebuilt 2024-07-01\n")
    tree.host("/etc/debian_version")
    meta = oci_metadata("debian-base", "12", "debian-base, rebuilt")
    meta["org.opencontainers.image.created"] = "2024-07-01T00:00:00Z"
    out = Built(
        "debian-base-rebuilt",
        "12",
        debian.layers + [tree.layer()],
        debian.history + ["RUN apt-get upgrade (rebuild)"],
        {**debian.labels, **meta},
        meta,
    )
    return out


IMAGES = (
    "debian-base",
    "python-base",
    "app-python",
    "app-python-plugin",
    "app-node",
    "rpm-base",
    "alpine-base",
    "debian-base-multiarch",
    "debian-base-rebuilt",
    "noannot",
)


def build(
    out: Path,
    only: Iterable[str] | None = None,
    docker_archive: bool = False,
    downloads: Path | None = None,
) -> dict[str, str]:
    """Build the selected images (all by default) into `out`; returns name -> manifest digest.

    Downloads are cached in `downloads` (default `out/.downloads`).
    """
    wanted = set(only or IMAGES)
    unknown = wanted - set(IMAGES)
    if unknown:
        raise SystemExit(f"unknown image(s): {', '.join(sorted(unknown))} (known: {', '.join(IMAGES)})")
    out.mkdir(parents=True, exist_ok=True)
    dl = Downloads(downloads or out / ".downloads")
    built: dict[str, str] = {}

    def timed(name: str, fn: Callable[[], str]) -> None:
        start = time.perf_counter()
        built[name] = fn()
        log(f"built {name:<24} {built[name][:19]}  {time.perf_counter() - start:5.1f}s")

    needs_chain = wanted & {"python-base", "app-python", "app-python-plugin", "noannot"}
    needs_debian = needs_chain or wanted & {
        "debian-base",
        "app-node",
        "debian-base-multiarch",
        "debian-base-rebuilt",
    }
    if not needs_debian and not docker_archive:
        debian = None
    else:
        debian = build_debian_base()
        debian.digest = write_image(out, debian) if "debian-base" in wanted else _digest_only(debian)
        if "debian-base" in wanted:
            built["debian-base"] = debian.digest
            log(f"built {'debian-base':<24} {debian.digest[:19]}")
    chain: list[Built] = []
    if debian is not None and (needs_chain or docker_archive):
        python = build_python_base(debian, dl)
        python.digest = _write_or_digest(out, python, "python-base" in wanted, built)
        app = build_app_python(python, dl)
        app.digest = _write_or_digest(out, app, "app-python" in wanted, built)
        plugin = build_plugin(app, dl)
        plugin.digest = _write_or_digest(out, plugin, "app-python-plugin" in wanted, built)
        chain = [debian, python, app, plugin]
        if docker_archive:
            path = out / "app-python.docker.tar"
            write_docker_archive(
                path,
                app.layers,
                repo_tag=app.full_name,
                labels=app.labels,
                history=app.history,
                created=CREATED,
                env=app.env,
            )
            log(f"built {path.name:<24} (docker save tarball)")
    if debian is not None and "app-node" in wanted:
        node = build_app_node(debian, dl)
        timed("app-node", lambda: write_image(out, node))
    if debian is not None and "debian-base-multiarch" in wanted:
        timed("debian-base-multiarch", lambda: write_multiarch(out, debian))
    if debian is not None and "debian-base-rebuilt" in wanted:
        rebuilt = build_rebuilt(debian)
        timed("debian-base-rebuilt", lambda: write_image(out, rebuilt))
    if "noannot" in wanted and chain:
        (out / "noannot").mkdir(exist_ok=True)
        for image in chain:
            built[f"noannot/{image.name}"] = write_image(out / "noannot", image, base_annotations=False)
        log(f"built {'noannot/* (4 levels)':<24}")
    for name, fn in (("rpm-base", build_rpm_base), ("alpine-base", build_alpine_base)):
        if name in wanted:
            try:
                image = fn()
            except LookupError as exc:
                log(f"skipped {name}: {exc}")
                continue
            timed(name, lambda image=image: write_image(out, image))
    (out / "images.json").write_text(json.dumps(built, indent=2, sort_keys=True) + "\n")
    return built


def _digest_only(image: Built) -> str:
    """The manifest digest an image would have, by writing it to a throwaway layout."""
    with tempfile.TemporaryDirectory() as tmp:
        return OciLayoutWriter(tmp).add_image(
            image.layers,
            tag=None,
            labels=image.labels,
            annotations=manifest_annotations(image),
            platform=image.platform,
            history=image.history,
            created=CREATED,
            env=image.env,
        )


def _write_or_digest(out: Path, image: Built, wanted: bool, built: dict[str, str]) -> str:
    if not wanted:
        return _digest_only(image)
    start = time.perf_counter()
    digest = write_image(out, image)
    built[image.name] = digest
    log(f"built {image.name:<24} {digest[:19]}  {time.perf_counter() - start:5.1f}s")
    return digest


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", type=Path, required=True, help="directory for the OCI layouts")
    parser.add_argument("--only", nargs="+", metavar="NAME", help=f"build only these ({', '.join(IMAGES)})")
    parser.add_argument("--docker-archive", action="store_true", help="also write app-python.docker.tar")
    parser.add_argument("--downloads", type=Path, help="download cache (default OUT/.downloads)")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    built = build(args.out, args.only, args.docker_archive, args.downloads)
    log(f"{len(built)} image(s) in {args.out} ({time.perf_counter() - start:.1f}s)")
    for name, digest in sorted(built.items()):
        print(f"{name}\toci:{args.out / name}\t{digest}")


if __name__ == "__main__":
    main()
