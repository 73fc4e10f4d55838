"""The local stage's enrolment store: SQLite (standard library) on disk, an
exact search over in-memory float32 matrices, one per tenant
(``matrix.py``).

On disk (``IPS_DATA_DIR/enrolments.sqlite3``, 0600 in a 0700 directory, as
are its ``-wal`` and ``-shm``; WAL journal):

- ``subjects(id, tenant_id, subject_id, created_at)``, unique per tenant:
  the same subject id under two tenants is two subjects;
- ``faces(id, subject, descriptor, model_version, enrolled_at)``: the 128-d
  descriptor (512 bytes of little-endian float32) sealed with AES-GCM
  (``chalicelib/core/crypto.py``), bound to its tenant, subject and model
  version; never an image. A copy of the file without the key holds no
  usable biometric data. Files of schema 1 (no tenants, plain descriptors)
  are migrated on open: tenant ``default``, descriptors sealed, the file
  vacuumed so no plain descriptor stays in a free page.

Tenants: every method takes the tenant id first. A tenant sees, searches
and erases only its own subjects; another tenant's subject is not found.

Crash safety: every enrolment and every erasure is one ``BEGIN IMMEDIATE``
transaction, committed with ``synchronous=FULL`` before the caller hears
about it; a process killed at any point reopens with whole enrolments only
(SQLite's WAL recovery), and the matrices are rebuilt from the file.

Erasure that is real: ``secure_delete`` overwrites the deleted rows with
zeros, then ``wal_checkpoint(TRUNCATE)`` copies that into the database and
empties the ``-wal`` file, which still holds the pages as they were before.
The checkpoint cannot finish while another connection (another process,
``sqlite3`` on the command line, a backup) holds a read transaction: it is
tried ``checkpoint_attempts`` times (each waits up to the busy timeout),
and if the reader still holds on, the erasure answers 503 ``STORE_BUSY``
and stays pending: the client's retry finishes it and answers 204 (not
404). Only after a checkpoint that truncated the WAL does an erasure
succeed, so after a 204 neither the subject id nor the descriptor is in any
of the three files. Opening the store checkpoints too (a crash between the
delete and the checkpoint).

Threads: ``chalice local`` runs each request on its own thread. sqlite3
connections are per thread; one lock covers the matrices and every write,
so the duplicate check and the insert of an enrolment are atomic (two
simultaneous enrolments of one face under two ids cannot both pass).

One process per database file: the matrices are loaded once and updated by
this process's writes only.

numpy is imported here only; cloud stages never import this module.
"""

from __future__ import annotations

import hashlib
import math
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable
from contextlib import suppress
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from chalicelib.core import datadir, errors
from chalicelib.core.crypto import Sealer, SealError
from chalicelib.core.logs import log_event
from chalicelib.enrolment import sqlite_schema as schema
from chalicelib.enrolment.base import Enrolment, FaceInfo, Match, Probe, SubjectInfo
from chalicelib.enrolment.matrix import BLOCK_ROWS, DIM, Matrix

DESCRIPTOR_BYTES = DIM * 4
# SQLite primary result codes (exc.sqlite_errorcode & 0xff)
_BUSY_CODES = {5, 6}  # SQLITE_BUSY, SQLITE_LOCKED


def _translate(exc: sqlite3.Error, operation: str) -> errors.ApiError:
    """A locked database is a busy store (retry); anything else (disk full,
    read-only, I/O error, cannot open) needs an operator. Logs the SQLite
    error name only."""
    code = getattr(exc, "sqlite_errorcode", None)
    log_event(
        "store_error",
        store="sqlite",
        operation=operation,
        error=getattr(exc, "sqlite_errorname", type(exc).__name__),
    )
    if code is not None and code & 0xFF in _BUSY_CODES:
        return errors.store_busy()
    return errors.store_unavailable()


class SqliteStore:
    """See the module docstring. ``similarity`` and ``max_distance`` are the
    offline engine's mappings (distance -> 0-100 similarity and back), so a
    search scores faces exactly as /ips does; ``sealer`` seals descriptors."""

    name = "sqlite"

    def __init__(
        self,
        path: str,
        model_version: str,
        similarity: Callable[[float], float],
        max_distance: Callable[[float], float],
        *,
        sealer: Sealer,
        busy_timeout_ms: int = 5000,
        checkpoint_attempts: int = 3,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        block_rows: int = BLOCK_ROWS,
    ) -> None:
        self.path = str(Path(path).expanduser())
        self.model_version = model_version
        self._similarity = similarity
        self._max_distance = max_distance
        self._sealer = sealer
        self._busy_timeout_ms = busy_timeout_ms
        self._checkpoint_attempts = max(1, checkpoint_attempts)
        self._clock = clock
        self._sleep = sleep
        self._block_rows = block_rows
        self._local = threading.local()
        self._lock = threading.Lock()
        self._matrices: dict[str, Matrix] = {}
        # Erasures committed but not yet checkpointed out of the -wal file,
        # as keyed hashes (the ids themselves are not kept).
        self._pending: set[bytes] = set()
        self._pending_salt = os.urandom(16)
        try:
            datadir.private_sqlite(self.path)
            self._init_schema()
            self._load()
        except sqlite3.Error as exc:
            raise _translate(exc, "open") from None
        except OSError as exc:
            log_event("store_error", store="sqlite", operation="open", error=type(exc).__name__)
            raise errors.store_unavailable() from None
        # A crash between an erasure and its checkpoint leaves pages in the
        # -wal file; if a reader holds the file now, the next erasure retries.
        with suppress(errors.ApiError):
            self._checkpoint()

    # --- connection and file --------------------------------------------------

    def _connection(self) -> sqlite3.Connection:
        """This thread's connection to this store (sqlite3 objects are not
        shared between threads)."""
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            # isolation_level=None: transactions are explicit (BEGIN IMMEDIATE).
            conn = sqlite3.connect(
                self.path, timeout=self._busy_timeout_ms / 1000, isolation_level=None
            )
            conn.execute("PRAGMA foreign_keys = ON")
            conn.execute("PRAGMA synchronous = FULL")  # acknowledged = on disk
            conn.execute("PRAGMA secure_delete = ON")  # erased rows are overwritten
            self._local.conn = conn
        return conn

    def _init_schema(self) -> None:
        conn = self._connection()
        mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        if str(mode).lower() != "wal":
            raise sqlite3.OperationalError("WAL journal mode unavailable")
        datadir.private_sqlite(self.path)  # the -wal and -shm just made
        schema.create_or_migrate(conn, self._sealer)

    def _load(self) -> None:
        cursor = self._connection().execute(
            "SELECT s.tenant_id, f.subject, s.subject_id, f.descriptor FROM faces f "
            "JOIN subjects s ON s.id = f.subject WHERE f.model_version = ? "
            "ORDER BY s.tenant_id, f.id",
            (self.model_version,),
        )
        while True:
            rows = cursor.fetchmany(BLOCK_ROWS)
            if not rows:
                break
            by_tenant: dict[str, tuple[list[bytes], list[int]]] = {}
            for tenant_id, key, subject_id, sealed in rows:
                plain = self._open(tenant_id, subject_id, sealed)
                blobs, keys = by_tenant.setdefault(tenant_id, ([], []))
                blobs.append(plain)
                keys.append(key)
            for tenant_id, (blobs, keys) in by_tenant.items():
                vectors = np.frombuffer(b"".join(blobs), dtype="<f4").reshape(-1, DIM)
                self._matrix(tenant_id).extend(vectors, np.array(keys, np.int64))

    def _open(self, tenant_id: str, subject_id: str, sealed: bytes) -> bytes:
        try:
            plain = self._sealer.unseal(
                bytes(sealed), schema.aad(tenant_id, subject_id, self.model_version)
            )
        except (SealError, ValueError):
            # The wrong IPS_DATA_KEY, or an altered row: refuse to start
            # rather than search without some of the enrolled faces.
            log_event("store_error", store="sqlite", operation="open", error="descriptor_sealed")
            raise errors.store_unavailable() from None
        if len(plain) != DESCRIPTOR_BYTES:
            raise errors.store_unavailable()
        return plain

    def _matrix(self, tenant_id: str) -> Matrix:
        found = self._matrices.get(tenant_id)
        if found is None:
            found = self._matrices[tenant_id] = Matrix(self._block_rows)
        return found

    # --- the interface -------------------------------------------------------------

    def __len__(self) -> int:
        """Faces of the current model version (the searchable ones), all tenants."""
        return sum(m.count for m in self._matrices.values())

    def enrol(
        self, tenant_id: str, subject_id: str, probe: Probe, threshold: float, limit: int
    ) -> Enrolment:
        vector = _vector(probe)
        now = _iso(self._clock())
        sealed = self._sealer.seal(
            vector.astype("<f4").tobytes(), schema.aad(tenant_id, subject_id, self.model_version)
        )
        with self._lock:
            try:
                conn = self._connection()
                own_key = self._subject_key(tenant_id, subject_id)
                duplicates = self._matches(tenant_id, vector, threshold, limit, exclude=own_key)
                if duplicates:
                    return Enrolment(duplicates=duplicates, face_id=None)
                with schema.transaction(conn):
                    if own_key is None:
                        own_key = conn.execute(
                            "INSERT INTO subjects (tenant_id, subject_id, created_at) "
                            "VALUES (?, ?, ?)",
                            (tenant_id, subject_id, now),
                        ).lastrowid
                    face_id = conn.execute(
                        "INSERT INTO faces (subject, descriptor, model_version, enrolled_at) "
                        "VALUES (?, ?, ?, ?)",
                        (own_key, sealed, self.model_version, now),
                    ).lastrowid
            except sqlite3.Error as exc:
                raise _translate(exc, "enrol") from None
            # Only once committed: the matrix never holds an unacknowledged face.
            assert own_key is not None
            self._matrix(tenant_id).extend(vector.reshape(1, DIM), np.array([own_key], np.int64))
        return Enrolment(duplicates=[], face_id=str(face_id))

    def search(self, tenant_id: str, probe: Probe, threshold: float, limit: int) -> list[Match]:
        vector = _vector(probe)
        with self._lock:
            try:
                return self._matches(tenant_id, vector, threshold, limit, exclude=None)
            except sqlite3.Error as exc:
                raise _translate(exc, "search") from None

    def subject(self, tenant_id: str, subject_id: str) -> SubjectInfo | None:
        try:
            rows = (
                self._connection()
                .execute(
                    "SELECT f.enrolled_at, f.model_version FROM subjects s "
                    "JOIN faces f ON f.subject = s.id "
                    "WHERE s.tenant_id = ? AND s.subject_id = ? ORDER BY f.id",
                    (tenant_id, subject_id),
                )
                .fetchall()
            )
        except sqlite3.Error as exc:
            raise _translate(exc, "read") from None
        if not rows:
            return None
        return SubjectInfo(
            subject_id=subject_id,
            engine="local",
            faces=[FaceInfo(enrolled_at=r[0], model_version=r[1]) for r in rows],
        )

    def erase(self, tenant_id: str, subject_id: str) -> bool:
        """True once the subject's rows are deleted AND checkpointed out of
        the -wal file (now, or by this call for an erasure that answered
        503 before); False if unknown; ApiError 503 STORE_BUSY while a
        reader keeps the checkpoint from finishing."""
        token = hashlib.blake2b(
            f"{tenant_id}\x00{subject_id}".encode(), key=self._pending_salt, digest_size=16
        ).digest()
        with self._lock:
            try:
                conn = self._connection()
                with schema.transaction(conn):
                    row = conn.execute(
                        "SELECT id FROM subjects WHERE tenant_id = ? AND subject_id = ?",
                        (tenant_id, subject_id),
                    ).fetchone()
                    if row is not None:
                        conn.execute("DELETE FROM faces WHERE subject = ?", (row[0],))
                        conn.execute("DELETE FROM subjects WHERE id = ?", (row[0],))
            except sqlite3.Error as exc:
                raise _translate(exc, "erase") from None
            if row is not None:
                self._matrix(tenant_id).remove_subject(row[0])
                self._pending.add(token)
            elif token not in self._pending:
                return False
        self._checkpoint()
        with self._lock:
            self._pending.discard(token)
        return True

    # --- helpers ---------------------------------------------------------------

    def _subject_key(self, tenant_id: str, subject_id: str) -> int | None:
        row = (
            self._connection()
            .execute(
                "SELECT id FROM subjects WHERE tenant_id = ? AND subject_id = ?",
                (tenant_id, subject_id),
            )
            .fetchone()
        )
        return int(row[0]) if row else None

    def _matches(
        self, tenant_id: str, vector: np.ndarray, threshold: float, limit: int, exclude: int | None
    ) -> list[Match]:
        """Best face per subject of the tenant at or above the threshold, best first."""
        matrix = self._matrices.get(tenant_id)
        if matrix is None:
            return []
        best: dict[int, float] = {}
        for key, distance in matrix.within(vector, self._distance_limit(threshold)):
            if key == exclude:
                continue
            similarity = self._similarity(distance)
            if similarity >= threshold and similarity > best.get(key, -1.0):
                best[key] = similarity
        names = self._subject_ids(best)
        ranked = sorted(((names[k], s) for k, s in best.items()), key=lambda m: (-m[1], m[0]))
        return [Match(subject_id, similarity) for subject_id, similarity in ranked[:limit]]

    def _distance_limit(self, threshold: float) -> float:
        if threshold <= 0:
            return math.inf
        if threshold >= 100:
            return 0.0
        return self._max_distance(threshold)

    def _subject_ids(self, keys: Iterable[int]) -> dict[int, str]:
        keys = list(keys)
        if not keys:
            return {}
        marks = ",".join("?" * len(keys))
        rows = (
            self._connection()
            .execute(f"SELECT id, subject_id FROM subjects WHERE id IN ({marks})", keys)
            .fetchall()
        )
        return {r[0]: r[1] for r in rows}

    def _checkpoint(self) -> None:
        """Copy the WAL into the database and truncate it to zero bytes, so
        no erased page lingers in the -wal file; checked, retried, else 503
        STORE_BUSY. Each attempt waits up to the busy timeout for readers."""
        wal = self.path + "-wal"
        for attempt in range(self._checkpoint_attempts):
            if attempt:
                self._sleep(0.05 * 2**attempt)
            try:
                busy, _log, _done = (
                    self._connection().execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
                )
            except sqlite3.Error as exc:
                raise _translate(exc, "checkpoint") from None
            if busy == 0 and (not os.path.exists(wal) or os.path.getsize(wal) == 0):
                return
        log_event("store_error", store="sqlite", operation="checkpoint", error="SQLITE_BUSY")
        raise errors.store_busy()

    def integrity_problems(self) -> list[str]:
        """For tests and operators: SQLite's integrity check, foreign keys
        and the matrices against the file. Empty when all is well."""
        conn = self._connection()
        problems = [r[0] for r in conn.execute("PRAGMA integrity_check") if r[0] != "ok"]
        problems += [f"foreign key: {r}" for r in conn.execute("PRAGMA foreign_key_check")]
        orphans = conn.execute(
            "SELECT count(*) FROM subjects s WHERE NOT EXISTS "
            "(SELECT 1 FROM faces f WHERE f.subject = s.id)"
        ).fetchone()[0]
        if orphans:
            problems.append(f"{orphans} subjects without a face")
        counts = dict(
            conn.execute(
                "SELECT s.tenant_id, count(*) FROM faces f JOIN subjects s ON s.id = f.subject "
                "WHERE f.model_version = ? GROUP BY s.tenant_id",
                (self.model_version,),
            ).fetchall()
        )
        for tenant_id in set(counts) | set(self._matrices):
            held = self._matrices[tenant_id].count if tenant_id in self._matrices else 0
            if held != counts.get(tenant_id, 0):
                problems.append(f"tenant matrix holds {held} faces, file {counts.get(tenant_id)}")
        return problems


def _vector(probe: Probe) -> np.ndarray:
    if probe.descriptor is None:
        raise ValueError("the local store needs the offline engine's descriptor")
    vector = np.asarray(probe.descriptor, dtype=np.float32)
    if vector.shape != (DIM,) or not np.all(np.isfinite(vector)):
        raise ValueError("a descriptor is 128 finite numbers")
    return vector


def _iso(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, UTC).isoformat(timespec="seconds")
