"""Writing a command's result to the path the user gave with `--output`, safely, even as root.

A regular file is written atomically (temp file in the same directory + rename), so a failed
command never leaves half a report. Anything else is never replaced: a device, a FIFO or
`/dev/stdout` is opened and written through (`-o /dev/null` must not turn the system's
/dev/null into a regular file). A symlink in a world-writable sticky directory such as /tmp
is followed only when we or the directory's owner own it (the kernel's `protected_symlinks`
rule), so another user cannot plant a link there to make us overwrite a file of their
choosing. New files get the usual mode (0666 minus the umask); a replaced file keeps its mode.
`-` means stdout.
"""

from __future__ import annotations

import errno
import os
import stat
import sys
import tempfile
from pathlib import Path

from keelwatch.errors import KeelwatchError

MAX_LINK_HOPS = 40  # the kernel's own limit for one path


class OutputError(KeelwatchError):
    """The output path cannot be written safely."""


def check_output(output: Path) -> os.stat_result | None:
    """Fail early (before a long scan) on an output we will refuse; the stat of what is there, if any."""
    if str(output) == "-":
        return None
    _check_links(output)
    try:
        st = output.stat()
    except FileNotFoundError:
        parent = Path(os.path.realpath(output)).parent
        if not parent.is_dir():
            raise OutputError(f"--output {output}: directory {parent} does not exist") from None
        return None
    except OSError as exc:
        raise OutputError(f"--output {output}: {exc.strerror}") from None
    if stat.S_ISDIR(st.st_mode):
        raise OutputError(f"--output {output}: is a directory (give a file name inside it)")
    return st


def write_text(text: str, output: Path) -> None:
    """Write `text` to `output`: atomically for a regular file, through for anything else."""
    st = check_output(output)
    if str(output) == "-":
        _write_stdout(text)
    elif st is None:
        _write_atomic(text, Path(os.path.realpath(output)), mode=0o666 & ~_umask())
    elif _same_file(st, sys.stdout):
        _write_stdout(text)
    elif stat.S_ISREG(st.st_mode):
        _write_atomic(text, Path(os.path.realpath(output)), mode=stat.S_IMODE(st.st_mode))
    else:
        _write_through(text, output)


def _check_links(path: Path) -> None:
    """Walk `path` as the kernel does, refusing any symlink (a parent directory too) that sits in a
    sticky world-writable directory and is owned by neither us nor that directory's owner."""
    parts = list(Path(os.path.abspath(path)).parts[1:])
    current = Path("/")
    hops = 0
    while parts:
        part = parts.pop(0)
        if part in ("", "."):
            continue
        if part == "..":
            current = current.parent
            continue
        candidate = current / part
        try:
            st = candidate.lstat()
        except OSError:
            return  # does not exist (yet), or a magic /proc link: nothing more to follow
        if not stat.S_ISLNK(st.st_mode):
            current = candidate
            continue
        hops += 1
        if hops > MAX_LINK_HOPS:
            raise OutputError(f"--output {path}: too many levels of symbolic links")
        parent = current.stat()
        sticky_shared = parent.st_mode & stat.S_ISVTX and parent.st_mode & stat.S_IWOTH
        if sticky_shared and st.st_uid not in (os.geteuid(), parent.st_uid):
            raise OutputError(
                f"--output {path}: refusing to follow {candidate}, a symlink owned by another user "
                f"in the shared directory {current}"
            )
        target = Path(os.readlink(candidate))
        if target.is_absolute():
            current = Path("/")
        parts = [p for p in target.parts if p != "/"] + parts


def _same_file(st: os.stat_result, stream: object) -> bool:
    try:
        other = os.fstat(stream.fileno())  # type: ignore[attr-defined]
    except (AttributeError, OSError, ValueError):
        return False
    return (st.st_dev, st.st_ino) == (other.st_dev, other.st_ino)


def _write_stdout(text: str) -> None:
    sys.stdout.write(text)
    sys.stdout.flush()


def _write_through(text: str, path: Path) -> None:
    """A device, FIFO or socket: open it as it is (never create or truncate) and write.

    Opened non-blocking: a FIFO nobody reads would block `open()` forever (ENXIO instead).
    """
    try:
        fd = os.open(path, os.O_WRONLY | os.O_NOCTTY | os.O_NONBLOCK)
    except OSError as exc:
        if exc.errno == errno.ENXIO:
            raise OutputError(f"--output {path}: a FIFO with no process reading it") from None
        raise OutputError(f"--output {path}: {exc.strerror}") from None
    try:
        os.set_blocking(fd, True)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
    except OSError as exc:
        raise OutputError(f"--output {path}: {exc.strerror}") from None


def _write_atomic(text: str, target: Path, *, mode: int) -> None:
    try:
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
    except OSError as exc:
        raise OutputError(f"--output {target}: {exc.strerror}") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            os.fchmod(fh.fileno(), mode)
            fh.write(text)
        os.replace(tmp, target)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise OutputError(f"--output {target}: {exc.strerror}") from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _umask() -> int:
    current = os.umask(0o022)
    os.umask(current)
    return current
