"""The data directory and its private files (PLAN: one directory 0700,
every file 0600). Minimal until the shared helper of issue 17 lands in
chalicelib/core; then this module goes."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path


def data_dir(env: Mapping[str, str]) -> Path:
    """IPS_DATA_DIR, else $XDG_DATA_HOME/ips, else ~/.local/share/ips."""
    if env.get("IPS_DATA_DIR"):
        return Path(env["IPS_DATA_DIR"]).expanduser()
    base = env.get("XDG_DATA_HOME") or str(Path("~/.local/share").expanduser())
    return Path(base) / "ips"


def private_file(path: str | Path) -> None:
    """Create the file 0600 (and its directory 0700) before SQLite does:
    SQLite would use the umask, and gives its -wal and -shm files the
    database file's mode."""
    path = Path(path)
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    os.close(fd)
    os.chmod(path, 0o600)
