"""Load a policy file: YAML, validated against schema.json, every error with its line.

Read and parsed through keelwatch.userfile: regular files only, bounded size, depth and
YAML alias expansion, no Python tags.

A policy that does not load is rejected whole (PolicyError: `FILE:LINE: reason`): an
unknown rule type, a wrong type, an invalid regex or template, a bad date.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import date
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft202012Validator

from keelwatch.errors import PolicyError
from keelwatch.policy.naming import compile_template
from keelwatch.userfile import compose_yaml, construct_yaml, read_text


@dataclass(slots=True)
class Rule:
    id: str
    type: str
    level: str  # "fail" or "warn": what a violation yields
    applies_to: str  # "all", "base" or "app"
    params: dict[str, Any]
    line: int


@dataclass(slots=True)
class PolicyException:
    rule: str
    image: str  # glob on the image reference
    owner: str
    reason: str
    expires: date
    line: int


@dataclass(slots=True)
class Policy:
    name: str
    version: str
    rules: list[Rule]
    exceptions: list[PolicyException] = field(default_factory=list)
    source: str = ""


class _Loader(yaml.SafeLoader):
    """SafeLoader that keeps dates as strings so the schema sees what the user wrote."""


_Loader.yaml_implicit_resolvers = {
    key: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for key, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


@cache
def schema() -> dict[str, Any]:
    return json.loads(resources.files("keelwatch.policy").joinpath("schema.json").read_text())


def load_policy(path: str | Path) -> Policy:
    path = Path(path)
    return parse_policy(read_text(path, what="policy", error=PolicyError), str(path))


def parse_policy(text: str, source: str = "policy.yaml") -> Policy:
    node = compose_yaml(text, source, loader=_Loader, error=PolicyError)
    if node is None:
        raise PolicyError(f"{source}: empty policy")
    data = construct_yaml(node, source, loader=_Loader, error=PolicyError)
    _validate(data, node, source)
    return _build(data, node, source)


def _line(node: yaml.Node, path: list[Any]) -> int:
    """Line (1-based) of the YAML node at a JSON-schema error path; nearest parent if absent."""
    current = node
    for part in path:
        if isinstance(current, yaml.MappingNode):
            match = next((v for k, v in current.value if k.value == part), None)
            if match is None:
                break
            current = match
        elif isinstance(current, yaml.SequenceNode) and isinstance(part, int) and part < len(current.value):
            current = current.value[part]
        else:
            break
    return current.start_mark.line + 1


def _validate(data: Any, node: yaml.Node, source: str) -> None:
    full = schema()
    top = dict(full)
    top["properties"] = dict(full["properties"], rules={"type": "array", "items": {"type": "object"}})
    _raise_first(Draft202012Validator(top).iter_errors(data), node, source, [])
    types = full["$defs"]["rule_types"]
    for i, rule in enumerate(data.get("rules", [])):
        kind = rule.get("type")
        if kind not in types:
            raise PolicyError(
                f"{source}:{_line(node, ['rules', i])}: unknown rule type {kind!r} "
                f"(known: {', '.join(sorted(types))})"
            )
        _raise_first(Draft202012Validator(types[kind]).iter_errors(rule), node, source, ["rules", i])


def _raise_first(errors: Any, node: yaml.Node, source: str, prefix: list[Any]) -> None:
    error = min(errors, key=lambda e: list(e.absolute_path), default=None)
    if error is None:
        return
    path = prefix + list(error.absolute_path)
    where = ".".join(str(p) for p in path) or "policy"
    raise PolicyError(f"{source}:{_line(node, path)}: {where}: {error.message}")


def _build(data: dict[str, Any], node: yaml.Node, source: str) -> Policy:
    rules: list[Rule] = []
    seen: set[str] = set()
    for i, raw in enumerate(data.get("rules", [])):
        line = _line(node, ["rules", i])
        rule_id = raw.get("id") or raw["type"]
        if rule_id in seen:
            raise PolicyError(f"{source}:{line}: duplicate rule id {rule_id!r}: give each rule an `id`")
        seen.add(rule_id)
        params = {k: v for k, v in raw.items() if k not in ("id", "type", "level", "applies_to")}
        _check_patterns(params, source, line)
        rules.append(
            Rule(rule_id, raw["type"], raw.get("level", "fail"), raw.get("applies_to", "all"), params, line)
        )
    exceptions: list[PolicyException] = []
    for i, raw in enumerate(data.get("exceptions", [])):
        line = _line(node, ["exceptions", i])
        if raw["rule"] not in seen:
            raise PolicyError(f"{source}:{line}: exception names unknown rule {raw['rule']!r}")
        try:
            expires = date.fromisoformat(raw["expires"])
        except ValueError:
            raise PolicyError(f"{source}:{line}: invalid expiry date {raw['expires']!r}") from None
        exceptions.append(
            PolicyException(raw["rule"], raw["image"], raw["owner"], raw["reason"], expires, line)
        )
    return Policy(data["name"], str(data.get("version", "1")), rules, exceptions, source)


def _check_patterns(params: dict[str, Any], source: str, line: int) -> None:
    """Compile every regex and template now, so a bad one fails the load, not the check."""
    for key in ("repository_regex", "tag_regex"):
        if key in params:
            try:
                re.compile(params[key])
            except re.error as exc:
                raise PolicyError(f"{source}:{line}: invalid regex in {key}: {exc}") from None
    for key in ("repository", "tag"):
        if key in params:
            try:
                compile_template(params[key])
            except ValueError as exc:
                raise PolicyError(f"{source}:{line}: invalid template in {key}: {exc}") from None
