"""Where keelwatch keeps its data and how it connects to its store.

Everything keelwatch writes lives under one data directory, so nothing is
written outside the tool's own directories:

- `KEELWATCH_HOME` if set, else `$XDG_DATA_HOME/keelwatch`, else `~/.local/share/keelwatch`.
- The store URL is `KEELWATCH_DB_URL` if set, else SQLite at `<home>/keelwatch.db`.
- Optional settings file `<home>/config.toml` (or `KEELWATCH_CONFIG`); see README "Configuration".
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


def data_home() -> Path:
    """The tool's own directory; created on first use."""
    if env := os.environ.get("KEELWATCH_HOME"):
        path, name = Path(env), "KEELWATCH_HOME"
    elif xdg := os.environ.get("XDG_DATA_HOME"):
        path, name = Path(xdg) / "keelwatch", "XDG_DATA_HOME"
    else:
        path, name = Path.home() / ".local" / "share" / "keelwatch", "data directory"
    _make_dir(path, name)
    return path


def cache_dir() -> Path:
    """Layer catalogue cache (keyed by diff_id) and other rebuildable data."""
    path = data_home() / "cache"
    _make_dir(path, "cache directory")
    return path


def _make_dir(path: Path, name: str) -> None:
    from keelwatch.errors import KeelwatchError

    try:
        path.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise KeelwatchError(f"{name} {path} is not a directory") from None
    except OSError as exc:
        raise KeelwatchError(f"{name} {path}: cannot create it: {exc.strerror}") from None


def db_url() -> str:
    """SQLAlchemy URL of the store: embedded SQLite unless a URL is configured."""
    if env := os.environ.get("KEELWATCH_DB_URL"):
        return env
    if url := load_settings().db_url:
        return url
    return f"sqlite:///{data_home() / 'keelwatch.db'}"


@dataclass
class Settings:
    """Optional settings from config.toml; every field has a sensible default."""

    db_url: str | None = None
    actor: str | None = None  # who is acting, until the service adds tokens
    team: str | None = None  # the actor's team; only the expert team approves
    expert_team: str = "platform-experts"
    max_data_age_days: float = 5  # as Grype: older data makes the gate fail closed
    raw: dict[str, Any] = field(default_factory=dict)


# config.toml: section -> key -> (accepted types, how to say it). Unknown keys are left alone.
_TEXT = ((str,), "a string")
_FLAG = ((bool,), "true or false")
_TEXTS = ((list,), "a list of strings")
SCHEMA: dict[str, dict[str, tuple[tuple[type, ...], str]]] = {
    "store": {"url": _TEXT},
    "identity": {"actor": _TEXT, "team": _TEXT},
    "governance": {"expert_team": _TEXT, "require_policy_on_approve": _FLAG, "base_namespace": _TEXT},
    "vulndb": {
        "max_age_days": ((int,), "a whole number of days"),
        "osv_ecosystems": _TEXTS,
        "alpine_branches": _TEXTS,
    },
}


def load_settings() -> Settings:
    path = Path(os.environ.get("KEELWATCH_CONFIG") or (data_home() / "config.toml"))
    if not path.exists():
        return Settings(actor=os.environ.get("KEELWATCH_ACTOR"), team=os.environ.get("KEELWATCH_TEAM"))
    from keelwatch.errors import KeelwatchError
    from keelwatch.userfile import read_text

    text = read_text(path, what="settings file", limit=1024 * 1024, error=KeelwatchError)
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise KeelwatchError(f"{path}: invalid settings file: {exc}") from None
    except RecursionError:
        raise KeelwatchError(f"{path}: invalid settings file: nested too deeply") from None
    _check_types(raw, path)
    identity = raw.get("identity", {})
    return Settings(
        db_url=raw.get("store", {}).get("url"),
        actor=os.environ.get("KEELWATCH_ACTOR") or identity.get("actor"),
        team=os.environ.get("KEELWATCH_TEAM") or identity.get("team"),
        expert_team=raw.get("governance", {}).get("expert_team", "platform-experts"),
        max_data_age_days=raw.get("vulndb", {}).get("max_age_days", 5),
        raw=raw,
    )


def _check_types(raw: dict[str, Any], path: Path) -> None:
    """Every known setting has the type the code expects, or the file is rejected with one line."""
    from keelwatch.errors import KeelwatchError

    for section, keys in SCHEMA.items():
        table = raw.get(section, {})
        if not isinstance(table, dict):
            raise KeelwatchError(f"{path}: [{section}] must be a table, not {type(table).__name__}")
        for key, (types, wanted) in keys.items():
            if key not in table:
                continue
            value = table[key]
            ok = isinstance(value, types) and not (bool not in types and isinstance(value, bool))
            if ok and types == (list,):
                ok = all(isinstance(v, str) for v in value)
            if ok and types == (int,):
                ok = 0 <= value <= 100_000
            if not ok:
                raise KeelwatchError(f"{path}: [{section}] {key} must be {wanted}, got {value!r:.60}")
