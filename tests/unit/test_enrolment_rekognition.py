"""The cloud enrolment store (chalicelib/enrolment/rekognition.py) against
botocore's Stubber: every parameter of every Rekognition call is checked
(moto implements none of these calls)."""

import pytest
from botocore.stub import Stubber

from chalicelib.config.settings import StoreOptions
from chalicelib.core.errors import ApiError
from chalicelib.enrolment.base import Match, Probe
from chalicelib.enrolment.rekognition import RekognitionStore
from chalicelib.imaging.image import Image
from tests.support.rekognition_stub import fake_client

COLLECTION = "ips-test"
SELFIE = b"\xff\xd8\xff selfie bytes"
NOW = 1_767_225_600          # 2026-01-01T00:00:00Z
PROBE = Probe(Image(SELFIE, "JPEG", 400, 400, "selfie"))


@pytest.fixture
def stub():
    with Stubber(fake_client("rekognition")) as stubber:
        yield stubber
        stubber.assert_no_pending_responses()


@pytest.fixture
def store(stub):
    return RekognitionStore(StoreOptions(collection_id=COLLECTION, quality_filter="HIGH"),
                            client=stub.client, clock=lambda: NOW)


def search_params(threshold=90.0, max_faces=20):
    return {"CollectionId": COLLECTION, "Image": {"Bytes": SELFIE}, "MaxFaces": max_faces,
            "FaceMatchThreshold": threshold, "QualityFilter": "HIGH"}


def face(face_id, subject, stamp=NOW, version="7.0"):
    return {"FaceId": face_id, "ExternalImageId": f"{subject}:{stamp}",
            "IndexFacesModelVersion": version, "UserId": subject,
            "BoundingBox": {"Left": 0.1, "Top": 0.1, "Width": 0.3, "Height": 0.4},
            "Confidence": 99.9, "ImageId": "00000000-0000-0000-0000-000000000000"}


def matches(*found):
    return {"FaceMatches": [{"Similarity": sim, "Face": face(fid, subject)}
                            for fid, subject, sim in found]}


FACE_ID = "11111111-1111-1111-1111-111111111111"
OTHER_ID = "22222222-2222-2222-2222-222222222222"


def expect_index_and_file(stub, subject="alice", user_exists=False):
    stub.add_response("index_faces", {"FaceRecords": [{"Face": face(FACE_ID, subject)}]}, {
        "CollectionId": COLLECTION, "Image": {"Bytes": SELFIE},
        "ExternalImageId": f"{subject}:{NOW}", "MaxFaces": 1, "QualityFilter": "HIGH",
        "DetectionAttributes": []})
    if user_exists:
        stub.add_client_error("create_user", "ConflictException", "exists", 409,
                              expected_params={"CollectionId": COLLECTION, "UserId": subject})
    else:
        stub.add_response("create_user", {}, {"CollectionId": COLLECTION, "UserId": subject})
    stub.add_response("associate_faces", {"AssociatedFaces": [{"FaceId": FACE_ID}],
                                          "UserStatus": "ACTIVE"},
                      {"CollectionId": COLLECTION, "UserId": subject, "FaceIds": [FACE_ID]})


def test_a_new_subject_is_searched_then_indexed_with_one_face_and_filed_under_its_user(stub, store):
    stub.add_response("search_faces_by_image", {"FaceMatches": []}, search_params())
    expect_index_and_file(stub)
    outcome = store.enrol("alice", PROBE, 90.0, 5)
    assert outcome.enrolled and outcome.face_id == FACE_ID and outcome.duplicates == []


def test_the_threshold_is_sent_on_the_0_to_100_scale(stub, store):
    stub.add_response("search_faces_by_image", {"FaceMatches": []},
                      search_params(threshold=97.5, max_faces=4))
    assert store.search(PROBE, 97.5, 1) == []


def test_same_subject_again_adds_a_face(stub, store):
    stub.add_response("search_faces_by_image", matches((OTHER_ID, "alice", 99.8)), search_params())
    expect_index_and_file(stub, user_exists=True)
    assert store.enrol("alice", PROBE, 90.0, 5).enrolled


def test_a_face_of_another_subject_is_a_duplicate_and_nothing_is_indexed(stub, store):
    stub.add_response("search_faces_by_image", matches(
        (OTHER_ID, "bob", 95.0), (FACE_ID, "bob", 97.0), ("3" * 8 + "-3333-3333-3333-" + "3" * 12,
                                                          "alice", 99.9)), search_params())
    outcome = store.enrol("alice", PROBE, 90.0, 5)       # no index_faces queued: none may happen
    assert not outcome.enrolled
    assert outcome.duplicates == [Match("bob", 97.0)]


def test_search_is_best_face_per_subject_best_first_and_limited(stub, store):
    stub.add_response("search_faces_by_image", matches(
        (FACE_ID, "carol", 91.0), (OTHER_ID, "bob", 96.0), (FACE_ID, "dave", 93.0),
        (OTHER_ID, "carol", 98.0)), search_params(max_faces=8))
    assert store.search(PROBE, 90.0, 2) == [Match("carol", 98.0), Match("bob", 96.0)]


def test_no_face_in_the_selfie_is_422(stub, store):
    stub.add_client_error("search_faces_by_image", "InvalidParameterException",
                          "There are no faces in the image.", 400, expected_params=search_params())
    with pytest.raises(ApiError) as caught:
        store.search(PROBE, 90.0, 5)
    assert (caught.value.status, caught.value.code, caught.value.field) == (422, "NO_FACE",
                                                                              "selfie")


def test_a_face_that_cannot_be_filed_is_deleted_again(stub, store):
    stub.add_response("search_faces_by_image", {"FaceMatches": []}, search_params())
    stub.add_response("index_faces", {"FaceRecords": [{"Face": face(FACE_ID, "alice")}]})
    stub.add_response("create_user", {})
    stub.add_client_error("associate_faces", "ServiceQuotaExceededException", "too many", 400)
    stub.add_response("delete_faces", {"DeletedFaces": [FACE_ID]},
                      {"CollectionId": COLLECTION, "FaceIds": [FACE_ID]})
    with pytest.raises(ApiError) as caught:
        store.enrol("alice", PROBE, 90.0, 5)
    assert (caught.value.status, caught.value.code) == (503, "STORE_UNAVAILABLE")


def test_a_face_the_quality_filter_drops_is_not_enrolled(stub, store):
    stub.add_response("search_faces_by_image", {"FaceMatches": []}, search_params())
    stub.add_response("index_faces", {"FaceRecords": [], "UnindexedFaces": [
        {"Reasons": ["LOW_SHARPNESS"]}]})
    with pytest.raises(ApiError) as caught:
        store.enrol("alice", PROBE, 90.0, 5)
    assert caught.value.code == "NO_FACE"


@pytest.mark.parametrize("aws_code, status, code", [
    ("ThrottlingException", 503, "STORE_BUSY"),
    ("ProvisionedThroughputExceededException", 503, "STORE_BUSY"),
    ("ResourceNotFoundException", 503, "STORE_UNAVAILABLE"),     # collection not provisioned
    ("AccessDeniedException", 503, "STORE_UNAVAILABLE"),
    ("InternalServerError", 503, "STORE_UNAVAILABLE"),
])
def test_service_failures_are_503(stub, store, aws_code, status, code):
    stub.add_client_error("search_faces_by_image", aws_code, "x", 400,
                          expected_params=search_params())
    with pytest.raises(ApiError) as caught:
        store.enrol("alice", PROBE, 90.0, 5)
    assert (caught.value.status, caught.value.code) == (status, code)


def list_params(token=None):
    params = {"CollectionId": COLLECTION, "UserId": "alice", "MaxResults": 4096}
    if token:
        params["NextToken"] = token
    return params


def test_metadata_lists_the_subjects_faces_across_pages(stub, store):
    stub.add_response("list_faces", {"Faces": [face(FACE_ID, "alice", NOW)], "NextToken": "p2"},
                      list_params())
    stub.add_response("list_faces", {"Faces": [face(OTHER_ID, "alice", NOW + 86400)]},
                      list_params("p2"))
    info = store.subject("alice")
    assert info is not None
    assert info.to_json() == {"subject_id": "alice", "engine": "rekognition", "faces": 2,
                              "enrolments": [
                                  {"enrolled_at": "2026-01-01T00:00:00+00:00",
                                   "model_version": "rekognition-7.0"},
                                  {"enrolled_at": "2026-01-02T00:00:00+00:00",
                                   "model_version": "rekognition-7.0"}]}


def test_unknown_subject(stub, store):
    stub.add_response("list_faces", {"Faces": []}, list_params())
    assert store.subject("alice") is None
    stub.add_response("list_faces", {"Faces": []}, list_params())
    stub.add_client_error("delete_user", "ResourceNotFoundException", "no such user", 400,
                          expected_params={"CollectionId": COLLECTION, "UserId": "alice"})
    assert store.erase("alice") is False


def test_erasure_deletes_every_face_then_the_user(stub, store):
    stub.add_response("list_faces", {"Faces": [face(FACE_ID, "alice"), face(OTHER_ID, "alice")]},
                      list_params())
    stub.add_response("delete_faces", {"DeletedFaces": [FACE_ID, OTHER_ID]},
                      {"CollectionId": COLLECTION, "FaceIds": [FACE_ID, OTHER_ID]})
    stub.add_response("delete_user", {}, {"CollectionId": COLLECTION, "UserId": "alice"})
    assert store.erase("alice") is True


def test_erasure_failure_is_503_not_a_claimed_success(stub, store):
    stub.add_response("list_faces", {"Faces": [face(FACE_ID, "alice")]}, list_params())
    stub.add_client_error("delete_faces", "ThrottlingException", "slow down", 400)
    with pytest.raises(ApiError) as caught:
        store.erase("alice")
    assert caught.value.code == "STORE_BUSY"
