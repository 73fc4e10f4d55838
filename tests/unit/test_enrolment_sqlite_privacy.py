"""The local enrolment store's privacy guarantees on real SQLite files:
descriptors sealed at rest (AES-GCM), tenants kept apart, and erasure that
leaves the subject id and the descriptor in none of the database, -wal and
-shm files, even while another connection holds a read transaction (503
STORE_BUSY until it lets go, then the retry finishes with 204, not 404).
Also the migration of a schema-1 file (no tenants, plain descriptors)."""

import sqlite3
import stat

import numpy as np
import pytest

from chalicelib.core.crypto import Sealer, StaticKeys
from chalicelib.core.errors import ApiError
from tests.unit.test_enrolment_sqlite import (
    LIMIT,
    MODEL,
    THRESHOLD,
    near,
    open_store,
    probe,
    vector,
)

SUBJECT = "erase-me-5b1e77"


@pytest.fixture
def db(tmp_path):
    return tmp_path / "data" / "enrolments.sqlite3"


def files_of(db):
    return [p for p in db.parent.iterdir() if p.name.startswith(db.name)]


def raw(db) -> bytes:
    """Every byte of the database and its side files."""
    return b"".join(p.read_bytes() for p in files_of(db))


def plain(v) -> bytes:
    return np.asarray(v, np.float32).astype("<f4").tobytes()


def sealed_blobs(db) -> list[bytes]:
    with sqlite3.connect(db) as conn:
        return [r[0] for r in conn.execute("SELECT descriptor FROM faces")]


def test_descriptors_are_sealed_on_disk_and_need_the_key(db):
    store = open_store(db)
    face = vector(1)
    store.enrol("acme", "alice", probe(face), THRESHOLD, LIMIT)
    data = raw(db)
    assert plain(face)[:32] not in data and plain(face)[-32:] not in data
    assert SUBJECT.encode() not in data
    del store
    with pytest.raises(ApiError) as caught:        # another key opens nothing
        open_store(db, sealer=Sealer(StaticKeys(bytes(32))))
    assert (caught.value.status, caught.value.code) == (503, "STORE_UNAVAILABLE")
    assert [m.subject_id for m in open_store(db).search("acme", probe(face), THRESHOLD, LIMIT)] \
        == ["alice"]


def test_a_sealed_descriptor_moved_to_another_tenant_does_not_open(db):
    store = open_store(db)
    store.enrol("acme", "alice", probe(vector(1)), THRESHOLD, LIMIT)
    store.enrol("other", "bob", probe(vector(2)), THRESHOLD, LIMIT)
    del store
    with sqlite3.connect(db) as conn:     # someone with write access swaps the blobs
        blobs = dict(conn.execute("SELECT s.tenant_id, f.descriptor FROM faces f "
                                  "JOIN subjects s ON s.id = f.subject"))
        conn.execute("UPDATE faces SET descriptor = ? WHERE subject = "
                     "(SELECT id FROM subjects WHERE tenant_id = 'other')", (blobs["acme"],))
    with pytest.raises(ApiError):
        open_store(db)


def test_tenants_never_see_each_others_subjects(db):
    store = open_store(db)
    face = vector(1)
    assert store.enrol("acme", "cust-1", probe(face), THRESHOLD, LIMIT).enrolled
    # The same face and the same id under another tenant: another subject, no duplicate.
    other = store.enrol("globex", "cust-1", probe(near(face, 3, 0.1)), THRESHOLD, LIMIT)
    assert other.enrolled and other.duplicates == []
    assert store.enrol("globex", "cust-2", probe(near(face, 4, 0.1)), THRESHOLD, LIMIT).duplicates
    assert [m.subject_id for m in store.search("acme", probe(face), THRESHOLD, LIMIT)] == ["cust-1"]
    assert store.search("initech", probe(face), 0.0, LIMIT) == []
    assert store.subject("initech", "cust-1") is None
    assert store.erase("initech", "cust-1") is False
    assert store.erase("globex", "cust-1") is True
    assert store.subject("acme", "cust-1") is not None
    assert [m.subject_id for m in store.search("acme", probe(face), THRESHOLD, LIMIT)] == ["cust-1"]
    reopened = open_store(db)
    assert reopened.search("globex", probe(face), 0.0, LIMIT) == []
    assert len(reopened) == 1 and reopened.integrity_problems() == []


def enrol_subject_and_neighbours(store):
    face = vector(7)
    store.enrol("acme", SUBJECT, probe(face), THRESHOLD, LIMIT)
    store.enrol("acme", SUBJECT, probe(near(face, 8, 0.2)), THRESHOLD, LIMIT)
    for i in range(5):
        store.enrol("acme", f"keep-{i}", probe(vector(100 + i)), THRESHOLD, LIMIT)
    return face


def assert_no_trace(db, face, blobs):
    data = raw(db)
    assert SUBJECT.encode() not in data
    assert plain(face)[:32] not in data
    for blob in blobs:
        assert blob[-48:] not in data          # nor the sealed bytes: the key may leak later
    wal = db.with_name(db.name + "-wal")
    assert not wal.exists() or wal.stat().st_size == 0
    assert {stat.S_IMODE(p.stat().st_mode) for p in files_of(db)} == {0o600}


def test_after_erasure_no_file_holds_the_subject_or_its_descriptor(db):
    store = open_store(db)
    face = enrol_subject_and_neighbours(store)
    blobs = sealed_blobs(db)[:2]
    assert SUBJECT.encode() in raw(db)           # the grep below can see it when it is there
    assert store.erase("acme", SUBJECT) is True
    assert_no_trace(db, face, blobs)
    assert len(store) == 5 and store.integrity_problems() == []


def test_a_reader_holding_the_database_makes_erasure_busy_until_it_lets_go(db):
    store = open_store(db, busy_timeout_ms=20, checkpoint_attempts=2, sleep=lambda s: None)
    face = enrol_subject_and_neighbours(store)
    blobs = sealed_blobs(db)[:2]
    reader = sqlite3.connect(db, isolation_level=None)
    reader.execute("BEGIN")
    assert reader.execute("SELECT count(*) FROM faces").fetchone()[0] == 7   # a snapshot held
    with pytest.raises(ApiError) as caught:
        store.erase("acme", SUBJECT)
    assert (caught.value.status, caught.value.code) == (503, "STORE_BUSY")
    assert SUBJECT.encode() in raw(db)         # why it is not a 204: the -wal still holds it
    assert store.subject("acme", SUBJECT) is None
    reader.execute("ROLLBACK")
    reader.close()
    assert store.erase("acme", SUBJECT) is True     # the retry finishes it: 204, not 404
    assert_no_trace(db, face, blobs)
    assert store.erase("acme", SUBJECT) is False    # now it is unknown


def test_erasure_retries_the_checkpoint_while_a_reader_finishes(db):
    reader = {}

    def reader_finishes(_seconds):        # the backoff between attempts: the reader lets go
        if "conn" in reader:
            reader.pop("conn").execute("ROLLBACK")

    store = open_store(db, busy_timeout_ms=20, sleep=reader_finishes)
    face = enrol_subject_and_neighbours(store)
    blobs = sealed_blobs(db)[:2]
    reader["conn"] = sqlite3.connect(db, isolation_level=None)
    reader["conn"].execute("BEGIN")
    reader["conn"].execute("SELECT count(*) FROM faces").fetchone()
    assert store.erase("acme", SUBJECT) is True
    assert "conn" not in reader                   # the first attempt was busy, the second won
    assert_no_trace(db, face, blobs)


def test_a_schema_1_file_is_migrated_to_the_default_tenant_and_sealed(db):
    db.parent.mkdir()
    face = vector(1)
    with sqlite3.connect(db) as conn:
        conn.execute("PRAGMA journal_mode = WAL")
        conn.executescript("""
            CREATE TABLE subjects (id INTEGER PRIMARY KEY, subject_id TEXT NOT NULL UNIQUE,
                                   created_at TEXT NOT NULL);
            CREATE TABLE faces (id INTEGER PRIMARY KEY, subject INTEGER NOT NULL
                REFERENCES subjects(id) ON DELETE CASCADE, descriptor BLOB NOT NULL
                CHECK (length(descriptor) = 512), model_version TEXT NOT NULL,
                enrolled_at TEXT NOT NULL);
            CREATE INDEX faces_subject ON faces(subject);
            PRAGMA user_version = 1;""")
        conn.execute("INSERT INTO subjects VALUES (1, 'old-customer', '2025-01-01T00:00:00+00:00')")
        conn.execute("INSERT INTO faces VALUES (1, 1, ?, ?, '2025-01-01T00:00:00+00:00')",
                     (plain(face), MODEL))
    assert plain(face) in raw(db)
    store = open_store(db)
    assert [m.subject_id for m in store.search("default", probe(face), THRESHOLD, LIMIT)] \
        == ["old-customer"]
    assert plain(face)[:32] not in raw(db)
    assert store.integrity_problems() == []
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == 2
