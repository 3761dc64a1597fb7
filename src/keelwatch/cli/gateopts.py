"""The gate's options, shared by `scan` and `check` so both judge an image the same way.

What the options mean, and the exit codes, are documented in keelwatch.app.gate.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from keelwatch.errors import KeelwatchError

if TYPE_CHECKING:  # the CLI imports the app and the core only inside commands (start-up time)
    from keelwatch.app.gate import GateOptions, Verdict
    from keelwatch.vulndb.severity import Level

FailOn = Annotated[
    str | None,
    typer.Option(
        "--fail-on",
        help="exit 1 on an unsuppressed finding at or above this severity (any case; a comma list "
        "means its lowest); exit 3 when the data cannot judge the image",
    ),
]
UnknownAs = Annotated[
    str,
    typer.Option(
        "--unknown-as", help="how the gate counts a finding of unknown severity (default high: see README)"
    ),
]
MaxAge = Annotated[
    float | None,
    typer.Option("--max-age", help="days after which vulnerability data is stale (default: config, 5)"),
]
AllowStale = Annotated[
    bool, typer.Option("--allow-stale", help="do not fail (exit 3) on stale data: warn instead")
]
AllowUncovered = Annotated[
    bool,
    typer.Option("--allow-uncovered", help="do not fail (exit 3) on an ecosystem without data: warn instead"),
]
AllowIncomplete = Annotated[
    bool,
    typer.Option(
        "--allow-incomplete",
        help="do not fail (exit 3) when the scan hit a per-image limit and may miss packages: warn instead",
    ),
]


def levels(flag: str, value: str) -> list[Level]:
    """`HIGH,critical` -> [Level.HIGH, Level.CRITICAL]; a bad name is one line naming the flag."""
    from keelwatch.vulndb.severity import Level

    try:
        return Level.parse_list(value)
    except ValueError as exc:
        raise KeelwatchError(f"{flag}: {exc}") from None


def gate_options(
    fail_on: str | None,
    unknown_as: str,
    allow_stale: bool,
    allow_uncovered: bool,
    allow_incomplete: bool = False,
) -> GateOptions:
    """The app's GateOptions from the command line."""
    from keelwatch.app.gate import GateOptions

    return GateOptions(
        fail_on=min(levels("--fail-on", fail_on)) if fail_on is not None else None,
        unknown_as=levels("--unknown-as", unknown_as)[0],
        allow_stale=allow_stale,
        allow_uncovered=allow_uncovered,
        allow_incomplete=allow_incomplete,
    )


def max_age(value: float | None) -> float | None:
    """`--max-age` checked: a number of days, at least 0."""
    if value is not None and not value >= 0:
        raise KeelwatchError(f"--max-age: must be a number of days >= 0, not {value}")
    return value


def finish(verdict: Verdict) -> None:
    """Print the opt-out warnings and, on failure, the one-line reason; exit with the verdict's code."""
    from keelwatch.cli.common import err_console

    finish_warnings(verdict.warnings)
    if verdict.exit_code:
        err_console.print(verdict.reason, highlight=False, markup=False, soft_wrap=True)
        raise typer.Exit(verdict.exit_code)


def finish_warnings(warnings: list[str]) -> None:
    """One line per gap in the data the user allowed: a CI log says what was not judged."""
    from keelwatch.cli.common import err_console
    from keelwatch.termtext import plain

    for line in warnings:
        err_console.print(f"[yellow]warning:[/] {plain(line)}", highlight=False, soft_wrap=True)
