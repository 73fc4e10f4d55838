"""chalicelib/core/datadir.py: where the local stage's files live and their
modes (0700 directory, 0600 files) whatever the umask."""

import os
import sqlite3
import stat

import pytest

from chalicelib.core import datadir


def mode(path):
    return stat.S_IMODE(path.stat().st_mode)


def test_the_data_directory_follows_ips_data_dir_then_xdg(tmp_path):
    assert datadir.data_dir({"IPS_DATA_DIR": str(tmp_path / "d"), "XDG_DATA_HOME": "/x"}) \
        == tmp_path / "d"
    assert datadir.data_dir({"XDG_DATA_HOME": str(tmp_path)}) == tmp_path / "ips"
    home = os.path.expanduser("~")
    assert str(datadir.data_dir({})) == os.path.join(home, ".local", "share", "ips")


@pytest.fixture
def wide_umask():
    old = os.umask(0o000)
    yield
    os.umask(old)


def test_files_and_directories_are_private_under_a_wide_umask(tmp_path, wide_umask):
    db = datadir.private_sqlite(tmp_path / "data" / "nested" / "x.sqlite3")
    assert mode(db) == 0o600 and mode(db.parent) == 0o700
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("CREATE TABLE t (x)")
    conn.execute("INSERT INTO t VALUES (1)")
    conn.commit()
    for suffix in ("-wal", "-shm"):      # SQLite copies the database file's mode
        assert mode(db.with_name(db.name + suffix)) == 0o600
    conn.close()


def test_existing_wide_files_are_tightened(tmp_path):
    directory = tmp_path / "data"
    directory.mkdir(mode=0o755)
    os.chmod(directory, 0o755)
    db = directory / "x.sqlite3"
    for path in (db, db.with_name(db.name + "-wal"), db.with_name(db.name + "-shm")):
        path.write_bytes(b"")
        os.chmod(path, 0o644)
    datadir.private_sqlite(db)
    assert mode(directory) == 0o700
    assert {mode(p) for p in directory.iterdir()} == {0o600}
