"""The local enrolment store (chalicelib/enrolment/sqlite.py) on a real
SQLite file: WAL and 0600, one transaction per enrolment, model-version
isolation, erasure that survives a restart and leaves no descriptor in the
file, concurrent writers, a SIGKILL in the middle of a burst, and a locked,
read-only or full database answered with a 503 and no corruption."""

import os
import sqlite3
import stat
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

from chalicelib.core.crypto import Sealer, StaticKeys
from chalicelib.core.errors import ApiError
from chalicelib.enrolment.base import Probe
from chalicelib.enrolment.sqlite import SqliteStore
from chalicelib.faces.local import engine as local_engine

ROOT = Path(__file__).resolve().parents[2]
MODEL = local_engine.MODEL_VERSION
THRESHOLD = 60.0  # similarity; distance 0.571 on the engine mapping
LIMIT = 5


T = "acme"          # the tenant of most tests
KEY = bytes(range(32))
SEALER = Sealer(StaticKeys(KEY))


def open_store(path, model_version=MODEL, sealer=SEALER, **kwargs) -> SqliteStore:
    return SqliteStore(str(path), model_version, local_engine.similarity_from_distance,
                       local_engine.distance_from_similarity, clock=lambda: 1_767_225_600.0,
                       sealer=sealer, **kwargs)


def vector(seed: int) -> np.ndarray:
    """A random unit vector: two of them are ~1.41 apart, far beyond any threshold."""
    v = np.random.default_rng(seed).standard_normal(128)
    return v / np.linalg.norm(v)


def probe(v) -> Probe:
    return Probe(image=None, descriptor=tuple(float(x) for x in v))  # type: ignore[arg-type]


def near(v, seed: int, distance: float = 0.2) -> np.ndarray:
    """A copy of v moved by `distance`: the same face photographed again."""
    step = np.random.default_rng(seed).standard_normal(128)
    return v + distance * step / np.linalg.norm(step)


@pytest.fixture
def db(tmp_path) -> Path:
    return tmp_path / "data" / "enrolments.sqlite3"


def test_file_is_private_and_in_wal_mode(db):
    store = open_store(db)
    store.enrol(T, "alice", probe(vector(1)), THRESHOLD, LIMIT)
    assert stat.S_IMODE(db.stat().st_mode) == 0o600
    assert stat.S_IMODE(db.parent.stat().st_mode) == 0o700
    wal = db.with_name(db.name + "-wal")
    assert stat.S_IMODE(wal.stat().st_mode) == 0o600
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        row = conn.execute("SELECT length(descriptor), model_version, enrolled_at FROM faces"
                           ).fetchone()
    assert row == (512 + SEALER.overhead(), MODEL, "2026-01-01T00:00:00+00:00")


def test_an_existing_file_is_made_private(db):
    db.parent.mkdir()
    db.touch(mode=0o644)
    os.chmod(db, 0o644)
    open_store(db)
    assert stat.S_IMODE(db.stat().st_mode) == 0o600


def test_enrol_then_search_finds_the_same_face_only(db):
    store = open_store(db)
    alice, bob = vector(1), vector(2)
    assert store.enrol(T, "alice", probe(alice), THRESHOLD, LIMIT).enrolled
    assert store.enrol(T, "bob", probe(bob), THRESHOLD, LIMIT).enrolled
    matches = store.search(T, probe(near(alice, 10, 0.3)), THRESHOLD, LIMIT)
    assert [m.subject_id for m in matches] == ["alice"]
    expected = local_engine.similarity_from_distance(0.3)   # /ips's own mapping
    assert matches[0].similarity == pytest.approx(expected, abs=1e-3)
    assert store.search(T, probe(vector(3)), THRESHOLD, LIMIT) == []
    assert store.search(T, probe(near(alice, 11, 0.7)), THRESHOLD, LIMIT) == []  # past threshold


def test_duplicate_under_another_id_is_not_enrolled(db):
    store = open_store(db)
    alice = vector(1)
    store.enrol(T, "alice", probe(alice), THRESHOLD, LIMIT)
    outcome = store.enrol(T, "mallory", probe(near(alice, 5, 0.25)), THRESHOLD, LIMIT)
    assert not outcome.enrolled
    assert [d.subject_id for d in outcome.duplicates] == ["alice"]
    assert store.subject(T, "mallory") is None
    assert len(store) == 1


def test_same_subject_again_adds_a_face(db):
    store = open_store(db)
    alice = vector(1)
    store.enrol(T, "alice", probe(alice), THRESHOLD, LIMIT)
    again = store.enrol(T, "alice", probe(near(alice, 5, 0.25)), THRESHOLD, LIMIT)
    assert again.enrolled and again.duplicates == []
    info = store.subject(T, "alice")
    assert info is not None and len(info.faces) == 2
    assert info.to_json() == {
        "subject_id": "alice", "engine": "local", "faces": 2,
        "enrolments": [{"enrolled_at": "2026-01-01T00:00:00+00:00", "model_version": MODEL}] * 2}
    # one subject, best face only, in search results
    assert [m.subject_id for m in store.search(T, probe(alice), THRESHOLD, LIMIT)] == ["alice"]


def test_matches_are_best_first_and_limited(db):
    store = open_store(db)
    base = vector(1)
    for i, distance in enumerate([0.40, 0.10, 0.30, 0.20, 0.35, 0.25]):
        assert store.enrol(T, f"s{i}", probe(near(base, 100 + i, distance)), 100.0, LIMIT).enrolled
    matches = store.search(T, probe(base), 0.0, 3)
    assert [m.subject_id for m in matches] == ["s1", "s3", "s5"]
    assert matches[0].similarity > matches[1].similarity > matches[2].similarity


def test_an_enrolment_is_one_transaction(db):
    store = open_store(db)
    with sqlite3.connect(db) as conn:   # the face insert fails after the subject insert
        conn.execute("CREATE TRIGGER no_faces BEFORE INSERT ON faces "
                     "BEGIN SELECT RAISE(ABORT, 'refused'); END")
    with pytest.raises(ApiError) as caught:
        store.enrol(T, "alice", probe(vector(1)), THRESHOLD, LIMIT)
    assert (caught.value.status, caught.value.code) == (503, "STORE_UNAVAILABLE")
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT count(*) FROM subjects").fetchone()[0] == 0
    assert len(store) == 0 and store.search(T, probe(vector(1)), THRESHOLD, LIMIT) == []
    assert store.integrity_problems() == []


def test_descriptors_of_another_model_version_are_never_compared(db):
    old = open_store(db, model_version="old-model")
    face = vector(1)
    old.enrol(T, "alice", probe(face), THRESHOLD, LIMIT)
    new = open_store(db)
    assert len(new) == 0
    assert new.search(T, probe(face), 0.0, LIMIT) == []
    assert new.enrol(T, "bob", probe(face), THRESHOLD, LIMIT).enrolled   # no duplicate across versions
    info = new.subject(T, "alice")
    assert info is not None and [f.model_version for f in info.faces] == ["old-model"]
    assert [m.subject_id for m in open_store(db).search(T, probe(face), THRESHOLD, LIMIT)] == ["bob"]


def test_erasure_survives_a_restart_and_leaves_no_descriptor_in_the_file(db):
    store = open_store(db)
    alice, bob = vector(1), vector(2)
    store.enrol(T, "alice", probe(alice), THRESHOLD, LIMIT)
    store.enrol(T, "alice", probe(near(alice, 3, 0.2)), THRESHOLD, LIMIT)
    store.enrol(T, "bob", probe(bob), THRESHOLD, LIMIT)
    alice_bytes = alice.astype("<f4").tobytes()
    assert store.erase(T, "alice") is True
    assert store.erase(T, "alice") is False
    assert [m.subject_id for m in store.search(T, probe(alice), 0.0, LIMIT)] == ["bob"]
    del store
    reopened = open_store(db)
    assert reopened.subject(T, "alice") is None
    assert [m.subject_id for m in reopened.search(T, probe(alice), 0.0, LIMIT)] == ["bob"]
    assert len(reopened) == 1 and reopened.integrity_problems() == []
    files = [p for p in db.parent.iterdir() if p.name.startswith(db.name)]
    for path in files:
        assert alice_bytes[:64] not in path.read_bytes(), path.name
    assert reopened.enrol(T, "alice", probe(alice), THRESHOLD, LIMIT).enrolled   # a fresh start


def test_erasure_moves_rows_across_blocks(db):
    store = open_store(db, block_rows=4)     # small blocks: removal crosses block edges
    for i in range(11):
        store.enrol(T, f"s{i}", probe(vector(i)), THRESHOLD, LIMIT)
    for name in ("s0", "s5", "s10", "s3"):
        assert store.erase(T, name)
    assert len(store) == 7 and store.integrity_problems() == []
    for i in range(11):
        found = [m.subject_id for m in store.search(T, probe(vector(i)), THRESHOLD, LIMIT)]
        assert found == ([] if f"s{i}" in ("s0", "s5", "s10", "s3") else [f"s{i}"])


def _in_threads(count, work):
    barrier = threading.Barrier(count)
    results, failures = [None] * count, []

    def run(i):
        try:
            barrier.wait()
            results[i] = work(i)
        except Exception as exc:
            failures.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == []
    return results


def test_concurrent_enrolments_of_different_subjects(db):
    store = open_store(db)
    _in_threads(8, lambda i: [store.enrol(T, f"t{i}-{j}", probe(vector(100 * i + j)), THRESHOLD,
                                          LIMIT) for j in range(10)])
    assert len(store) == 80 and store.integrity_problems() == []
    assert len(open_store(db)) == 80
    hit = open_store(db).search(T, probe(vector(305)), THRESHOLD, LIMIT)
    assert [m.subject_id for m in hit] == ["t3-5"]


def test_concurrent_enrolments_of_the_same_subject(db):
    store = open_store(db)
    outcomes = _in_threads(8, lambda i: store.enrol(T, "alice", probe(vector(i)), THRESHOLD, LIMIT))
    assert all(o.enrolled for o in outcomes)
    info = store.subject(T, "alice")
    assert info is not None and len(info.faces) == 8
    assert store.integrity_problems() == []


def test_one_face_under_several_ids_at_once_is_enrolled_once(db):
    store = open_store(db)
    face = vector(1)
    outcomes = _in_threads(6, lambda i: store.enrol(T, f"id{i}", probe(near(face, i, 0.1)),
                                                    THRESHOLD, LIMIT))
    assert sum(o.enrolled for o in outcomes) == 1
    assert all(o.duplicates for o in outcomes if not o.enrolled)
    assert len(store) == 1


def test_locked_database_is_503_busy_and_nothing_changes(db):
    store = open_store(db, busy_timeout_ms=50)
    store.enrol(T, "alice", probe(vector(1)), THRESHOLD, LIMIT)
    other = sqlite3.connect(db, isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")
    try:
        for action in (lambda: store.enrol(T, "bob", probe(vector(2)), THRESHOLD, LIMIT),
                       lambda: store.erase(T, "alice")):
            with pytest.raises(ApiError) as caught:
                action()
            assert (caught.value.status, caught.value.code) == (503, "STORE_BUSY")
            assert caught.value.headers == {"Retry-After": "1"}
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert store.subject(T, "bob") is None and store.subject(T, "alice") is not None
    assert store.integrity_problems() == []
    assert store.enrol(T, "bob", probe(vector(2)), THRESHOLD, LIMIT).enrolled   # recovers


def test_read_only_database_is_503_and_nothing_changes(db):
    store = open_store(db)
    store.enrol(T, "alice", probe(vector(1)), THRESHOLD, LIMIT)
    # query_only: SQLite refuses every write with SQLITE_READONLY, as for a
    # read-only file or mount (which chmod cannot produce when tests run as root).
    store._connection().execute("PRAGMA query_only = ON")
    for action in (lambda: store.enrol(T, "bob", probe(vector(2)), THRESHOLD, LIMIT),
                   lambda: store.enrol(T, "alice", probe(vector(3)), THRESHOLD, LIMIT),
                   lambda: store.erase(T, "alice")):
        with pytest.raises(ApiError) as caught:
            action()
        assert (caught.value.status, caught.value.code) == (503, "STORE_UNAVAILABLE")
    assert [m.subject_id for m in store.search(T, probe(vector(1)), THRESHOLD, LIMIT)] == ["alice"]
    assert store.search(T, probe(vector(2)), THRESHOLD, LIMIT) == []
    store._connection().execute("PRAGMA query_only = OFF")
    assert store.integrity_problems() == []
    assert len(open_store(db)) == 1


def test_full_disk_is_503_and_every_acknowledged_enrolment_stays(db):
    store = open_store(db)
    conn = store._connection()
    pages = conn.execute("PRAGMA page_count").fetchone()[0]
    conn.execute(f"PRAGMA max_page_count = {pages + 3}")   # the disk fills after a few pages
    acknowledged = []
    with pytest.raises(ApiError) as caught:
        for i in range(200):
            store.enrol(T, f"s{i}", probe(vector(i)), THRESHOLD, LIMIT)
            acknowledged.append(i)
    assert (caught.value.status, caught.value.code) == (503, "STORE_UNAVAILABLE")
    assert 0 < len(acknowledged) < 200
    assert store.integrity_problems() == []
    reopened = open_store(db)
    assert len(reopened) == len(acknowledged) and reopened.integrity_problems() == []
    for i in acknowledged:
        assert [m.subject_id for m in reopened.search(T, probe(vector(i)), 99.0, 1)] == [f"s{i}"]


CHILD = """
import sys
import numpy as np
from chalicelib.core.crypto import Sealer, StaticKeys
from chalicelib.faces.local import engine as local_engine
from chalicelib.enrolment.base import Probe
from chalicelib.core.crypto import Sealer, StaticKeys
from chalicelib.enrolment.sqlite import SqliteStore
store = SqliteStore(sys.argv[1], local_engine.MODEL_VERSION, local_engine.similarity_from_distance,
                    local_engine.distance_from_similarity, sealer=Sealer(StaticKeys(bytes(range(32)))))
for i in range(100_000):
    v = np.random.default_rng(i).standard_normal(128)
    v /= np.linalg.norm(v)
    subject = f"s{i}"
    store.enrol("acme", subject, Probe(None, tuple(float(x) for x in v)), 60.0, 5)
    if i % 3 == 0:     # some subjects get a second face in their own transaction
        store.enrol("acme", subject, Probe(None, tuple(float(x) for x in v[::-1])), 60.0, 5)
    print(i, flush=True)          # acknowledged
"""


def test_sigkill_in_a_burst_of_enrolments_leaves_a_consistent_store(db):
    db.parent.mkdir()
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(db)], cwd=ROOT,
                             env={**os.environ, "PYTHONPATH": str(ROOT)},
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    acknowledged = []
    assert child.stdout is not None
    for line in child.stdout:
        acknowledged.append(int(line))
        if len(acknowledged) == 150:
            child.kill()      # SIGKILL, while the child keeps enrolling
            break
    child.wait()
    assert child.returncode == -9, child.stderr.read() if child.stderr else ""
    # Acknowledgements the child wrote before the signal landed, still in the pipe.
    acknowledged += [int(line) for line in child.stdout.read().split()]
    store = open_store(db)
    assert store.integrity_problems() == []
    with sqlite3.connect(db) as conn:
        stored = dict(conn.execute("SELECT s.subject_id, count(f.id) FROM subjects s "
                                   "JOIN faces f ON f.subject = s.id GROUP BY s.id"))
    for i in acknowledged:
        assert stored.get(f"s{i}") == (2 if i % 3 == 0 else 1), i
    # at most the enrolment in flight was committed without being acknowledged
    assert acknowledged == list(range(len(acknowledged)))
    assert set(stored) - {f"s{i}" for i in acknowledged} <= {f"s{len(acknowledged)}"}
    for name in stored:   # nothing half-written: each face is its subject's own
        v = np.random.default_rng(int(name[1:])).standard_normal(128)
        match = store.search(T, probe(v / np.linalg.norm(v)), 99.0, 1)
        assert [m.subject_id for m in match] == [name]
