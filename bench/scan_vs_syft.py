"""keelwatch scan vs Syft on the example images, in one run, alternating, side by side.

    uv run python bench/scan_vs_syft.py [--images DIR] [--reps 3] [--only debian-base app-python]

For every image both tools run `--reps` times, alternating (keelwatch, Syft, keelwatch, ...),
each cold: keelwatch with an empty KEELWATCH_HOME, Syft as it always runs (it has no cache).
Then the re-scan case: keelwatch scans debian-base into a fresh home (untimed) and app-python
is timed against Syft's scan of app-python; then app-python with every layer cached, and with
keelwatch's default scan (matched against the vulnerability data of --data, loaded untimed, and
kept in the store; then with an empty store), alternating with Syft. Each child is measured
on its own (GNU time, else wait4()): wall time, CPU time and peak RSS. Packages are compared
per type as name@version sets (Python names normalised as PEP 503 does, since the tools spell
them differently).
Prints a Markdown report and writes it, with the raw outputs, to bench/out/.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
COMPARED = ("debian-base", "python-base", "app-python", "app-node", "rpm-base", "alpine-base")


@dataclass
class Run:
    wall: float
    cpu: float  # user + system seconds: steadier than wall time on a shared machine
    rss_mb: float


@dataclass
class Tool:
    name: str
    runs: list[Run] = field(default_factory=list)

    def median(self, attr: str) -> float:
        return statistics.median(getattr(r, attr) for r in self.runs)


TIME = shutil.which("time", path="/usr/bin:/bin")


def measure(cmd: list[str], env: dict[str, str]) -> Run:
    """One child's wall time, CPU time and peak RSS.

    Through GNU time when present: a child forked from this (large) Python process starts with
    its RSS, so wait4's ru_maxrss would report this process's size for small scans.
    """
    with tempfile.NamedTemporaryFile("r", suffix=".time") as stats:
        full = [TIME, "-f", "%e %U %S %M", "-o", stats.name, *cmd] if TIME else cmd
        start = time.perf_counter()
        proc = subprocess.Popen(full, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        assert proc.stderr is not None
        err = proc.stderr.read()
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        code = os.waitstatus_to_exitcode(status)
        if code != 0:
            tail = err.decode(errors="replace")[-2000:]
            raise SystemExit(f"{' '.join(cmd)} failed ({code}): {tail}")
        if TIME:
            e, u, s, m = stats.read().split()[-4:]
            return Run(wall=float(e), cpu=float(u) + float(s), rss_mb=int(m) / 1024)
    return Run(wall=wall, cpu=usage.ru_utime + usage.ru_stime, rss_mb=usage.ru_maxrss / 1024)


def keelwatch_cmd(image: Path, out: Path, *, store: bool = False) -> list[str]:
    """A catalogue-only scan, like Syft's (no vulnerability matching, nothing kept in the store);
    with `store`, keelwatch's default scan: matched against the stored data and kept."""
    cmd = [str(VENV_BIN / "keelwatch"), "scan", f"oci:{image}", "--format", "json", "--quiet"]
    return [*cmd, "-o", str(out)] if store else [*cmd, "--no-vulns", "--no-store", "-o", str(out)]


def compile_bytecode() -> None:
    """Compile keelwatch's own modules once, as an installed wheel would be.

    `uv sync --compile-bytecode` compiles site-packages only, not the editable source tree, and
    with PYTHONDONTWRITEBYTECODE set (as on the shared machine) every run would recompile
    ~150 modules (~0.2 s): start-up cost no user pays.
    """
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(REPO / "src" / "keelwatch")], check=True)


def load_data(home: Path, data: Path) -> None:
    """Import the vulnerability data (untimed) so the store scans match against real records."""
    subprocess.run(
        [str(VENV_BIN / "keelwatch"), "db", "update", "--from", str(data)],
        env=base_env(home),
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def syft_cmd(image: Path, out: Path) -> list[str]:
    return [str(VENV_BIN / "syft"), "scan", f"oci-dir:{image}", "-o", f"syft-json={out}", "-q"]


def base_env(home: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["KEELWATCH_HOME"] = str(home)
    env["SYFT_CHECK_FOR_APP_UPDATE"] = "false"
    return env


def norm(kind: str, name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower() if kind == "python" else name


def keelwatch_packages(path: Path) -> dict[str, set[str]]:
    out: dict[str, set[str]] = defaultdict(set)
    for p in json.loads(path.read_text())["packages"]:
        out[p["type"]].add(f"{norm(p['type'], p['name'])}@{p['version']}")
    return out


def syft_packages(path: Path) -> dict[str, set[str]]:
    out: dict[str, set[str]] = defaultdict(set)
    for a in json.loads(path.read_text())["artifacts"]:
        out[a["type"]].add(f"{norm(a['type'], a['name'])}@{a['version']}")
    return out


def compare_table(name: str, kw: dict[str, set[str]], sy: dict[str, set[str]]) -> list[str]:
    lines = [
        f"#### {name}",
        "",
        "| type | keelwatch | Syft | only keelwatch | only Syft |",
        "|---|---|---|---|---|",
    ]
    for kind in sorted(set(kw) | set(sy)):
        a, b = kw.get(kind, set()), sy.get(kind, set())
        only_a = ", ".join(sorted(a - b)) or "-"
        only_b = ", ".join(sorted(b - a)) or "-"
        lines.append(f"| {kind} | {len(a)} | {len(b)} | {only_a} | {only_b} |")
    return lines + [""]


def ensure_images(images: Path, names: list[str]) -> None:
    missing = [n for n in names if not (images / n / "index.json").is_file()]
    if missing:
        print(f"building {', '.join(missing)} ...", file=sys.stderr)
        subprocess.run(
            [
                sys.executable,
                str(REPO / "examples" / "build_images.py"),
                "--out",
                str(images),
                "--only",
                *missing,
            ],
            check=True,
        )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--images", type=Path, default=REPO / ".keelwatch-run" / "images")
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--only", nargs="+", help=f"images to compare (default: {' '.join(COMPARED)})")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "out")
    parser.add_argument(
        "--data", type=Path, default=REPO.parent / "shared" / "data", help="vulnerability data to load"
    )
    args = parser.parse_args()
    names = list(args.only or COMPARED)
    if "alpine-base" in names and not args.only:
        ensure_images(args.images, [n for n in names if n != "alpine-base"])
        if not (args.images / "alpine-base" / "index.json").is_file():
            names.remove("alpine-base")
    else:
        ensure_images(args.images, names)
    ensure_images(args.images, ["debian-base", "app-python"])
    args.out.mkdir(parents=True, exist_ok=True)
    compile_bytecode()
    scratch = Path(tempfile.mkdtemp(prefix="kw-bench-"))
    report = ["## Packages found", ""]
    timing = [
        f"## Time and memory (median of {args.reps} alternating runs; ratio = keelwatch / Syft)",
        "",
        "| image | case | keelwatch s | Syft s | time ratio | CPU s (kw / Syft) | CPU ratio "
        "| keelwatch MB | Syft MB | memory ratio |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]

    def row(name: str, case: str, kw: Tool, sy: Tool) -> str:
        kt, st = kw.median("wall"), sy.median("wall")
        km, sm = kw.median("rss_mb"), sy.median("rss_mb")
        kc, sc = kw.median("cpu"), sy.median("cpu")
        cpu = f"{kc:.2f} / {sc:.2f} | {kc / sc:.2f}x"
        ratios = f"**{kt / st:.2f}x** | {cpu} | {km:.0f} | {sm:.0f} | {km / sm:.2f}x"
        return f"| {name} | {case} | {kt:.2f} | {st:.2f} | {ratios} |"

    try:
        syft_runs: dict[str, Tool] = {}
        for name in names:
            image = args.images / name
            kw, sy = Tool("keelwatch"), Tool("syft")
            kw_out, sy_out = args.out / f"{name}.keelwatch.json", args.out / f"{name}.syft.json"
            for rep in range(args.reps):
                home = scratch / f"home-{name}-{rep}"
                kw.runs.append(measure(keelwatch_cmd(image, kw_out), base_env(home)))
                sy.runs.append(measure(syft_cmd(image, sy_out), base_env(home)))
                shutil.rmtree(home, ignore_errors=True)
            syft_runs[name] = sy
            timing.append(row(name, "cold", kw, sy))
            report += compare_table(name, keelwatch_packages(kw_out), syft_packages(sy_out))
            print(
                f"{name}: keelwatch {kw.median('wall'):.2f}s, syft {sy.median('wall'):.2f}s", file=sys.stderr
            )

        # Re-scan: the base's layers are already catalogued in the cache.
        app = args.images / "app-python"
        kw, sy = Tool("keelwatch"), syft_runs.get("app-python") or Tool("syft")
        fill_sy = not sy.runs
        for rep in range(args.reps):
            home = scratch / f"home-rescan-{rep}"
            measure(keelwatch_cmd(args.images / "debian-base", scratch / "warm.json"), base_env(home))
            kw.runs.append(measure(keelwatch_cmd(app, scratch / "rescan.json"), base_env(home)))
            if fill_sy:
                sy.runs.append(measure(syft_cmd(app, scratch / "rescan.syft.json"), base_env(home)))
            shutil.rmtree(home, ignore_errors=True)
        timing.append(row("app-python", "re-scan (debian-base cached)", kw, sy))
        # And the same image again: every layer cached.
        kw2 = Tool("keelwatch")
        home = scratch / "home-same"
        measure(keelwatch_cmd(app, scratch / "warm2.json"), base_env(home))
        for _ in range(args.reps):
            kw2.runs.append(measure(keelwatch_cmd(app, scratch / "rescan2.json"), base_env(home)))
        timing.append(row("app-python", "re-scan (all layers cached)", kw2, sy))
        # keelwatch's default scan of the same image, all layers cached: matched against the
        # stored vulnerability data and kept in the store; alternating with Syft in this run.
        cases = (("with the store and vulnerability data", args.data), ("with the store, no data", None))
        for case, data in cases:
            if data is not None and not data.is_dir():
                print(f"{data}: no vulnerability data, case skipped", file=sys.stderr)
                continue
            kw3, sy3 = Tool("keelwatch"), Tool("syft")
            home = scratch / f"home-store-{len(timing)}"
            if data is not None:
                load_data(home, data)
            kw_store = keelwatch_cmd(app, scratch / "rescan3.json", store=True)
            measure(kw_store, base_env(home))  # fills the layer cache and the store
            for _ in range(args.reps):
                kw3.runs.append(measure(kw_store, base_env(home)))
                sy3.runs.append(measure(syft_cmd(app, scratch / "rescan3.syft.json"), base_env(home)))
            timing.append(row("app-python", f"re-scan (all layers cached), {case}", kw3, sy3))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)

    syft_version = subprocess.run([str(VENV_BIN / "syft"), "version"], capture_output=True, text=True).stdout
    version = next((ln.split()[-1] for ln in syft_version.splitlines() if ln.startswith("Version")), "?")
    head = [
        "# keelwatch scan vs Syft",
        "",
        f"Syft {version}; {os.cpu_count()} CPUs; images from examples/build_images.py in {args.images}.",
        "",
    ]
    text = "\n".join(head + timing + [""] + report)
    (args.out / "scan_vs_syft.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
