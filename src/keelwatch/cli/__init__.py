"""The `keelwatch` command line: a thin shell over the core packages.

Each command group lives in its own module with a `register(app)` function, so
groups can grow independently. Exit codes: 0 success, 1 a gate failed
(`--fail-on`, a failing policy), 2 an error (printed as one line, no traceback).
An unexpected exception is an error too: exit 2 with one line, never 1 (which CI
would read as "the gate failed"); `keelwatch --debug ...` shows its traceback. Ctrl-C exits 130; a
closed stdout pipe (`| head`) exits 141 silently.
"""

from __future__ import annotations

import os
import signal
import sys
import traceback
from typing import Any, NoReturn

import typer

from keelwatch.errors import KeelwatchError

app = typer.Typer(
    name="keelwatch",
    help="Govern container base images and decide which containers to secure first.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


_state = {"debug": False}


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import version

        typer.echo(f"keelwatch {version('keelwatch')}")
        raise typer.Exit()


@app.callback()
def _global_options(
    debug: bool = typer.Option(False, "--debug", help="show the traceback of an unexpected error"),
    show_version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="print the version and exit"
    ),
) -> None:
    """Govern container base images and decide which containers to secure first."""
    _state["debug"] = debug


def _register_all() -> None:
    from keelwatch.cli import db, governance, lineage, push, registry, rescan, scan

    for module in (scan, push, db, rescan, lineage, governance, registry):
        module.register(app)


class Interrupted(BaseException):
    """Ctrl-C. Not a KeyboardInterrupt, which Click turns into "Aborted!" and exit 1 (a failed gate)."""


def _interrupt(signum: int, frame: object) -> None:
    raise Interrupted


class ReaderGone(BaseException):
    """stdout's reader went away (`keelwatch ... | head`): Click would exit 1, a failed gate."""


class _PipeGuard:
    """sys.stdout, with a closed pipe turned into ReaderGone (Click catches the OSError itself)."""

    def __init__(self, stream: Any) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        try:
            return int(self._stream.write(text))
        except BrokenPipeError:
            raise ReaderGone from None

    def flush(self) -> None:
        try:
            self._stream.flush()
        except BrokenPipeError:
            raise ReaderGone from None

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


def _usage_error(exc: Exception) -> NoReturn:
    """A wrong option or value: one line and exit 2 (Click draws a boxed usage screen, exit 1 for some)."""
    from keelwatch.termtext import printable

    ctx = getattr(exc, "ctx", None)
    if type(exc).__name__ == "NoArgsIsHelpError" and ctx is not None:
        typer.echo(ctx.get_help(), nl=False)  # `keelwatch` or `keelwatch base` alone: the help, as before
        sys.exit(2)
    message = exc.format_message() if hasattr(exc, "format_message") else str(exc)
    hint = f" (see `{ctx.command_path if ctx is not None else 'keelwatch'} --help`)"
    typer.echo(f"error: {printable((message or 'invalid usage').splitlines()[0])}{hint}", err=True)
    sys.exit(2)


def main() -> None:
    """Console-script entry point: one-line errors, non-zero exit."""
    _register_all()
    signal.signal(signal.SIGINT, _interrupt)
    sys.stdout = _PipeGuard(sys.stdout)  # type: ignore[assignment]
    try:
        # Click's errors come back to us, to print as one line
        code = app(standalone_mode=False, prog_name="keelwatch")
        sys.exit(code if isinstance(code, int) else 0)
    except typer.TyperException as exc:
        _usage_error(exc)
    except typer.Abort:
        typer.echo("error: aborted", err=True)
        sys.exit(2)
    except ReaderGone:
        os.dup2(os.open(os.devnull, os.O_WRONLY), 1)  # nothing left to flush at exit
        sys.exit(141)  # as a shell reports a writer killed by SIGPIPE
    except Interrupted:
        typer.echo("\nerror: interrupted", err=True)
        sys.exit(130)
    except KeelwatchError as exc:
        if _state["debug"]:
            traceback.print_exc()
        from keelwatch.termtext import printable  # messages quote hostile names: no escapes reach the tty

        typer.echo(f"error: {printable(exc)}", err=True)
        sys.exit(2)
    except Exception as exc:  # noqa: BLE001 - the last line of defence: one line, exit 2
        if _state["debug"]:
            traceback.print_exc()
        from keelwatch.termtext import printable

        detail = printable(str(exc).splitlines()[0] if str(exc) else "")
        typer.echo(
            f"error: unexpected {type(exc).__name__}: {detail} (run `keelwatch --debug ...` for details)",
            err=True,
        )
        sys.exit(2)
