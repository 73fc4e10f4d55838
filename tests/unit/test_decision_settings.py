import pytest

from chalicelib.config.settings import load_settings
from chalicelib.decision.policy import face_outcome


@pytest.mark.parametrize("similarity, threshold, floor, expected", [
    (80.0, 80.0, None, "match"),
    (79.99, 80.0, None, "no_match"),
    (99.0, 80.0, 60.0, "match"),
    (70.0, 80.0, 60.0, "review"),
    (60.0, 80.0, 60.0, "review"),
    (59.9, 80.0, 60.0, "no_match"),
    (0.0, 0.0, None, "match"),
])
def test_decide(similarity, threshold, floor, expected):
    assert face_outcome(similarity, threshold, floor) == expected


def test_defaults():
    s = load_settings({})
    assert (s.engine, s.decision.threshold, s.decision.review_floor) == ("rekognition", 80.0, None)
    assert s.faces.quality_filter == "AUTO"
    assert s.faces.allow_multiple_faces is False


def test_values_from_environment():
    s = load_settings({"IPS_ENGINE": "local", "IPS_THRESHOLD": "90", "IPS_REVIEW_FLOOR": "70",
                       "IPS_QUALITY_FILTER": "HIGH", "IPS_MULTI_FACE": "best_match",
                       "IPS_STAGE": "prod", "IPS_MIN_FACE_PX": "60",
                       "IPS_MIN_SHARPNESS": "0.08"})
    assert (s.engine, s.decision.threshold, s.decision.review_floor, s.stage) == ("local", 90.0, 70.0, "prod")
    assert s.faces.quality_filter == "HIGH"
    assert s.faces.allow_multiple_faces is True
    assert (s.faces.min_face_px, s.faces.min_sharpness) == (60, 0.08)


@pytest.mark.parametrize("env", [
    {"IPS_THRESHOLD": "abc"},
    {"IPS_THRESHOLD": "101"},
    {"IPS_REVIEW_FLOOR": "90"},          # above the default threshold 80
    {"IPS_QUALITY_FILTER": "low"},
    {"IPS_MULTI_FACE": "maybe"},
    {"IPS_ENGINE": "opencv"},
    {"IPS_MIN_FACE_PX": "-1"},
    {"IPS_MIN_SHARPNESS": "many"},
    {"IPS_MIN_FACE_PX": "1.5"},          # refused, not truncated to 1
    {"IPS_MIN_FACE_PX": "nan"},
    {"IPS_THRESHOLD": "nan"},
])
def test_malformed_settings_fail_loudly(env):
    (name,) = env
    with pytest.raises(ValueError, match=name):   # the error names its variable
        load_settings(env)


def test_cloud_stage_without_a_stage_name_never_logs_local():
    assert load_settings({"IPS_ENGINE": "rekognition"}).stage == "unnamed"
    lambda_env = {"IPS_ENGINE": "rekognition", "AWS_LAMBDA_FUNCTION_NAME": "ips-prod"}
    assert load_settings(lambda_env).stage == "ips-prod"
    assert load_settings({"IPS_ENGINE": "local"}).stage == "local"
    assert load_settings({"IPS_ENGINE": "rekognition", "IPS_STAGE": "dev"}).stage == "dev"


def test_local_engine_missing_is_a_clear_503(monkeypatch):
    import sys

    from chalicelib import backends
    from chalicelib.config.settings import EngineOptions
    from chalicelib.core.errors import ApiError
    monkeypatch.setitem(sys.modules, "chalicelib.faces.local.engine", None)  # import fails
    # options no other test builds an engine with, so none is cached for them
    with pytest.raises(ApiError) as caught:
        backends.face_engine("local", EngineOptions(min_face_px=1, min_sharpness=9.25))
    assert (caught.value.status, caught.value.code) == (503, "ENGINE_UNAVAILABLE")
