"""Open image files on disk as regular files only, and read them with a size bound first.

A blob that is a FIFO blocks `open()` forever; a symlink to /dev/zero never ends; a
600 MB `index.json` read whole costs 600 MB. So files of `oci:` layouts and
`docker-archive:` tarballs are opened with O_NONBLOCK (a FIFO cannot block) and, inside
a layout, O_NOFOLLOW (a planted symlink is refused), then checked with fstat: only a
regular file is read, and its size is compared with the limit before any byte is read.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import BinaryIO

from keelwatch.errors import ImageSourceError

_FLAGS = os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC


def open_regular(path: str | os.PathLike[str], what: str, *, follow: bool = False) -> BinaryIO:
    """`path` opened for reading if it is a regular file; `follow` allows a symlink as the last part."""
    flags = _FLAGS | (0 if follow else os.O_NOFOLLOW)
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        raise ImageSourceError(f"{what} is missing") from None
    except OSError as exc:
        if not follow and Path(path).is_symlink():
            raise ImageSourceError(f"{what} is a symlink, not a regular file (refused)") from None
        raise ImageSourceError(f"{what}: cannot open: {exc.strerror}") from None
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            kind = "a FIFO" if stat.S_ISFIFO(mode) else "a directory" if stat.S_ISDIR(mode) else "a device"
            raise ImageSourceError(f"{what} is {kind}, not a regular file (refused)")
        # Regular files never block; clear O_NONBLOCK so reads behave as usual.
        os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def file_size(fh: BinaryIO) -> int:
    return os.fstat(fh.fileno()).st_size


def read_regular(path: str | os.PathLike[str], limit: int, what: str, *, follow: bool = False) -> bytes:
    """The whole file, refused by its size before reading when over `limit` bytes."""
    with open_regular(path, what, follow=follow) as fh:
        size = file_size(fh)
        if size > limit:
            raise ImageSourceError(f"{what} is too large ({size} bytes, limit {limit})")
        data = fh.read(limit + 1)
    if len(data) > limit:  # grew while read
        raise ImageSourceError(f"{what} is too large (over {limit} bytes)")
    return data
