"""`make run` as a user meets it: start the real process, POST a real pair
with the client script, stop it. Both `make run` and `chalice local` (make
dev) take a setting from the environment over .chalice/config.json's."""
import json
import os
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from tests.support.face_images import (
    SHARED_FACES,
    astronaut,
    astronaut_card,
    fs,
    needs_shared_faces,
)
from tests.support.images import b64
from tests.support.local_server import chalice_local, running_server

ROOT = Path(__file__).resolve().parents[2]
CLIENT = [sys.executable, str(ROOT / "scripts" / "ops" / "ips_client.py")]
# Not the stage's 80 (config.json): the environment wins.
THRESHOLD = "79.5"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    log = tmp_path_factory.mktemp("make-run") / "server.log"
    def command(port):
        return ["make", "-s", "run", f"PORT={port}"]
    with running_server(log, command, env={**os.environ, "IPS_THRESHOLD": THRESHOLD}) as base:
        yield base + "/ips"


def post(url: str, body: dict) -> dict:
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=300) as response:
        return json.loads(response.read())


def test_make_run_takes_the_environment_over_the_stage_file(server):
    body = post(server, {"dl": b64(astronaut_card()), "selfie": b64(fs.jpeg_bytes(astronaut()))})
    assert body["threshold"] == float(THRESHOLD)
    assert body["review_floor"] == 63.5          # not set: the stage file's default


def test_chalice_local_takes_the_environment_over_the_stage_file(tmp_path):
    env = {**os.environ, "IPS_DOCUMENT": "off"}   # the local stage's file says "read"
    with running_server(tmp_path / "chalice-local.log", chalice_local, env=env) as base:
        body = post(base + "/documents", {"dl": b64(astronaut_card())})
    assert body["document"]["reason"] == "disabled"


def run_client(url, dl, selfie):
    return subprocess.run([*CLIENT, "--dl", str(dl), "--selfie", str(selfie), "--url", url],
                          capture_output=True, text=True, timeout=120)


def test_make_run_verifies_a_real_pair(server, tmp_path):
    card, selfie = tmp_path / "card.jpg", tmp_path / "selfie.jpg"
    card.write_bytes(astronaut_card())
    selfie.write_bytes(fs.jpeg_bytes(astronaut()))
    result = run_client(server, card, selfie)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "VERIFIED" in result.stdout and "engine local" in result.stdout


@needs_shared_faces
def test_make_run_rejects_a_different_person(server):
    result = run_client(server, SHARED_FACES / "face_recognition" / "obama.jpg",
                        SHARED_FACES / "face_recognition" / "biden.jpg")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "NOT VERIFIED" in result.stdout


def test_make_run_reports_no_face(server, tmp_path):
    from tests.support.face_images import no_face_photo
    card, selfie = tmp_path / "card.jpg", tmp_path / "coffee.jpg"
    card.write_bytes(astronaut_card())
    selfie.write_bytes(fs.jpeg_bytes(no_face_photo()))
    result = run_client(server, card, selfie)
    assert result.returncode == 2
    assert "NO_FACE (selfie)" in result.stderr
