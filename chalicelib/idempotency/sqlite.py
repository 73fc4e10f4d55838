"""Idempotency keys of the local stage: one SQLite file under IPS_DATA_DIR
(``idempotency.sqlite3``, 0600). A claim is one ``BEGIN IMMEDIATE``
transaction, so two threads or processes racing on one key cannot both win."""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator

from chalicelib.idempotency.base import (
    LEASE_S,
    TTL_S,
    Claim,
    Outcome,
    Sealer,
    key_hash,
    open_answer,
)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS idempotency (
    key_hash    TEXT PRIMARY KEY,   -- sha256(tenant, key): never the key itself
    fingerprint TEXT NOT NULL,
    status      INTEGER,            -- NULL while the first request runs
    body        BLOB,               -- the sealed answer
    locked_until REAL NOT NULL,
    expires_at  REAL NOT NULL
)"""


class SqliteIdempotencyStore:
    def __init__(self, path: str, sealer: Sealer, clock: Callable[[], float] = time.time) -> None:
        self._path = path
        self._sealer = sealer
        self._clock = clock
        self._local = threading.local()  # SQLite connections are per thread
        directory = os.path.dirname(path)
        if directory:
            os.makedirs(directory, mode=0o700, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)  # 0600 from the first byte
        os.close(fd)
        with self._transaction() as db:
            db.execute(_SCHEMA)

    def _db(self) -> sqlite3.Connection:
        db: sqlite3.Connection | None = getattr(self._local, "db", None)
        if db is None:
            db = sqlite3.connect(self._path, timeout=10, isolation_level=None)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=FULL")  # an answer is kept before it is sent
            self._local.db = db
        return db

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        db = self._db()
        db.execute("BEGIN IMMEDIATE")
        try:
            yield db
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")

    def claim(self, tenant_id: str, key: str, fingerprint: str) -> Claim:
        hashed, now = key_hash(tenant_id, key), self._clock()
        with self._transaction() as db:
            db.execute("DELETE FROM idempotency WHERE expires_at <= ?", (now,))
            row = db.execute(
                "SELECT fingerprint, status, body, locked_until FROM idempotency "
                "WHERE key_hash = ?",
                (hashed,),
            ).fetchone()
            if row is None or (row[1] is None and row[3] <= now):  # new, or a dead claim
                db.execute(
                    "INSERT OR REPLACE INTO idempotency VALUES (?, ?, NULL, NULL, ?, ?)",
                    (hashed, fingerprint, now + LEASE_S, now + TTL_S),
                )
                return Claim(Outcome.STARTED)
        stored_fingerprint, status, body, _ = row
        if stored_fingerprint != fingerprint:
            return Claim(Outcome.MISMATCH)
        if status is None:
            return Claim(Outcome.IN_PROGRESS)
        return open_answer(self._sealer, int(status), body, hashed.encode())

    def complete(self, tenant_id: str, key: str, status: int, body: bytes) -> None:
        hashed = key_hash(tenant_id, key)
        sealed = self._sealer.seal(body, hashed.encode())
        with self._transaction() as db:
            db.execute(
                # expires_at stays as claimed: 24 h from the first request, as Stripe's
                "UPDATE idempotency SET status = ?, body = ? WHERE key_hash = ? AND status IS NULL",
                (status, sealed, hashed),
            )

    def release(self, tenant_id: str, key: str) -> None:
        with self._transaction() as db:
            db.execute(
                "DELETE FROM idempotency WHERE key_hash = ? AND status IS NULL",
                (key_hash(tenant_id, key),),
            )
