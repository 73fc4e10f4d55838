"""Where settings come from (chalicelib/config/environment.py): on the local
stage, the process environment over .chalice/config.json's defaults."""

import json
from pathlib import Path

from chalice.test import Client

from app import app
from chalicelib.config import environment
from chalicelib.config.settings import load_settings
from tests.support.images import b64, image_bytes

ROOT = Path(__file__).resolve().parents[2]
LOCAL = {environment.STAGE_MARKER: "local"}


def test_the_local_stage_file_gives_the_defaults():
    settings = load_settings(LOCAL)
    assert (settings.engine, settings.stage) == ("local", "local")
    assert (settings.decision.threshold, settings.decision.review_floor) == (80.0, 63.5)
    assert (settings.documents.mode, settings.search.threshold) == ("read", 40.0)


def test_the_environment_wins_over_the_file():
    settings = load_settings({**LOCAL, "IPS_THRESHOLD": "70", "IPS_DOCUMENT": "off",
                              "IPS_REVIEW_FLOOR": ""})
    assert (settings.decision.threshold, settings.documents.mode) == (70.0, "off")
    assert settings.decision.review_floor is None      # set, though blank: no band
    assert settings.engine == "local"                   # the rest from the file


def test_without_the_marker_nothing_comes_from_the_file():
    assert load_settings({}).decision.review_floor is None
    assert load_settings({"IPS_ENGINE": "local"}).documents.mode == "read"


def test_the_local_stage_sets_only_the_marker_in_chalice_variables():
    # Anything else there would be laid over the environment by Chalice.
    config = json.loads((ROOT / ".chalice" / "config.json").read_text())
    assert "environment_variables" not in config
    assert config["stages"]["local"]["environment_variables"] == LOCAL
    assert set(environment.stage_defaults("local")) >= {"IPS_ENGINE", "IPS_THRESHOLD"}


def test_a_variable_set_in_a_test_reaches_the_local_stage(monkeypatch):
    monkeypatch.setenv("IPS_DOCUMENT", "off")
    with Client(app, stage_name="local") as client:
        response = client.http.post("/documents", headers={"Content-Type": "application/json"},
                                    body=json.dumps({"dl": b64(image_bytes(400, 300))}))
    assert response.status_code == 200
    assert json.loads(response.body)["document"]["reason"] == "disabled"
