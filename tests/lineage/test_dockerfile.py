"""Declared bases from Dockerfiles: ARGs, multi-stage, errors that say where."""

from __future__ import annotations

import pytest

from keelwatch.lineage.dockerfile import DockerfileError, parse_dockerfile


def test_single_stage() -> None:
    assert parse_dockerfile("FROM debian:12\nRUN true\n").image == "debian:12"


def test_multistage_final_stage_and_stage_reference() -> None:
    text = """
# syntax=docker/dockerfile:1
ARG PY=3.12
FROM python:${PY}-slim AS build
RUN pip wheel .
FROM registry.example/base/python:${PY:-3.11} AS runtime
COPY --from=build /w /w
FROM runtime
CMD ["app"]
"""
    result = parse_dockerfile(text)
    assert [s.base for s in result.stages] == [
        "python:3.12-slim",
        "registry.example/base/python:3.12",
        "runtime",
    ]
    assert result.image == "registry.example/base/python:3.12"


def test_build_args_override_defaults_and_platform_flag() -> None:
    text = "ARG TAG=12\nFROM --platform=$BUILDPLATFORM debian:$TAG\n"
    result = parse_dockerfile(text, build_args={"TAG": "13"})
    assert result.image == "debian:13"


def test_continuations_and_escape_directive() -> None:
    text = "# escape=`\nFROM `\n  alpine:3.19 `\n  AS base\nRUN echo\n"
    assert parse_dockerfile(text).image == "alpine:3.19"


def test_scratch_has_no_base() -> None:
    assert parse_dockerfile("FROM scratch\nCOPY a /a\n").image is None


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ("RUN true\nFROM x\n", "Dockerfile:1"),
        ("FROM\n", "Dockerfile:1"),
        ("ARG A\nFROM a b c d\n", "Dockerfile:2"),
        ("FROM --bogus=1 debian\n", "Dockerfile:1"),
        ("FROM debian \\\n", "Dockerfile:1"),
        ("# just a comment\n", "Dockerfile"),
        ("FROM ${X\n", "Dockerfile:1"),
    ],
)
def test_errors_name_the_line(text: str, where: str) -> None:
    with pytest.raises(DockerfileError) as info:
        parse_dockerfile(text)
    assert str(info.value).startswith(where)
