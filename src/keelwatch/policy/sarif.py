"""Policy results as SARIF 2.1.0, so CI code-scanning UIs show them next to code findings."""

from __future__ import annotations

from typing import Any

from keelwatch import __version__
from keelwatch.policy.engine import PolicyReport

_LEVEL = {"fail": "error", "warn": "warning", "pass": "none", "skip": "none"}


def report_to_sarif(report: PolicyReport, policy_path: str) -> dict[str, Any]:
    rules = [
        {
            "id": r.rule,
            "name": r.type,
            "shortDescription": {"text": f"{r.type} ({report.policy})"},
            "help": {"text": r.message},
        }
        for r in report.results
    ]
    results = [
        {
            "ruleId": r.rule,
            "ruleIndex": index,
            "level": _LEVEL[r.status],
            "kind": "fail" if r.status in ("fail", "warn") else "pass",
            "message": {"text": f"{report.image}: {r.message}"},
            "locations": [
                {
                    "physicalLocation": {
                        "artifactLocation": {"uri": policy_path},
                        "region": {"startLine": max(r.line, 1)},
                    },
                    "logicalLocations": [{"name": report.image, "kind": "image"}],
                }
            ],
        }
        for index, r in enumerate(report.results)
        if r.status != "skip"
    ]
    return {
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "keelwatch",
                        "version": __version__,
                        "informationUri": "https://keelwatch.dev",
                        "rules": rules,
                    }
                },
                "results": results,
            }
        ],
    }
