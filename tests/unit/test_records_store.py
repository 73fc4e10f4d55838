"""Records, sessions and the audit trail on real SQLite files (issue 18)."""

from __future__ import annotations

import json
import sqlite3
import stat
import threading
from datetime import UTC, datetime, timedelta

import pytest

from chalicelib.records.audit import check_anchor, check_file
from chalicelib.records.base import Position
from chalicelib.records.chain import GENESIS, event_hash
from chalicelib.records.dynamodb import DynamoRecordStore
from chalicelib.records.model import EventType, Kind, Status
from chalicelib.records.service import Records, SessionError
from chalicelib.records.sqlite import SqliteRecordStore
from scripts.ops.verify_audit import main as verify_audit

OUTCOME = {"decision": "match", "similarity": 97.31, "threshold": 80.0, "review_floor": 63.5,
           "engine": "local", "reasons": [], "faces_in_selfie": 1,
           "model_versions": {"faces": "test-1"}}


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def sqlite_records(tmp_path, clock) -> Records:
    return Records(SqliteRecordStore.in_dir(tmp_path / "data"), clock, ttl_s=600,
                   max_failed_captures=3)


@pytest.fixture(params=["sqlite", "dynamodb"])
def records(request, tmp_path, clock, monkeypatch) -> Records:
    """The same behaviour from both stores: SQLite on a real file, DynamoDB
    in moto, with the table made by the provisioning script."""
    if request.param == "sqlite":
        yield request.getfixturevalue("sqlite_records")
        return
    import boto3
    from moto import mock_aws

    from scripts.ops.provision_records import provision

    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(name, "testing")
    with mock_aws():
        client = boto3.client("dynamodb", region_name="eu-west-1")
        provision(client, "ips-records-test")
        yield Records(DynamoRecordStore(client, "ips-records-test"), clock, ttl_s=600,
                      max_failed_captures=3)


def test_files_are_private(sqlite_records, tmp_path):
    sqlite_records.record_decision("t1", Kind.VERIFICATION, "req-1", OUTCOME)
    data = tmp_path / "data"
    assert stat.S_IMODE(data.stat().st_mode) == 0o700
    for path in data.iterdir():  # the database and its -wal, -shm
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path


def test_a_decision_reads_back_with_its_chain(records):
    made = records.record_decision("t1", Kind.VERIFICATION, "req-1", OUTCOME, reference="cust-7")
    got = records.get("t1", made.id)
    assert got == made
    assert got.status is Status.VERIFIED and got.reference == "cust-7"
    assert got.outcome["similarity"] == 97.31 and got.decided_at == got.created_at
    assert made.id.startswith("vrf_") and len(made.id) >= 4 + 22  # 128 bits in base64url
    events = records.events("t1", made.id)
    assert [e.type for e in events] == [EventType.CREATED, EventType.CAPTURED, EventType.DECIDED]
    prev = GENESIS
    for e in events:  # the documented formula, recomputed here
        assert e.prev_hash == prev and e.hash == event_hash(prev, e.payload())
        prev = e.hash
    assert got.head_hash == prev


def test_another_tenant_sees_nothing(records):
    made = records.record_decision("t1", Kind.VERIFICATION, "req-1", OUTCOME)
    assert records.get("t2", made.id) is None
    assert records.events("t2", made.id) == []
    assert records.page("t2", None, 10, None).items == []


def test_listing_newest_first_by_status_with_cursor(records, clock):
    ids = []
    for i in range(5):
        outcome = {**OUTCOME, "decision": "match" if i % 2 == 0 else "no_match"}
        ids.append(records.record_decision("t1", Kind.VERIFICATION, f"r{i}", outcome).id)
        clock.advance(1)
    records.record_decision("t2", Kind.VERIFICATION, "other", OUTCOME)
    first = records.page("t1", None, 2, None)
    assert [r.id for r in first.items] == [ids[4], ids[3]]
    second = records.page("t1", None, 2, Position.decode(first.next_cursor))
    third = records.page("t1", None, 2, Position.decode(second.next_cursor))
    assert [r.id for r in second.items + third.items] == [ids[2], ids[1], ids[0]]
    assert third.next_cursor is None
    verified = records.page("t1", Status.VERIFIED, 10, None)
    assert [r.id for r in verified.items] == [ids[4], ids[2], ids[0]]


def test_cursor_rejects_garbage():
    for bad in ("", "%%%", "bm90IGpzb24", "WzFd"):
        with pytest.raises(ValueError):
            Position.decode(bad)


def test_session_retry_then_decision_then_409(records):
    record, token = records.open_session("t1", "req-0", reference="ref-9")
    assert record.status is Status.AWAITING_CAPTURE and len(token) >= 43
    session = records.open_for_capture(record.id, token)
    after_fail = records.capture_failed(session, "req-1", "NO_FACE", "selfie")
    assert after_fail.status is Status.AWAITING_CAPTURE and records.attempts_left(after_fail) == 2
    session = records.open_for_capture(record.id, token)
    decided = records.decide(session, "req-2", {**OUTCOME, "decision": "review"})
    assert decided.status is Status.REVIEW and decided.reference == "ref-9"
    with pytest.raises(SessionError) as second:
        records.open_for_capture(record.id, token)
    assert second.value.reason == "closed"
    assert len(records.events("t1", record.id)) == 4


def test_two_captures_cannot_both_win(records):
    record, token = records.open_session("t1", "req-0")
    first = records.open_for_capture(record.id, token)
    second = records.open_for_capture(record.id, token)  # both read the open session
    records.decide(first, "req-1", OUTCOME)
    with pytest.raises(SessionError) as lost:
        records.decide(second, "req-2", {**OUTCOME, "decision": "no_match"})
    assert lost.value.reason == "closed"
    assert records.get("t1", record.id).status is Status.VERIFIED


def test_concurrent_captures_on_threads(records, request):
    # moto's in-process DynamoDB does not serialise concurrent transactions
    # (two conditional writes can both pass there, never on DynamoDB), so on
    # that store the four stale sessions capture one after another: the
    # condition on the record's version must still let only the first win.
    threaded = request.node.callspec.params["records"] == "sqlite"
    record, token = records.open_session("t1", "req-0")
    sessions = [records.open_for_capture(record.id, token) for _ in range(4)]
    outcomes: list[str] = []
    lock = threading.Lock()

    def capture(s):
        try:
            records.decide(s, "r", OUTCOME)
            result = "won"
        except SessionError as exc:
            result = exc.reason
        with lock:
            outcomes.append(result)

    if threaded:
        threads = [threading.Thread(target=capture, args=(s,)) for s in sessions]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    else:
        for s in sessions:
            capture(s)
    assert sorted(outcomes) == ["closed", "closed", "closed", "won"]
    assert len(records.events("t1", record.id)) == 3


def test_wrong_token_unknown_id_and_retry_limit(records):
    record, token = records.open_session("t1", "req-0")
    with pytest.raises(SessionError) as wrong:
        records.open_for_capture(record.id, token[:-1] + ("A" if token[-1] != "A" else "B"))
    assert wrong.value.reason == "bad_token"
    with pytest.raises(SessionError) as missing:
        records.open_for_capture("vrf_nothing", token)
    assert missing.value.reason == "not_found"
    for i in range(3):
        rec = records.capture_failed(records.open_for_capture(record.id, token), f"r{i}", "NO_FACE", "dl")
    assert rec.status is Status.REJECTED and records.attempts_left(rec) == 0
    with pytest.raises(SessionError) as closed:
        records.open_for_capture(record.id, token)
    assert closed.value.reason == "closed"


def test_the_token_is_stored_hashed_only(sqlite_records, tmp_path):
    records = sqlite_records
    record, token = records.open_session("t1", "req-0", sealed_expected=b"sealed-bytes")
    raw = (tmp_path / "data" / "records.sqlite3").read_bytes()
    wal = (tmp_path / "data" / "records.sqlite3-wal").read_bytes()
    assert token.encode() not in raw + wal
    records.decide(records.open_for_capture(record.id, token), "r", OUTCOME)
    conn = sqlite3.connect(tmp_path / "data" / "records.sqlite3")
    assert conn.execute("SELECT sealed_expected FROM records").fetchone()[0] is None


def test_expiry(records, clock):
    record, token = records.open_session("t1", "req-0")
    clock.advance(599)
    assert records.get("t1", record.id).status is Status.AWAITING_CAPTURE
    clock.advance(1)
    with pytest.raises(SessionError) as gone:
        records.open_for_capture(record.id, token)
    assert gone.value.reason == "expired"
    assert records.get("t1", record.id).status is Status.EXPIRED
    assert [e.type for e in records.events("t1", record.id)] == [EventType.CREATED, EventType.EXPIRED]
    assert records.page("t1", Status.AWAITING_CAPTURE, 10, None).items == []


def test_a_commit_survives_reopening(tmp_path, clock):
    store = SqliteRecordStore.in_dir(tmp_path)
    made = Records(store, clock).record_decision("t1", Kind.ENROLMENT, "r", OUTCOME)
    store.close()
    again = Records(SqliteRecordStore.in_dir(tmp_path), clock)
    assert again.get("t1", made.id) == made


def test_events_are_append_only_through_sqlite(sqlite_records, tmp_path):
    records = sqlite_records
    records.record_decision("t1", Kind.VERIFICATION, "r", OUTCOME)
    conn = sqlite3.connect(tmp_path / "data" / "records.sqlite3")
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        conn.execute("UPDATE events SET at = 'x'")
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        conn.execute("DELETE FROM events")


# --- the audit ---------------------------------------------------------------------


def _tamper(path, *statements):
    conn = sqlite3.connect(path)
    conn.execute("DROP TRIGGER events_no_update")
    conn.execute("DROP TRIGGER events_no_delete")
    for statement in statements:
        conn.execute(statement)
    conn.commit()
    conn.close()


@pytest.fixture
def trail(sqlite_records, tmp_path):
    records = sqlite_records
    a = records.record_decision("t1", Kind.VERIFICATION, "r1", OUTCOME)
    record, token = records.open_session("t2", "r2")
    records.capture_failed(records.open_for_capture(record.id, token), "r3", "NO_FACE", "selfie")
    records.decide(records.open_for_capture(record.id, token), "r4", OUTCOME)
    records.store.close()
    return tmp_path / "data", a.id, record.id


def test_audit_passes_on_an_untouched_trail(trail, capsys):
    data, _, _ = trail
    assert verify_audit(["--data-dir", str(data)]) == 0
    assert "every chain holds (1 store file(s), 2 records, 7 events)" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("statements", "seq", "words"),
    [
        (["UPDATE events SET data = replace(data, '97.31', '99.99') WHERE seq = 2"], 2, "edited"),
        (["UPDATE events SET at = '2030-01-01T00:00:00.000Z' WHERE seq = 0"], 0, "edited"),
        (["DELETE FROM events WHERE seq = 1"], 2, "removed"),
        (["UPDATE events SET seq = 9 WHERE seq = 1", "UPDATE events SET seq = 1 WHERE seq = 2",
          "UPDATE events SET seq = 2 WHERE seq = 9"], 1, "reordered"),
    ],
)
def test_audit_names_the_first_bad_event(trail, capsys, statements, seq, words):
    data, direct, _ = trail
    _tamper(data / "records.sqlite3", *[s + f" AND record_id = '{direct}'" for s in statements])
    assert verify_audit(["--data-dir", str(data)]) == 1
    err = capsys.readouterr().err
    assert f"record {direct}, event seq {seq}" in err and words in err


def test_audit_finds_an_edited_record_row(trail, capsys):
    data, direct, _ = trail
    body = json.loads(sqlite3.connect(data / "records.sqlite3").execute(
        "SELECT body FROM records WHERE id = ?", (direct,)).fetchone()[0])
    body["status"] = "rejected"
    _tamper(data / "records.sqlite3",
            f"UPDATE records SET body = '{json.dumps(body)}' WHERE id = '{direct}'")
    assert verify_audit(["--data-dir", str(data)]) == 1
    assert "the record row differs from its trail (status)" in capsys.readouterr().err


def test_the_anchor_finds_removed_records_and_cut_trails(trail, tmp_path, capsys):
    data, direct, _ = trail
    anchor = tmp_path / "heads.jsonl"
    assert verify_audit(["--data-dir", str(data), "--export-heads", str(anchor)]) == 0
    assert len(anchor.read_text().splitlines()) == 2
    _tamper(data / "records.sqlite3",
            f"DELETE FROM events WHERE record_id = '{direct}'",
            f"DELETE FROM records WHERE id = '{direct}'")
    assert check_file(data / "records.sqlite3")[2] == []  # invisible without the anchor
    assert verify_audit(["--data-dir", str(data), "--anchor", str(anchor)]) == 1
    assert f"record {direct}, event seq 2: an anchored event is missing" in capsys.readouterr().err
    assert check_anchor(iter([])) == []
