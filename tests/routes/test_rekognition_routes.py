"""POST /ips on the dev stage, with CompareFaces answered by botocore's Stubber."""
import json

import pytest

from tests.support.calls import post
from tests.support.images import b64, image_bytes
from tests.support.rekognition_stub import (
    BODY,
    DL,
    DOCUMENT_PROBE,
    SAME_ORDER,
    SELFIE,
    answer,
)


@pytest.mark.parametrize("similarity, decision, verified", [
    (99.2, "match", True),
    (80.0, "match", True),
    (79.9, "no_match", False),
    (3.5, "no_match", False),       # a poor match still comes back with its score
])
def test_decisions(dev_client, rekognition, similarity, decision, verified):
    rekognition.add_response("compare_faces", answer(similarity), SAME_ORDER)
    response = post(dev_client, BODY)
    assert response.status_code == 200
    result = json.loads(response.body)
    assert result["verified"] is verified
    assert result["decision"] == decision
    assert result["similarity"] == similarity
    assert result["threshold"] == 80.0
    assert result["engine"] == "rekognition"
    assert result["faces_in_selfie"] == 1
    assert result["document_face"] == {
        "bounding_box": {"left": 0.1, "top": 0.3, "width": 0.2, "height": 0.3},
        "confidence": 99.5}
    assert result["selfie_face"]["bounding_box"]["left"] == 0.1
    assert result["request_id"] == response.headers["X-Request-Id"]


def test_review_band_from_stage_settings(dev_client, rekognition, stage_env):
    stage_env(IPS_REVIEW_FLOOR="60")
    rekognition.add_response("compare_faces", answer(70.0), SAME_ORDER)
    result = json.loads(post(dev_client, BODY).body)
    assert (result["decision"], result["verified"], result["review_floor"]) == (
        "review", False, 60.0)


def test_double_encoded_body_from_original_sample_client(dev_client, rekognition):
    rekognition.add_response("compare_faces", answer(95.0), SAME_ORDER)
    response = post(dev_client, json.dumps(BODY))
    assert response.status_code == 200
    assert json.loads(response.body)["verified"] is True


def test_no_face_in_document(dev_client, rekognition):
    # The first call fails without saying which image; the document compared
    # with itself fails too, so the document is the one without a face. This
    # is also the answer when neither image has a face: the document's problem
    # comes first, as on the offline engine (tests/engine/test_local_engine.py).
    rekognition.add_client_error("compare_faces", "InvalidParameterException",
                                 "Request has invalid parameters", 400, expected_params=SAME_ORDER)
    rekognition.add_client_error("compare_faces", "InvalidParameterException",
                                 "Request has invalid parameters", 400,
                                 expected_params=DOCUMENT_PROBE)
    response = post(dev_client, BODY)
    assert response.status_code == 422
    assert json.loads(response.body)["code"] == "NO_FACE"
    assert json.loads(response.body)["field"] == "dl"


def test_no_face_in_selfie_reported_as_invalid_parameter(dev_client, rekognition):
    # The document compared with itself works: the selfie is the faceless one.
    rekognition.add_client_error("compare_faces", "InvalidParameterException",
                                 "Request has invalid parameters", 400, expected_params=SAME_ORDER)
    rekognition.add_response("compare_faces", answer(100.0), DOCUMENT_PROBE)
    error = json.loads(post(dev_client, BODY).body)
    assert (error["code"], error["field"]) == ("NO_FACE", "selfie")


def test_no_face_in_selfie_reported_as_empty_answer(dev_client, rekognition):
    rekognition.add_response("compare_faces", answer(), SAME_ORDER)
    response = post(dev_client, BODY)
    assert response.status_code == 422
    assert json.loads(response.body)["field"] == "selfie"


def test_two_faces_in_selfie_rejected(dev_client, rekognition):
    rekognition.add_response("compare_faces", answer(99.0, unmatched=1), SAME_ORDER)
    response = post(dev_client, BODY)
    assert response.status_code == 422
    error = json.loads(response.body)
    assert (error["code"], error["field"]) == ("MULTIPLE_FACES", "selfie")
    assert "2 faces" in error["message"]


def test_two_faces_best_match_when_allowed(dev_client, rekognition, stage_env):
    stage_env(IPS_MULTI_FACE="best_match")
    rekognition.add_response("compare_faces", answer(12.0, 97.0), SAME_ORDER)
    result = json.loads(post(dev_client, BODY).body)
    assert (result["similarity"], result["faces_in_selfie"]) == (97.0, 2)
    assert result["selfie_face"]["bounding_box"]["left"] == 0.4


def test_quality_filter_from_settings(dev_client, rekognition, stage_env):
    stage_env(IPS_QUALITY_FILTER="HIGH")
    rekognition.add_response("compare_faces", answer(90.0),
                             {**SAME_ORDER, "QualityFilter": "HIGH"})
    assert post(dev_client, BODY).status_code == 200


@pytest.mark.parametrize("aws_code, status, code", [
    ("ThrottlingException", 503, "ENGINE_BUSY"),
    ("ProvisionedThroughputExceededException", 503, "ENGINE_BUSY"),
    ("InternalServerError", 502, "ENGINE_ERROR"),
    ("AccessDeniedException", 502, "ENGINE_ERROR"),
    ("ImageTooLargeException", 413, "IMAGE_TOO_LARGE"),
    ("InvalidImageFormatException", 400, "INVALID_IMAGE"),
])
def test_rekognition_failures(dev_client, rekognition, aws_code, status, code):
    rekognition.add_client_error("compare_faces", aws_code, "SECRET AWS TEXT arn:aws:iam::1",
                                 500 if status == 502 else 400, expected_params=SAME_ORDER)
    response = post(dev_client, BODY)
    assert response.status_code == status
    error = json.loads(response.body)
    assert error["code"] == code
    assert "AWS" not in error["message"] and "arn:" not in response.body.decode()
    if status == 503:
        assert int(response.headers["Retry-After"]) > 0


def test_our_bug_is_an_opaque_500(dev_client, fake_services):
    class Broken:
        name = "broken"

        def compare(self, document, selfie):
            raise KeyError("dl=/9j/4AAQ secret")
    fake_services(faces=Broken())
    response = post(dev_client, BODY)
    assert response.status_code == 500
    error = json.loads(response.body)
    assert error["code"] == "INTERNAL_ERROR"
    assert "secret" not in response.body.decode() and "Traceback" not in response.body.decode()


@pytest.mark.parametrize("body, status, code, field", [
    ("", 400, "EMPTY_BODY", None),
    ('{"dl": "x"', 400, "INVALID_JSON", None),
    (json.dumps({"dl": b64(DL)}), 400, "MISSING_FIELD", "selfie"),
    (json.dumps({"dl": b64(b"%PDF-1.4\n" + DL), "selfie": b64(SELFIE)}), 415,
     "UNSUPPORTED_IMAGE_FORMAT", "dl"),
    (json.dumps({"dl": b64(b"GIF89a" + DL), "selfie": b64(SELFIE)}), 415,   # GIF: not accepted
     "UNSUPPORTED_IMAGE_FORMAT", "dl"),
    (json.dumps({"dl": "/etc/passwd", "selfie": b64(SELFIE)}), 415,
     "UNSUPPORTED_IMAGE_FORMAT", "dl"),
    (json.dumps({"dl": b64(DL), "selfie": b64(image_bytes(60, 60))}), 422,
     "IMAGE_TOO_SMALL", "selfie"),
])
def test_bad_input_never_reaches_rekognition(dev_client, rekognition, body, status, code, field):
    response = post(dev_client, body)
    assert response.status_code == status
    error = json.loads(response.body)
    assert (error["code"], error.get("field")) == (code, field)
    assert error["request_id"]


def test_wrong_content_type(dev_client, rekognition):
    response = post(dev_client, BODY, content_type="text/plain")
    assert response.status_code == 415
    assert json.loads(response.body)["code"] == "UNSUPPORTED_MEDIA_TYPE"
