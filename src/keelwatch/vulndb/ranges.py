"""OSV `affected` evaluation with the schema's exact semantics.

For one installed version of one package (ecosystem + name) an advisory affects it
when any of its `affected` entries for that package does:

- `versions`: an explicit list; the installed version is in it (same string, or the
  same key under the ecosystem's scheme);
- `ranges` of type ECOSYSTEM (the ecosystem's scheme) or SEMVER (SemVer 2.0.0):
  events sorted by version ("0" introduced before everything); walking them,
  `introduced` (v >= it, or "0") sets affected, `fixed` (v >= it) clears it,
  `last_affected` (v > it) clears it; `limit` events cap the range: v must be
  below at least one limit ("*" = no limit). This is the OSV specification's
  evaluation pseudo-code.
- GIT ranges describe commits, not versions: ignored (counted by the caller).
- `database_specific` / `ecosystem_specific` never change the verdict.

A withdrawn advisory affects nothing. A record that cannot be evaluated (unknown
range type, a version its scheme cannot parse) raises RecordError; the matcher
skips that record for that package with a warning naming the record id.

The fixed versions reported are, per range that affects v, the first `fixed` event
above v (the nearest fix that closes the interval v is in).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from keelwatch.errors import VersionError
from keelwatch.vulndb.model import Advisory
from keelwatch.vulndb.versions import SCHEMES, scheme_for

KeyFn = Callable[[str], Any]


class RecordError(ValueError):
    """This record cannot be evaluated for this package; skip it and warn."""


@dataclass(slots=True)
class Verdict:
    """How one advisory relates to one installed package version."""

    affected: bool = False
    fixed: list[str] = field(default_factory=list)  # nearest fixes above v, one per affecting range
    git_ranges: int = 0  # GIT ranges seen and ignored
    statuses: list[str] = field(default_factory=list)  # entry database_specific.status values


@dataclass(slots=True)
class _Range:
    key: KeyFn
    semver: bool
    events: list[tuple[str, str, Any]]  # sorted (kind, value, key); key None for introduced "0"
    limits: list[Any]  # keys; None = "*"


@dataclass(slots=True)
class _Entry:
    """One `affected` entry for the package, with every version parsed once per run."""

    listed: frozenset[str]
    listed_keys: frozenset[Any] | list[Any]
    ranges: list[_Range]
    git_ranges: int
    status: str | None


def _compile_range(rng: Any, key: KeyFn) -> _Range | None:
    rtype = rng.get("type") if isinstance(rng, dict) else None
    if rtype == "GIT":
        return None
    if rtype == "ECOSYSTEM":
        rkey, semver = key, False
    elif rtype == "SEMVER":
        rkey, semver = SCHEMES["semver"].key, True
    else:
        raise RecordError(f"unknown range type {rtype!r}")
    events: list[tuple[str, str, Any]] = []
    limits: list[Any] = []
    for ev in rng.get("events") or []:
        if not isinstance(ev, dict) or len(ev) != 1:
            raise RecordError(f"invalid event {ev!r}")
        kind, value = next(iter(ev.items()))
        if not isinstance(value, str):
            raise RecordError(f"invalid {kind} value {value!r}")
        try:
            if kind == "limit":
                limits.append(None if value == "*" else rkey(value))
            elif kind in ("introduced", "fixed", "last_affected"):
                events.append((kind, value, None if kind == "introduced" and value == "0" else rkey(value)))
            else:
                raise RecordError(f"unknown event {kind!r}")
        except VersionError as exc:
            raise RecordError(str(exc)) from None
    events.sort(key=lambda e: (0, None) if e[2] is None else (1, e[2]))
    return _Range(rkey, semver, events, limits)


def _compile_entry(entry: dict[str, Any], key: KeyFn) -> _Entry:
    listed = [v for v in entry.get("versions") or [] if isinstance(v, str)]
    keys = []
    for v in listed:
        try:
            keys.append(key(v))
        except VersionError:
            continue  # an unparseable listed version can only match by string
    ranges, git = [], 0
    for rng in entry.get("ranges") or []:
        compiled = _compile_range(rng, key)
        if compiled is None:
            git += 1
        else:
            ranges.append(compiled)
    specific = entry.get("database_specific")
    status = specific.get("status") if isinstance(specific, dict) else None
    try:
        key_set: frozenset[Any] | list[Any] = frozenset(keys)
    except TypeError:  # a scheme whose keys are not hashable: compare one by one
        key_set = keys
    return _Entry(frozenset(listed), key_set, ranges, git, status if isinstance(status, str) else None)


def _range_verdict(rng: _Range, vkey: Any) -> tuple[bool, str | None]:
    """(v affected by this range, the nearest fix above v or None): the OSV pseudo-code."""
    vulnerable = False
    for kind, _value, ekey in rng.events:
        if kind == "introduced":
            if ekey is None or vkey >= ekey:
                vulnerable = True
        elif kind == "fixed":
            if vkey >= ekey:
                vulnerable = False
        elif vkey > ekey:  # last_affected
            vulnerable = False
    if rng.limits and not any(lim is None or vkey < lim for lim in rng.limits):
        vulnerable = False
    fix = None
    if vulnerable:
        for kind, value, ekey in rng.events:
            if kind == "fixed" and ekey > vkey:
                fix = value
                break
            if kind == "last_affected" and ekey >= vkey:
                break  # the interval ends at a last_affected: no fix published for it
    return vulnerable, fix


def _entry_matches(entry: dict[str, Any], ecosystem: str, name_key: Callable[[str], str], name: str) -> bool:
    pkg = entry.get("package")
    if not isinstance(pkg, dict):
        return False
    return pkg.get("ecosystem") == ecosystem and name_key(str(pkg.get("name", ""))) == name


def compile_advisory(
    advisory: Advisory, ecosystem: str, name: str, key: KeyFn, name_key: Callable[[str], str]
) -> list[_Entry]:
    """The advisory's entries for (ecosystem, name), versions parsed. Raises RecordError."""
    return [
        _compile_entry(e, key)
        for e in advisory.affected
        if isinstance(e, dict) and _entry_matches(e, ecosystem, name_key, name)
    ]


def evaluate(
    advisory: Advisory,
    ecosystem: str,
    name: str,
    version: str,
    key: KeyFn,
    name_key: Callable[[str], str] = lambda n: n,
    cache: dict[Any, list[_Entry]] | None = None,
) -> Verdict:
    """The verdict of `advisory` for `version` of (ecosystem, name). Raises RecordError.

    `cache` (one dict per run) keeps each advisory's parsed entries across versions.
    """
    verdict = Verdict()
    if advisory.withdrawn:
        return verdict
    try:
        vkey = key(version)
    except VersionError as exc:
        raise RecordError(f"installed version {version!r} is not valid: {exc}") from None
    ckey = (id(advisory), ecosystem, name)
    entries = cache.get(ckey) if cache is not None else None
    if entries is None:
        entries = compile_advisory(advisory, ecosystem, name, key, name_key)
        if cache is not None:
            cache[ckey] = entries
    for entry in entries:
        verdict.git_ranges += entry.git_ranges
        hit = version in entry.listed or _listed(vkey, entry.listed_keys)
        for rng in entry.ranges:
            try:
                rv = rng.key(_semver_of(version)) if rng.semver else vkey
            except VersionError as exc:
                raise RecordError(str(exc)) from None
            affected, fix = _range_verdict(rng, rv)
            if affected:
                hit = True
                if fix is not None and fix not in verdict.fixed:
                    verdict.fixed.append(fix)
        if hit:
            verdict.affected = True
            if entry.status:
                verdict.statuses.append(entry.status)
    return verdict


def _listed(vkey: Any, keys: frozenset[Any] | list[Any]) -> bool:
    if isinstance(keys, frozenset):
        try:
            return vkey in keys
        except TypeError:
            return False
    return any(k == vkey for k in keys)


def _semver_of(version: str) -> str:
    """SEMVER ranges compare SemVer strings; a leading "v" (Go style) is not part of them."""
    return version[1:] if version[:1] == "v" else version


def key_function(ecosystem: str) -> KeyFn:
    """The version key function of an OSV ecosystem (raises VersionError when it has none)."""
    return scheme_for(ecosystem).key
