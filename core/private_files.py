"""Files only their owner may read: the databases (personal data, ledgers) and the payout files
(full account numbers) are created 0600 in folders created 0700, as the key files already are.

A SQLite database's -wal and -shm files take the mode of the database file, so the database
file is made (or narrowed to) 0600 before SQLite opens it. Folders that already exist are left
as they are: the data may live under a shared folder such as /var/lib, which is not ours to close.
"""
from __future__ import annotations

import os
import stat
from pathlib import Path

FILE_MODE = 0o600
DIR_MODE = 0o700
SQLITE_SIDE_FILES = ("-wal", "-shm", "-journal")


def private_dir(path: Path | str) -> Path:
    """Make `path` and any missing parents 0700 (whatever the umask); existing ones are kept."""
    path = Path(path)
    missing = []
    for folder in (path, *path.parents):
        if folder.exists():
            break
        missing.append(folder)
    for folder in reversed(missing):
        try:
            folder.mkdir(mode=DIR_MODE)
        except FileExistsError:   # made by another process meanwhile
            continue
        os.chmod(folder, DIR_MODE)   # mkdir's mode is filtered by the umask
    return path


def private_file(path: Path | str) -> Path:
    """Create `path` empty with 0600 if missing (never truncating), or narrow it to 0600."""
    path = Path(path)
    private_dir(path.parent)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, FILE_MODE)
    os.close(fd)
    _narrow(path)
    return path


def private_sqlite(path: Path | str) -> Path:
    """Before SQLite opens `path`: the database and its existing side files are 0600, so the
    -wal and -shm SQLite makes next are 0600 too."""
    path = private_file(path)
    for suffix in SQLITE_SIDE_FILES:
        side = path.with_name(path.name + suffix)
        if side.exists():
            _narrow(side)
    return path


def write_private(path: Path | str, data: bytes) -> Path:
    """Write `data` to `path` (0600, folder made 0700 if missing), replacing it atomically."""
    path = Path(path)
    private_dir(path.parent)
    temp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    _narrow(path)
    return path


def _narrow(path: Path) -> None:
    if stat.S_IMODE(path.stat().st_mode) & 0o077:
        os.chmod(path, FILE_MODE)
