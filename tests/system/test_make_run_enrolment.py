"""Enrolment through `make run`, as a user meets it: the real `chalice local`
server (waitress, a thread per request) on a SQLite file in a temporary directory;
enrol, concurrent enrolments, a duplicate, search, restart, erasure, restart."""
import json
import os
import stat
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.support.face_images import astronaut, astronaut_card, fs
from tests.support.images import b64
from tests.support.local_server import running_server

pytest.importorskip("dlib", reason="the offline engine (requirements-local.txt) is not installed")


def call(base, method, path, payload=None):
    data = json.dumps(payload).encode() if payload is not None else None
    request = urllib.request.Request(base + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            body = response.read()
            return response.status, json.loads(body) if body else None
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


def test_enrolment_survives_restarts_and_erasure_is_final(tmp_path):
    db = tmp_path / "data" / "enrolments.sqlite3"
    # A turn may take long on a loaded machine: never shed (503) in this test.
    env = {**os.environ, "IPS_DB_PATH": str(db), "IPS_MAX_WAIT_S": "600"}

    def command(port):
        return ["make", "-s", "run", f"PORT={port}"]

    body = {"dl": b64(astronaut_card()), "selfie": b64(fs.jpeg_bytes(astronaut()))}

    with running_server(tmp_path / "first.log", command, env=env) as base:
        assert call(base, "POST", "/enrolments", {**body, "subject_id": "alice"})[0] == 201
        with ThreadPoolExecutor(3) as pool:      # three requests on three server threads
            statuses = list(pool.map(
                lambda _: call(base, "POST", "/enrolments", {**body, "subject_id": "alice"})[0],
                range(3)))
        assert statuses == [201, 201, 201]
        status, result = call(base, "POST", "/enrolments", {**body, "subject_id": "mallory"})
        assert (status, result["decision"], result["duplicates"][0]["subject_id"]) == (
            200, "review", "alice")
        status, found = call(base, "POST", "/search", {"selfie": body["selfie"]})
        assert status == 200 and [m["subject_id"] for m in found["matches"]] == ["alice"]
    assert stat.S_IMODE(db.stat().st_mode) == 0o600

    with running_server(tmp_path / "second.log", command, env=env) as base:
        status, info = call(base, "GET", "/enrolments/alice")
        assert (status, info["faces"]) == (200, 4)
        assert call(base, "DELETE", "/enrolments/alice")[0] == 204

    with running_server(tmp_path / "third.log", command, env=env) as base:
        assert call(base, "GET", "/enrolments/alice")[0] == 404
        assert call(base, "POST", "/search", {"selfie": body["selfie"]})[1]["matches"] == []
