"""The local enrolment store's file: its schema, the one transaction shape
every write uses, and the migration of older files (chalicelib/enrolment/sqlite.py)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager, suppress

from chalicelib.core.crypto import Sealer
from chalicelib.core.logs import log_event

SCHEMA_VERSION = 2

_SCHEMA = """
CREATE TABLE IF NOT EXISTS subjects (
    id INTEGER PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    subject_id TEXT NOT NULL,
    created_at TEXT NOT NULL,
    UNIQUE (tenant_id, subject_id)
);
CREATE TABLE IF NOT EXISTS faces (
    id INTEGER PRIMARY KEY,
    subject INTEGER NOT NULL REFERENCES subjects(id) ON DELETE CASCADE,
    descriptor BLOB NOT NULL,
    model_version TEXT NOT NULL,
    enrolled_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS faces_subject ON faces(subject);
"""


def aad(tenant_id: str, subject_id: str, model_version: str) -> bytes:
    """What a sealed descriptor is bound to: moved to another row, tenant or
    model version it does not open."""
    return "\x00".join(("ips.enrolment.face.v2", tenant_id, subject_id, model_version)).encode()


@contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """BEGIN IMMEDIATE (take the write lock first, so a busy database fails
    before any work) ... COMMIT, or ROLLBACK on any error."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
        conn.execute("COMMIT")  # a failed COMMIT (I/O, full) is rolled back too
    except BaseException:
        if conn.in_transaction:
            with suppress(sqlite3.Error):  # the original error is the one to report
                conn.execute("ROLLBACK")
        raise


def _create(conn: sqlite3.Connection) -> None:
    for statement in filter(str.strip, _SCHEMA.split(";")):
        conn.execute(statement)


def create_or_migrate(conn: sqlite3.Connection, sealer: Sealer) -> None:
    """A new file gets schema 2; a schema-1 file is migrated."""
    if conn.execute("PRAGMA user_version").fetchone()[0] == 1:
        _migrate_from_1(conn, sealer)
        return
    with transaction(conn):
        _create(conn)
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")


def _migrate_from_1(conn: sqlite3.Connection, sealer: Sealer) -> None:
    """Schema 1 (no tenants, plain descriptors) -> 2 in one transaction:
    subjects go to tenant "default", descriptors are sealed; then VACUUM
    rewrites the file so no plain descriptor stays in a free page."""
    with transaction(conn):
        conn.execute("ALTER TABLE faces RENAME TO faces_v1")
        conn.execute("ALTER TABLE subjects RENAME TO subjects_v1")
        conn.execute("DROP INDEX IF EXISTS faces_subject")
        _create(conn)
        conn.execute(
            "INSERT INTO subjects (id, tenant_id, subject_id, created_at) "
            "SELECT id, 'default', subject_id, created_at FROM subjects_v1"
        )
        rows = conn.execute(
            "SELECT f.id, f.subject, s.subject_id, f.descriptor, f.model_version, "
            "f.enrolled_at FROM faces_v1 f JOIN subjects_v1 s ON s.id = f.subject"
        ).fetchall()
        for face, subject, subject_id, plain, model, enrolled_at in rows:
            conn.execute(
                "INSERT INTO faces (id, subject, descriptor, model_version, enrolled_at) "
                "VALUES (?, ?, ?, ?, ?)",
                (
                    face,
                    subject,
                    sealer.seal(bytes(plain), aad("default", subject_id, model)),
                    model,
                    enrolled_at,
                ),
            )
        conn.execute("DROP TABLE faces_v1")
        conn.execute("DROP TABLE subjects_v1")
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
    conn.execute("VACUUM")
    log_event("store_migrated", store="sqlite", schema=SCHEMA_VERSION, faces=len(rows))
