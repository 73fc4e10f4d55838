"""Idempotency keys (chalicelib/idempotency/): run_once over the SQLite store
(real files) and the DynamoDB store (moto), with an injected clock."""
import os
import sqlite3
import threading

import boto3
import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from moto import mock_aws

from chalicelib.core.errors import ApiError
from chalicelib.idempotency import run_once
from chalicelib.idempotency.base import LEASE_S, TTL_S
from chalicelib.idempotency.dynamodb import DynamoIdempotencyStore
from chalicelib.idempotency.sqlite import SqliteIdempotencyStore

ROUTE = "POST /enrolments"
BODY = b'{"subject_id": "cust-1", "dl": "...", "selfie": "..."}'


class Sealer:
    """AES-GCM, as chalicelib/core/crypto.py seals stored data."""

    def __init__(self):
        self.aead = AESGCM(AESGCM.generate_key(bit_length=256))

    def seal(self, plaintext, aad):
        nonce = os.urandom(12)
        return nonce + self.aead.encrypt(nonce, plaintext, aad)

    def unseal(self, blob, aad):
        return self.aead.decrypt(blob[:12], blob[12:], aad)


class Clock:
    def __init__(self):
        self.now = 1_700_000_000.0

    def __call__(self):
        return self.now


class Work:
    """The route's work, counting how often it really ran."""

    def __init__(self, status=201, fail=None):
        self.runs = 0
        self.status = status
        self.fail = fail

    def __call__(self):
        self.runs += 1
        if self.fail is not None:
            raise self.fail
        return self.status, {"enrolled": True, "run": self.runs, "name": "ERIKSSON"}


@pytest.fixture(params=["sqlite", "dynamodb"])
def store_and_clock(request, tmp_path):
    clock = Clock()
    if request.param == "sqlite":
        yield SqliteIdempotencyStore(str(tmp_path / "data" / "idempotency.sqlite3"), Sealer(),
                                     clock), clock
        return
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        client.create_table(TableName="ips-idem", BillingMode="PAY_PER_REQUEST",
                            AttributeDefinitions=[{"AttributeName": "key_hash",
                                                   "AttributeType": "S"}],
                            KeySchema=[{"AttributeName": "key_hash", "KeyType": "HASH"}])
        yield DynamoIdempotencyStore(client, "ips-idem", Sealer(), clock), clock


def test_a_retry_gets_the_first_answer_and_the_work_runs_once(store_and_clock):
    store, _ = store_and_clock
    work = Work()
    first = run_once(store, "acme", "k-1", ROUTE, BODY, work)
    again = run_once(store, "acme", "k-1", ROUTE, BODY, work)
    assert first == (201, {"enrolled": True, "run": 1, "name": "ERIKSSON"}, False)
    assert again == (201, {"enrolled": True, "run": 1, "name": "ERIKSSON"}, True)
    assert work.runs == 1


def test_keys_are_per_tenant_and_absent_keys_change_nothing(store_and_clock):
    store, _ = store_and_clock
    work = Work()
    run_once(store, "acme", "k-1", ROUTE, BODY, work)
    assert run_once(store, "globex", "k-1", ROUTE, BODY, work)[2] is False  # its own key
    run_once(store, "acme", None, ROUTE, BODY, work)
    run_once(store, "acme", None, ROUTE, BODY, work)
    assert work.runs == 4


def test_the_same_key_with_another_body_or_route_is_refused(store_and_clock):
    store, _ = store_and_clock
    run_once(store, "acme", "k-1", ROUTE, BODY, Work())
    for route, body in ((ROUTE, BODY + b" "), ("POST /verifications", BODY)):
        with pytest.raises(ApiError) as raised:
            run_once(store, "acme", "k-1", route, body, Work())
        assert (raised.value.status, raised.value.code) == (422, "IDEMPOTENCY_KEY_REUSED")


def test_a_retry_while_the_first_runs_is_409(store_and_clock):
    store, _ = store_and_clock
    seen = {}

    def first():
        with pytest.raises(ApiError) as raised:
            run_once(store, "acme", "k-1", ROUTE, BODY, Work())
        seen["error"] = raised.value
        return 201, {"ok": True}

    run_once(store, "acme", "k-1", ROUTE, BODY, first)
    assert (seen["error"].status, seen["error"].code) == (409, "IDEMPOTENCY_IN_PROGRESS")
    assert seen["error"].headers["Retry-After"] == "1"


@pytest.mark.parametrize("failure", ["exception", "5xx"])
def test_after_a_failure_the_key_is_free_again(store_and_clock, failure):
    store, _ = store_and_clock
    if failure == "exception":
        with pytest.raises(ApiError):
            run_once(store, "acme", "k-1", ROUTE, BODY,
                     Work(fail=ApiError(503, "ENGINE_BUSY", "busy")))
    else:
        assert run_once(store, "acme", "k-1", ROUTE, BODY, Work(status=503))[0] == 503
    work = Work()
    assert run_once(store, "acme", "k-1", ROUTE, BODY, work)[2] is False
    assert work.runs == 1


def test_expiry_after_24_hours_and_a_dead_claim_after_its_lease(store_and_clock):
    store, clock = store_and_clock
    work = Work()
    run_once(store, "acme", "k-1", ROUTE, BODY, work)
    clock.now += TTL_S - 1
    assert run_once(store, "acme", "k-1", ROUTE, BODY, work)[2] is True
    clock.now += 1
    assert run_once(store, "acme", "k-1", ROUTE, BODY, work)[2] is False   # a new request
    assert work.runs == 2
    # a claim whose process died (never completed, never released)
    assert store.claim("acme", "k-2", "f").outcome.value == "started"
    clock.now += LEASE_S - 1
    assert store.claim("acme", "k-2", "f").outcome.value == "in_progress"
    clock.now += 1
    assert store.claim("acme", "k-2", "f").outcome.value == "started"


@pytest.mark.parametrize("key", ["", "a b", "x" * 256, "line\nbreak", "é"])
def test_a_malformed_key_is_400(store_and_clock, key):
    store, _ = store_and_clock
    with pytest.raises(ApiError) as raised:
        run_once(store, "acme", key, ROUTE, BODY, Work())
    assert (raised.value.status, raised.value.code) == (400, "INVALID_IDEMPOTENCY_KEY")


def test_sqlite_file_holds_neither_key_nor_answer_in_clear(tmp_path):
    path = tmp_path / "data" / "idempotency.sqlite3"
    store = SqliteIdempotencyStore(str(path), Sealer(), Clock())
    run_once(store, "acme", "client-key-cust-42", ROUTE, BODY, Work())
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    assert oct(path.parent.stat().st_mode & 0o777) == "0o700"
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    raw = b"".join(p.read_bytes() for p in path.parent.iterdir())
    assert b"cust-42" not in raw and b"ERIKSSON" not in raw and b"acme" not in raw


def test_sqlite_claims_race_one_winner(tmp_path):
    path = str(tmp_path / "idem.sqlite3")
    sealer, clock = Sealer(), Clock()
    stores = [SqliteIdempotencyStore(path, sealer, clock) for _ in range(4)]
    barrier = threading.Barrier(len(stores))
    outcomes = []

    def claim(store):
        barrier.wait()
        outcomes.append(store.claim("acme", "k", "f").outcome.value)

    threads = [threading.Thread(target=claim, args=(s,)) for s in stores]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["in_progress"] * 3 + ["started"]
