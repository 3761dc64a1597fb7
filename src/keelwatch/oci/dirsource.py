"""`dir:PATH` sources: an unpacked root filesystem presented as one layer.

The directory is walked with file descriptors (`openat` with O_NOFOLLOW at every
level), so no symlink is ever followed and nothing outside PATH is read, even if
the tree changes while it is scanned. Entries have the same shape as a layer's
(`keelwatch.oci.layers.Entry`), so the scan engine treats the directory as a
single layer; symlink targets are reported raw, to be resolved inside the root.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

from keelwatch.errors import ImageSourceError
from keelwatch.model import LayerInfo
from keelwatch.oci.image import Image
from keelwatch.oci.layers import DIR, FILE, MAX_WARNINGS, OTHER, SYMLINK, Entry

MAX_DEPTH = 256
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_FILE_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC


class DirSource:
    """A root directory on disk; `reader()` gives its entries like a layer reader."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)
        if not self.root.is_dir():
            raise ImageSourceError(f"dir:{root}: not a directory")

    def reader(self) -> DirReader:
        return DirReader(self.root)

    def open_blob(self, digest: str):  # noqa: ANN201 - ImageSource protocol
        raise ImageSourceError(f"dir:{self.root}: a directory source has no blobs")

    def close(self) -> None:
        pass


def open_dir(path: str) -> Image:
    """The Image for `dir:PATH`: one pseudo-layer without digest, no manifest or config."""
    source = DirSource(path)
    return Image(
        ref=f"dir:{path}",
        manifest={},
        config={},
        layers=[LayerInfo(digest="", diff_id="", media_type="dir")],
        platform="",
        source=source,  # type: ignore[arg-type]
    )


class DirReader:
    """Walk a directory tree without following symlinks; `read()` returns a file's content."""

    def __init__(self, root: Path) -> None:
        self._root = root
        self.warnings: list[str] = []
        self._dropped = 0
        self._current: tuple[int, str, Entry] | None = None
        self.entries = 0
        self.verified = False  # a directory has no diff_id to verify

    def warn(self, message: str) -> None:
        if len(self.warnings) < MAX_WARNINGS:
            self.warnings.append(message)
        else:
            self._dropped += 1

    def __iter__(self) -> Iterator[Entry]:
        try:
            fd = os.open(self._root, _DIR_FLAGS)
        except OSError as exc:
            raise ImageSourceError(f"dir:{self._root}: cannot open: {exc.strerror}") from None
        try:
            yield from self._walk(fd, "", 0)
        finally:
            os.close(fd)
            self._current = None
        if self._dropped:
            self.warnings.append(f"… and {self._dropped} more warnings")

    def _walk(self, fd: int, prefix: str, depth: int) -> Iterator[Entry]:
        try:
            with os.scandir(fd) as it:
                children = sorted(it, key=lambda e: e.name)
        except OSError as exc:
            self.warn(f"{prefix or '/'}: cannot list directory: {exc.strerror}")
            return
        for child in children:
            name = child.name
            path = f"{prefix}/{name}"
            try:
                path.encode("utf-8")
            except UnicodeEncodeError:  # undecodable bytes arrive as surrogate escapes
                path = prefix + "/" + name.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
                self.warn(f"{path}: file name is not valid UTF-8 (bytes replaced)")
            self.entries += 1
            try:
                if child.is_symlink():
                    yield Entry(path, SYMLINK, 0, os.readlink(name, dir_fd=fd))
                elif child.is_dir(follow_symlinks=False):
                    yield Entry(path, DIR)
                    if depth >= MAX_DEPTH:
                        self.warn(f"{path}: not scanned, deeper than {MAX_DEPTH} directories")
                        continue
                    sub = os.open(name, _DIR_FLAGS, dir_fd=fd)
                    try:
                        yield from self._walk(sub, path, depth + 1)
                    finally:
                        os.close(sub)
                elif child.is_file(follow_symlinks=False):
                    entry = Entry(path, FILE, -1)  # size known only when read
                    self._current = (fd, name, entry)
                    yield entry
                    self._current = None
                else:
                    yield Entry(path, OTHER)
            except OSError as exc:
                self.warn(f"{path}: skipped: {exc.strerror}")

    def read(self, limit: int) -> bytes | None:
        """Content of the current regular file if it has at most `limit` bytes, else None."""
        if self._current is None:
            return None
        fd, name, entry = self._current
        self._current = None
        try:
            ffd = os.open(name, _FILE_FLAGS, dir_fd=fd)
        except OSError as exc:
            self.warn(f"{entry.path}: cannot open: {exc.strerror}")
            return None
        try:
            st = os.fstat(ffd)
            if not stat.S_ISREG(st.st_mode):
                return None
            entry.size = st.st_size
            if st.st_size > limit:
                self.warn(f"{entry.path}: skipped, {st.st_size} bytes is over the {limit}-byte limit")
                return None
            parts = []
            left = limit + 1
            while left > 0:
                data = os.read(ffd, min(left, 1 << 20))
                if not data:
                    break
                parts.append(data)
                left -= len(data)
            data = b"".join(parts)
            if len(data) > limit:
                self.warn(f"{entry.path}: skipped, grew over the {limit}-byte limit while read")
                return None
            return data
        except OSError as exc:
            self.warn(f"{entry.path}: cannot read: {exc.strerror}")
            return None
        finally:
            os.close(ffd)
