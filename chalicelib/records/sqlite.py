"""The local stage's record store: SQLite (standard library) in
``IPS_DATA_DIR/records.sqlite3`` (directory 0700, files 0600, WAL journal,
``synchronous=FULL``).

Tables:

- ``records``: one row a record; ``body`` is the whole record as JSON (the
  fold of its events), beside the columns a listing needs; a session's
  ``token_sha256`` and ``sealed_expected`` never leave the store.
- ``events``: the append-only trail, ``(record_id, seq)`` unique, with the
  ``prev_hash``/``hash`` columns of the chain (chalicelib.records.chain).
  Triggers refuse UPDATE and DELETE of an event row through SQLite, so only
  someone editing the file around SQLite can change one, which
  ``make verify-audit`` then finds.

Every `Change` is one ``BEGIN IMMEDIATE`` transaction (check the record's
event count, write the record, insert the events) committed before
`commit` returns: a process killed at any point reopens with whole changes
only. Issue 19 adds an ``outbox`` table written in that same transaction,
and a ``redacted`` event type (records hold no personal data; anything
personal a later feature keeps goes in its own table, outside the hashed
events, so deleting it leaves the chain valid).

Threads: sqlite3 connections are per thread; SQLite's write lock
serialises the transactions of all threads and processes.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

from chalicelib.records.base import Change, Conflict, Page, Position, SessionKeys, StoreFailure
from chalicelib.records.files import private_file
from chalicelib.records.model import Event, EventType, Record, Status

FILE_NAME = "records.sqlite3"
SCHEMA_VERSION = 1
_BUSY_CODES = {5, 6}  # SQLITE_BUSY, SQLITE_LOCKED

SCHEMA = """
CREATE TABLE IF NOT EXISTS records (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    status TEXT NOT NULL,
    created_at TEXT NOT NULL,
    events INTEGER NOT NULL,
    head_hash TEXT NOT NULL,
    body TEXT NOT NULL,
    token_sha256 TEXT,
    sealed_expected BLOB
);
CREATE INDEX IF NOT EXISTS records_by_tenant ON records (tenant_id, created_at, id);
CREATE INDEX IF NOT EXISTS records_by_status ON records (tenant_id, status, created_at, id);
CREATE TABLE IF NOT EXISTS events (
    record_id TEXT NOT NULL REFERENCES records (id),
    seq INTEGER NOT NULL,
    tenant_id TEXT NOT NULL,
    type TEXT NOT NULL,
    at TEXT NOT NULL,
    data TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL,
    PRIMARY KEY (record_id, seq)
);
CREATE TRIGGER IF NOT EXISTS events_no_update BEFORE UPDATE ON events
BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;
CREATE TRIGGER IF NOT EXISTS events_no_delete BEFORE DELETE ON events
BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END
"""


def event_from_row(row: sqlite3.Row | tuple[Any, ...]) -> Event:
    """(record_id, seq, tenant_id, type, at, data, prev_hash, hash) -> Event.
    Raises ValueError on a row that is no event (an unknown type, bad JSON)."""
    record_id, seq, tenant_id, kind, at, data, prev_hash, digest = row
    return Event(
        record_id=record_id,
        tenant_id=tenant_id,
        seq=int(seq),
        type=EventType(kind),
        at=at,
        data=json.loads(data),
        prev_hash=prev_hash,
        hash=digest,
    )


EVENT_COLUMNS = "record_id, seq, tenant_id, type, at, data, prev_hash, hash"


class SqliteRecordStore:
    """See the module docstring."""

    name = "sqlite"

    def __init__(self, path: str | Path, busy_timeout_ms: int = 5000) -> None:
        self.path = str(Path(path).expanduser())
        self._busy_timeout_ms = busy_timeout_ms
        self._local = threading.local()
        with self._guard("open"):
            private_file(self.path)
            conn = self._connection()
            mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if str(mode).lower() != "wal":
                raise sqlite3.OperationalError("WAL journal mode unavailable")
            with self._transaction(conn):
                for statement in filter(str.strip, SCHEMA.split(";\n")):
                    conn.execute(statement)
                conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    @staticmethod
    def in_dir(data_dir: str | Path) -> SqliteRecordStore:
        return SqliteRecordStore(Path(data_dir) / FILE_NAME)

    # --- connection -----------------------------------------------------------------

    def _connection(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(
                self.path, timeout=self._busy_timeout_ms / 1000, isolation_level=None
            )
            conn.execute("PRAGMA foreign_keys = ON")
            conn.execute("PRAGMA synchronous = FULL")  # acknowledged = on disk
            conn.execute("PRAGMA secure_delete = ON")  # a forgotten `expected` is overwritten
            self._local.conn = conn
        return conn

    @staticmethod
    @contextmanager
    def _transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
        conn.execute("BEGIN IMMEDIATE")  # the write lock first: busy fails before any work
        try:
            yield conn
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                with suppress(sqlite3.Error):
                    conn.execute("ROLLBACK")
            raise

    @staticmethod
    @contextmanager
    def _guard(operation: str) -> Iterator[None]:
        try:
            yield
        except sqlite3.Error as exc:
            code = getattr(exc, "sqlite_errorcode", None)
            busy = code is not None and code & 0xFF in _BUSY_CODES
            raise StoreFailure(operation, busy) from exc
        except OSError as exc:
            raise StoreFailure(operation, busy=False) from exc

    # --- the interface ------------------------------------------------------------------

    def commit(self, change: Change) -> None:
        record = change.record
        body = json.dumps(record.dump(), separators=(",", ":"), sort_keys=True)
        with self._guard("commit"):
            conn = self._connection()
            with self._transaction(conn):
                row = conn.execute(
                    "SELECT events FROM records WHERE id = ?", (record.id,)
                ).fetchone()
                if change.expected_events == 0:
                    if row is not None:
                        raise Conflict(record.id)
                    keys = change.session
                    conn.execute(
                        "INSERT INTO records (id, tenant_id, status, created_at, events, "
                        "head_hash, body, token_sha256, sealed_expected) "
                        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        (
                            record.id,
                            record.tenant_id,
                            str(record.status),
                            record.created_at,
                            record.events,
                            record.head_hash,
                            body,
                            keys.token_sha256 if keys else None,
                            keys.sealed_expected if keys else None,
                        ),
                    )
                else:
                    if row is None or row[0] != change.expected_events:
                        raise Conflict(record.id)
                    conn.execute(
                        "UPDATE records SET status = ?, events = ?, head_hash = ?, body = ?"
                        + (", sealed_expected = NULL" if change.forget_expected else "")
                        + " WHERE id = ? AND events = ?",
                        (
                            str(record.status),
                            record.events,
                            record.head_hash,
                            body,
                            record.id,
                            change.expected_events,
                        ),
                    )
                conn.executemany(
                    f"INSERT INTO events ({EVENT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    [
                        (
                            e.record_id,
                            e.seq,
                            e.tenant_id,
                            str(e.type),
                            e.at,
                            json.dumps(dict(e.data), separators=(",", ":"), sort_keys=True),
                            e.prev_hash,
                            e.hash,
                        )
                        for e in change.events
                    ],
                )

    def get(self, tenant_id: str, record_id: str) -> Record | None:
        with self._guard("read"):
            row = (
                self._connection()
                .execute(
                    "SELECT body FROM records WHERE id = ? AND tenant_id = ?",
                    (record_id, tenant_id),
                )
                .fetchone()
            )
        return None if row is None else Record.load(json.loads(row[0]))

    def session(self, record_id: str) -> tuple[Record, SessionKeys] | None:
        with self._guard("read"):
            row = (
                self._connection()
                .execute(
                    "SELECT body, token_sha256, sealed_expected FROM records WHERE id = ?",
                    (record_id,),
                )
                .fetchone()
            )
        if row is None or row[1] is None:
            return None
        return Record.load(json.loads(row[0])), SessionKeys(row[1], row[2])

    def page(
        self, tenant_id: str, status: Status | None, limit: int, after: Position | None
    ) -> Page:
        where, args = ["tenant_id = ?"], [tenant_id]
        if status is not None:
            where.append("status = ?")
            args.append(str(status))
        if after is not None:
            where.append("(created_at, id) < (?, ?)")
            args += [after.created_at, after.record_id]
        with self._guard("list"):
            rows = (
                self._connection()
                .execute(
                    f"SELECT body FROM records WHERE {' AND '.join(where)} "
                    "ORDER BY created_at DESC, id DESC LIMIT ?",
                    (*args, limit + 1),
                )
                .fetchall()
            )
        items = [Record.load(json.loads(r[0])) for r in rows[:limit]]
        more = len(rows) > limit
        return Page(items, Position(items[-1].created_at, items[-1].id).encode() if more else None)

    def events(self, tenant_id: str, record_id: str) -> list[Event]:
        with self._guard("read"):
            rows = (
                self._connection()
                .execute(
                    f"SELECT {EVENT_COLUMNS} FROM events WHERE record_id = ? AND tenant_id = ? "
                    "ORDER BY seq",
                    (record_id, tenant_id),
                )
                .fetchall()
            )
        return [event_from_row(r) for r in rows]

    def close(self) -> None:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None
