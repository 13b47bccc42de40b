"""Files that hold PHI (report texts, scores with entity spans, the store) are created 0600:
readable by the account that runs radagree only, whatever the umask.

The mode is given to `os.open` at creation (no window in which another user could open the
file) and set again on a file that already existed, so an older world-readable export
written to the same path does not stay world-readable.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import IO, Any

PRIVATE = 0o600


def open_private(path: Path, mode: str = "w", **kwargs: Any) -> IO[Any]:
    """`open(path, mode)` for writing, the file 0600 (created so, or made so)."""
    flags = os.O_WRONLY | os.O_CREAT | (os.O_APPEND if "a" in mode else os.O_TRUNC)
    fd = os.open(path, flags, PRIVATE)
    os.fchmod(fd, PRIVATE)
    return os.fdopen(fd, mode, **kwargs)


def write_private(path: Path, text: str) -> None:
    with open_private(path, "w", encoding="utf-8") as handle:
        handle.write(text)


def create_private(path: Path) -> None:
    """Create an empty 0600 file at `path` unless one exists (the SQLite store: SQLite gives
    its -wal and -shm files the mode of the database file)."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE)
    except FileExistsError:
        return
    os.close(fd)
