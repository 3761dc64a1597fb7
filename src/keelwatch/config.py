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
        path = Path(env)
    elif xdg := os.environ.get("XDG_DATA_HOME"):
        path = Path(xdg) / "keelwatch"
    else:
        path = Path.home() / ".local" / "share" / "keelwatch"
    path.mkdir(parents=True, exist_ok=True)
    return path


def cache_dir() -> Path:
    """Layer catalogue cache (keyed by diff_id) and other rebuildable data."""
    path = data_home() / "cache"
    path.mkdir(parents=True, exist_ok=True)
    return path


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
    max_data_age_days: int = 7
    raw: dict[str, Any] = field(default_factory=dict)


def load_settings() -> Settings:
    path = Path(os.environ.get("KEELWATCH_CONFIG") or (data_home() / "config.toml"))
    if not path.is_file():
        return Settings(actor=os.environ.get("KEELWATCH_ACTOR"), team=os.environ.get("KEELWATCH_TEAM"))
    try:
        with path.open("rb") as fh:
            raw = tomllib.load(fh)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        from keelwatch.errors import KeelwatchError

        raise KeelwatchError(f"{path}: invalid settings file: {exc}") from None
    identity = raw.get("identity", {})
    return Settings(
        db_url=raw.get("store", {}).get("url"),
        actor=os.environ.get("KEELWATCH_ACTOR") or identity.get("actor"),
        team=os.environ.get("KEELWATCH_TEAM") or identity.get("team"),
        expert_team=raw.get("governance", {}).get("expert_team", "platform-experts"),
        max_data_age_days=int(raw.get("vulndb", {}).get("max_age_days", 7)),
        raw=raw,
    )
