"""The one directory for every file the local stage keeps (enrolments,
records, review photos): ``IPS_DATA_DIR``, default ``$XDG_DATA_HOME/ips``,
else ``~/.local/share/ips``, outside the repository so a checkout never
carries personal data.

The directory is 0700 and every file in it 0600, whatever the umask:
``private_dir`` and ``private_file`` set the modes (and tighten existing
ones), ``private_sqlite`` does it for a database and the ``-wal``, ``-shm``
and ``-journal`` files SQLite puts beside it (SQLite gives them the
database file's mode when it creates them; older or copied files are
tightened when the store opens).

Usage::

    path = data_dir(os.environ) / "records.sqlite3"
    private_sqlite(path)          # before sqlite3.connect(path)
"""

from __future__ import annotations

import os
import stat
from collections.abc import Mapping
from pathlib import Path

DIR_MODE = 0o700
FILE_MODE = 0o600
SQLITE_SIDE_FILES = ("-wal", "-shm", "-journal")


def data_dir(env: Mapping[str, str]) -> Path:
    """IPS_DATA_DIR, else $XDG_DATA_HOME/ips, else ~/.local/share/ips
    (expanded; not created)."""
    explicit = env.get("IPS_DATA_DIR", "").strip()
    if explicit:
        return Path(os.path.expanduser(explicit))
    base = env.get("XDG_DATA_HOME", "").strip() or os.path.join("~", ".local", "share")
    return Path(os.path.expanduser(base)) / "ips"


def private_dir(path: Path | str) -> Path:
    """Create the directory (and missing parents) and make it 0700."""
    path = Path(path)
    path.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
    if stat.S_IMODE(path.stat().st_mode) != DIR_MODE:
        os.chmod(path, DIR_MODE)
    return path


def private_file(path: Path | str) -> Path:
    """Create the file if missing (0600 from the start, never wider for a
    moment) and make it 0600; its directory is made private first."""
    path = Path(path)
    private_dir(path.parent)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, FILE_MODE)
    try:
        if stat.S_IMODE(os.fstat(fd).st_mode) != FILE_MODE:
            os.fchmod(fd, FILE_MODE)
    finally:
        os.close(fd)
    return path


def private_sqlite(path: Path | str) -> Path:
    """The database file as ``private_file``, and its existing side files
    tightened to 0600 too."""
    path = private_file(path)
    for suffix in SQLITE_SIDE_FILES:
        side = path.with_name(path.name + suffix)
        try:
            if stat.S_IMODE(side.stat().st_mode) != FILE_MODE:
                os.chmod(side, FILE_MODE)
        except FileNotFoundError:
            continue
    return path
