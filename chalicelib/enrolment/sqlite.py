"""The local stage's enrolment store: SQLite (standard library) on disk, an
exact search over an in-memory float32 matrix.

On disk (``IPS_DB_PATH``, file mode 0600, WAL journal):

- ``subjects(id, subject_id, created_at)``
- ``faces(id, subject, descriptor, model_version, enrolled_at)``: the 128-d
  descriptor as 512 bytes of little-endian float32, never an image.

Crash safety: every enrolment and every erasure is one ``BEGIN IMMEDIATE``
transaction, committed with ``synchronous=FULL`` before the caller hears
about it; a process killed at any point reopens with whole enrolments only
(SQLite's WAL recovery), and the matrix is rebuilt from the file.

In memory: the descriptors of the current model version in blocks of
``BLOCK_ROWS`` contiguous float32 rows, with each row's squared norm and
subject key (520 bytes a face, ~0.5 GB at a million). Fixed-size blocks grow
without ever copying the whole matrix (a doubling array would need twice the
memory for a moment). Search is exact: ||x - q||^2 = |x|^2 + |q|^2 - 2 x.q for
every row with one matrix-vector product per block, candidates re-checked in
float64. Subject ids stay on disk; the few that matched are read back.

Threads: ``chalice local`` runs each request on its own thread. sqlite3
connections are per thread; one lock covers the matrix and every write, so
the duplicate check and the insert of an enrolment are atomic (two
simultaneous enrolments of one face under two ids cannot both pass).

One process per database file: the matrix is loaded once and updated by
this process's writes only.

numpy is imported here only; cloud stages never import this module.
"""

from __future__ import annotations

import math
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager, suppress
from datetime import UTC, datetime
from operator import itemgetter
from pathlib import Path

import numpy as np

from chalicelib.core import errors
from chalicelib.core.logs import log_event
from chalicelib.enrolment.base import Enrolment, FaceInfo, Match, Probe, SubjectInfo

DIM = 128
BLOCK_ROWS = 65_536
SCHEMA_VERSION = 1
# Float32 dot products can be off by ~1e-6 in squared distance; candidates
# are taken with this margin, then checked exactly in float64.
_PREFILTER_MARGIN = 1e-4
# SQLite primary result codes (exc.sqlite_errorcode & 0xff)
_BUSY_CODES = {5, 6}  # SQLITE_BUSY, SQLITE_LOCKED

_SCHEMA = """
CREATE TABLE IF NOT EXISTS subjects (
    id INTEGER PRIMARY KEY,
    subject_id TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS faces (
    id INTEGER PRIMARY KEY,
    subject INTEGER NOT NULL REFERENCES subjects(id) ON DELETE CASCADE,
    descriptor BLOB NOT NULL CHECK (length(descriptor) = 512),
    model_version TEXT NOT NULL,
    enrolled_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS faces_subject ON faces(subject);
"""


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


class _Matrix:
    """Descriptors of one model version in fixed-size contiguous blocks."""

    def __init__(self, block_rows: int = BLOCK_ROWS) -> None:
        self.block_rows = block_rows
        self.vectors: list[np.ndarray] = []  # (block_rows, DIM) float32
        self.norms: list[np.ndarray] = []  # (block_rows,) float32: |x|^2
        self.subjects: list[np.ndarray] = []  # (block_rows,) int64: subjects.id
        self.count = 0

    def _grow(self) -> None:
        self.vectors.append(np.zeros((self.block_rows, DIM), np.float32))
        self.norms.append(np.zeros(self.block_rows, np.float32))
        self.subjects.append(np.zeros(self.block_rows, np.int64))

    def extend(self, vectors: np.ndarray, subjects: np.ndarray) -> None:
        done = 0
        while done < len(vectors):
            block, offset = divmod(self.count, self.block_rows)
            if block == len(self.vectors):
                self._grow()
            take = min(len(vectors) - done, self.block_rows - offset)
            rows = vectors[done : done + take]
            self.vectors[block][offset : offset + take] = rows
            self.norms[block][offset : offset + take] = np.einsum("ij,ij->i", rows, rows)
            self.subjects[block][offset : offset + take] = subjects[done : done + take]
            self.count += take
            done += take

    def _move(self, source: int, target: int) -> None:
        sb, so = divmod(source, self.block_rows)
        tb, to = divmod(target, self.block_rows)
        self.vectors[tb][to] = self.vectors[sb][so]
        self.norms[tb][to] = self.norms[sb][so]
        self.subjects[tb][to] = self.subjects[sb][so]

    def remove_subject(self, subject: int) -> int:
        """Drop the subject's rows (each replaced by the current last row)."""
        rows = sorted(self.rows_of(subject), reverse=True)
        for row in rows:
            last = self.count - 1
            if row != last:
                self._move(last, row)
            lb, lo = divmod(last, self.block_rows)
            self.vectors[lb][lo] = 0.0  # no copy of an erased descriptor stays in memory
            self.count -= 1
        # Free emptied blocks, keeping one spare so that an erasure followed
        # by an enrolment at a block boundary does not reallocate each time.
        needed = -(-self.count // self.block_rows)
        while len(self.vectors) > needed + 1:
            for blocks in (self.vectors, self.norms, self.subjects):
                blocks.pop()
        return len(rows)

    def rows_of(self, subject: int) -> list[int]:
        found: list[int] = []
        for b, keys in enumerate(self.subjects):
            n = min(self.block_rows, self.count - b * self.block_rows)
            if n <= 0:
                break
            found.extend(int(i) + b * self.block_rows for i in np.flatnonzero(keys[:n] == subject))
        return found

    def within(self, query: np.ndarray, max_distance: float) -> list[tuple[int, float]]:
        """(subject key, exact distance) of every row within max_distance."""
        if self.count == 0:
            return []
        q = query.astype(np.float32)
        q_norm = float(np.dot(q, q))
        limit = (
            max_distance * max_distance + _PREFILTER_MARGIN
            if math.isfinite(max_distance)
            else math.inf
        )
        q64 = query.astype(np.float64)
        found: list[tuple[int, float]] = []
        for b, block in enumerate(self.vectors):
            n = min(self.block_rows, self.count - b * self.block_rows)
            if n <= 0:
                break
            # einsum, not `@`: OpenBLAS would spread each product over every
            # core and, on a busy 2-core machine, wait for them (20 ms instead
            # of 1 ms per block in scripts/bench_search.py runs).
            d2 = self.norms[b][:n] + q_norm - 2.0 * np.einsum("ij,j->i", block[:n], q)
            for i in np.flatnonzero(d2 <= limit):
                distance = float(np.linalg.norm(block[i].astype(np.float64) - q64))
                if distance <= max_distance:
                    found.append((int(self.subjects[b][i]), distance))
        return found


class SqliteStore:
    """See the module docstring. ``similarity`` and ``max_distance`` are the
    offline engine's mappings (distance -> 0-100 similarity and back), so a
    search scores faces exactly as /ips does."""

    name = "sqlite"

    def __init__(
        self,
        path: str,
        model_version: str,
        similarity: Callable[[float], float],
        max_distance: Callable[[float], float],
        busy_timeout_ms: int = 5000,
        clock: Callable[[], float] = time.time,
        block_rows: int = BLOCK_ROWS,
    ) -> None:
        self.path = str(Path(path).expanduser())
        self.model_version = model_version
        self._similarity = similarity
        self._max_distance = max_distance
        self._busy_timeout_ms = busy_timeout_ms
        self._clock = clock
        self._local = threading.local()
        self._lock = threading.Lock()
        self._matrix = _Matrix(block_rows)
        try:
            self._create_file()
            self._init_schema()
            self._load()
        except sqlite3.Error as exc:
            raise _translate(exc, "open") from None
        except OSError as exc:
            log_event("store_error", store="sqlite", operation="open", error=type(exc).__name__)
            raise errors.store_unavailable() from None

    # --- connection and file --------------------------------------------------

    def _create_file(self) -> None:
        """Create the file 0600 before SQLite does (it would use the umask);
        SQLite gives its -wal and -shm files the database file's mode."""
        directory = os.path.dirname(self.path) or "."
        os.makedirs(directory, mode=0o700, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        os.close(fd)
        os.chmod(self.path, 0o600)

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
        with self._transaction(conn):
            for statement in filter(str.strip, _SCHEMA.split(";")):
                conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    @staticmethod
    @contextmanager
    def _transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
        """BEGIN IMMEDIATE (take the write lock first, so a busy database
        fails before any work) ... COMMIT, or ROLLBACK on any error."""
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
            conn.execute("COMMIT")  # a failed COMMIT (I/O, full) is rolled back too
        except BaseException:
            if conn.in_transaction:
                with suppress(sqlite3.Error):  # the original error is the one to report
                    conn.execute("ROLLBACK")
            raise

    def _load(self) -> None:
        cursor = self._connection().execute(
            "SELECT subject, descriptor FROM faces WHERE model_version = ? ORDER BY id",
            (self.model_version,),
        )
        while True:
            rows = cursor.fetchmany(BLOCK_ROWS)
            if not rows:
                break
            # itemgetter: C-level loops (1M faces load in ~1.2 s of CPU)
            blob = b"".join(map(itemgetter(1), rows))
            vectors = np.frombuffer(blob, dtype="<f4").reshape(-1, DIM)
            keys = np.fromiter(map(itemgetter(0), rows), np.int64, len(rows))
            self._matrix.extend(vectors, keys)

    # --- the interface -------------------------------------------------------------

    def __len__(self) -> int:
        """Faces of the current model version (the searchable ones)."""
        return self._matrix.count

    def enrol(self, subject_id: str, probe: Probe, threshold: float, limit: int) -> Enrolment:
        vector = _vector(probe)
        now = _iso(self._clock())
        with self._lock:
            try:
                conn = self._connection()
                own = conn.execute(
                    "SELECT id FROM subjects WHERE subject_id = ?", (subject_id,)
                ).fetchone()
                own_key = own[0] if own else None
                duplicates = self._matches(vector, threshold, limit, exclude=own_key)
                if duplicates:
                    return Enrolment(duplicates=duplicates, face_id=None)
                with self._transaction(conn):
                    if own_key is None:
                        own_key = conn.execute(
                            "INSERT INTO subjects (subject_id, created_at) VALUES (?, ?)",
                            (subject_id, now),
                        ).lastrowid
                    face_id = conn.execute(
                        "INSERT INTO faces (subject, descriptor, model_version, enrolled_at) "
                        "VALUES (?, ?, ?, ?)",
                        (own_key, vector.astype("<f4").tobytes(), self.model_version, now),
                    ).lastrowid
            except sqlite3.Error as exc:
                raise _translate(exc, "enrol") from None
            # Only once committed: the matrix never holds an unacknowledged face.
            self._matrix.extend(vector.reshape(1, DIM), np.array([own_key], np.int64))
        return Enrolment(duplicates=[], face_id=str(face_id))

    def search(self, probe: Probe, threshold: float, limit: int) -> list[Match]:
        vector = _vector(probe)
        with self._lock:
            try:
                return self._matches(vector, threshold, limit, exclude=None)
            except sqlite3.Error as exc:
                raise _translate(exc, "search") from None

    def subject(self, subject_id: str) -> SubjectInfo | None:
        try:
            rows = (
                self._connection()
                .execute(
                    "SELECT f.enrolled_at, f.model_version FROM subjects s "
                    "JOIN faces f ON f.subject = s.id WHERE s.subject_id = ? ORDER BY f.id",
                    (subject_id,),
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

    def erase(self, subject_id: str) -> bool:
        with self._lock:
            try:
                conn = self._connection()
                with self._transaction(conn):
                    row = conn.execute(
                        "SELECT id FROM subjects WHERE subject_id = ?", (subject_id,)
                    ).fetchone()
                    if row is None:
                        return False
                    conn.execute("DELETE FROM faces WHERE subject = ?", (row[0],))
                    conn.execute("DELETE FROM subjects WHERE id = ?", (row[0],))
            except sqlite3.Error as exc:
                raise _translate(exc, "erase") from None
            self._matrix.remove_subject(row[0])
        self._checkpoint()
        return True

    # --- helpers ---------------------------------------------------------------

    def _matches(
        self, vector: np.ndarray, threshold: float, limit: int, exclude: int | None
    ) -> list[Match]:
        """Best face per subject at or above the threshold, best first."""
        best: dict[int, float] = {}
        for key, distance in self._matrix.within(vector, self._distance_limit(threshold)):
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
        """Copy the WAL into the database and truncate it, so the erased
        descriptors' old pages do not linger in the -wal file."""
        try:
            self._connection().execute("PRAGMA wal_checkpoint(TRUNCATE)")
        except sqlite3.Error as exc:
            log_event(
                "store_error",
                store="sqlite",
                operation="checkpoint",
                error=getattr(exc, "sqlite_errorname", type(exc).__name__),
            )

    def integrity_problems(self) -> list[str]:
        """For tests and operators: SQLite's integrity check, foreign keys
        and the matrix against the file. Empty when all is well."""
        conn = self._connection()
        problems = [r[0] for r in conn.execute("PRAGMA integrity_check") if r[0] != "ok"]
        problems += [f"foreign key: {r}" for r in conn.execute("PRAGMA foreign_key_check")]
        orphans = conn.execute(
            "SELECT count(*) FROM subjects s WHERE NOT EXISTS "
            "(SELECT 1 FROM faces f WHERE f.subject = s.id)"
        ).fetchone()[0]
        if orphans:
            problems.append(f"{orphans} subjects without a face")
        current = conn.execute(
            "SELECT count(*) FROM faces WHERE model_version = ?", (self.model_version,)
        ).fetchone()[0]
        if current != self._matrix.count:
            problems.append(f"matrix holds {self._matrix.count} faces, file {current}")
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
