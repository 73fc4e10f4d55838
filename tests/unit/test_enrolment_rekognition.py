"""The cloud enrolment store (chalicelib/enrolment/rekognition.py) against
botocore's Stubber: every parameter of every Rekognition call is checked
(moto implements none of these calls), including the failure answers the
security review named: DeleteFaces' UnsuccessfulFaceDeletions
(ASSOCIATED_TO_AN_EXISTING_USER, FACE_NOT_FOUND), faces indexed but never
associated (a timeout between two calls, a failed clean-up), and two
enrolments of one face racing under two ids."""

import pytest
from botocore.stub import ANY, Stubber

from chalicelib.config.settings import StoreOptions
from chalicelib.core.errors import ApiError
from chalicelib.enrolment.base import Match, Probe
from chalicelib.enrolment.rekognition import DELETE_ATTEMPTS, ORPHAN_GRACE_S, RekognitionStore
from chalicelib.imaging.image import Image
from tests.support.rekognition_stub import fake_client

PREFIX = "ips-test"
TENANT = "acme"
COLLECTION = "ips-test-acme"      # one collection per tenant
SELFIE = b"\xff\xd8\xff selfie bytes"
NOW = 1_767_225_600          # 2026-01-01T00:00:00Z
PROBE = Probe(Image(SELFIE, "JPEG", 400, 400, "selfie"))
FACE_ID = "11111111-1111-1111-1111-111111111111"
OTHER_ID = "22222222-2222-2222-2222-222222222222"
THIRD_ID = "33333333-3333-3333-3333-333333333333"


@pytest.fixture
def stub():
    with Stubber(fake_client("rekognition")) as stubber:
        yield stubber
        stubber.assert_no_pending_responses()


@pytest.fixture
def index_stub():
    """The one-attempt client IndexFaces goes through (and nothing else)."""
    with Stubber(fake_client("rekognition")) as stubber:
        yield stubber
        stubber.assert_no_pending_responses()


@pytest.fixture
def store(stub, index_stub):
    return RekognitionStore(StoreOptions(collection_id=PREFIX, quality_filter="HIGH"),
                            client=stub.client, index_client=index_stub.client, clock=lambda: NOW)


def search_params(threshold=90.0, max_faces=20):
    return {"CollectionId": COLLECTION, "Image": {"Bytes": SELFIE}, "MaxFaces": max_faces,
            "FaceMatchThreshold": threshold, "QualityFilter": "HIGH"}


def face(face_id, subject, stamp=NOW, version="7.0", associated=True):
    found = {"FaceId": face_id, "ExternalImageId": f"{subject}:{stamp}",
             "IndexFacesModelVersion": version,
             "BoundingBox": {"Left": 0.1, "Top": 0.1, "Width": 0.3, "Height": 0.4},
             "Confidence": 99.9, "ImageId": "00000000-0000-0000-0000-000000000000"}
    if associated:
        found["UserId"] = subject
    return found


def matches(*found, associated=True):
    return {"FaceMatches": [{"Similarity": sim, "Face": face(fid, subject, associated=associated)}
                            for fid, subject, sim in found]}


def expect_index(index_stub, subject="alice"):
    index_stub.add_response("index_faces", {"FaceRecords": [{"Face": face(FACE_ID, subject)}]}, {
        "CollectionId": COLLECTION, "Image": {"Bytes": SELFIE},
        "ExternalImageId": f"{subject}:{NOW}", "MaxFaces": 1, "QualityFilter": "HIGH",
        "DetectionAttributes": []})


def expect_recheck(stub, answer=None):
    stub.add_response("search_faces", answer or {"FaceMatches": []}, {
        "CollectionId": COLLECTION, "FaceId": FACE_ID, "MaxFaces": 20, "FaceMatchThreshold": 90.0})


def expect_file(stub, subject="alice", user_exists=False, associated=True):
    user = {"CollectionId": COLLECTION, "UserId": subject, "ClientRequestToken": ANY}
    if user_exists:
        stub.add_client_error("create_user", "ConflictException", "exists", 409,
                              expected_params=user)
    else:
        stub.add_response("create_user", {}, user)
    answer = ({"AssociatedFaces": [{"FaceId": FACE_ID}], "UserStatus": "ACTIVE"} if associated
              else {"AssociatedFaces": [], "UnsuccessfulFaceAssociations": [
                  {"FaceId": FACE_ID, "Reasons": ["FACE_NOT_FOUND"]}], "UserStatus": "ACTIVE"})
    stub.add_response("associate_faces", answer, {
        "CollectionId": COLLECTION, "UserId": subject, "FaceIds": [FACE_ID],
        "UserMatchThreshold": 0.0, "ClientRequestToken": ANY})


def expect_delete(stub, ids, answer=None):
    stub.add_response("delete_faces", answer or {"DeletedFaces": ids},
                      {"CollectionId": COLLECTION, "FaceIds": ids})


def test_a_new_subject_is_searched_indexed_rechecked_then_filed_under_its_user(
        stub, index_stub, store):
    stub.add_response("search_faces_by_image", {"FaceMatches": []}, search_params())
    expect_index(index_stub)
    expect_recheck(stub)
    expect_file(stub)
    outcome = store.enrol(TENANT, "alice", PROBE, 90.0, 5)
    assert outcome.enrolled and outcome.face_id == FACE_ID and outcome.duplicates == []


def test_each_tenant_has_its_own_collection(stub):
    other = RekognitionStore(StoreOptions(collection_id=PREFIX), client=stub.client)
    stub.add_response("search_faces_by_image", {"FaceMatches": []},
                      {**search_params(max_faces=4), "CollectionId": "ips-test-globex",
                       "QualityFilter": "AUTO"})
    assert other.search("globex", PROBE, 90.0, 1) == []
    assert other.collection("acme") == "ips-test-acme"


def test_the_threshold_is_sent_on_the_0_to_100_scale(stub, store):
    stub.add_response("search_faces_by_image", {"FaceMatches": []},
                      search_params(threshold=97.5, max_faces=4))
    assert store.search(TENANT, PROBE, 97.5, 1) == []


def test_same_subject_again_adds_a_face(stub, index_stub, store):
    stub.add_response("search_faces_by_image", matches((OTHER_ID, "alice", 99.8)), search_params())
    expect_index(index_stub)
    expect_recheck(stub, matches((OTHER_ID, "alice", 99.8)))      # its own older face: fine
    expect_file(stub, user_exists=True)
    assert store.enrol(TENANT, "alice", PROBE, 90.0, 5).enrolled


def test_a_face_of_another_subject_is_a_duplicate_and_nothing_is_indexed(stub, store):
    stub.add_response("search_faces_by_image", matches(
        (OTHER_ID, "bob", 95.0), (FACE_ID, "bob", 97.0), (THIRD_ID, "alice", 99.9)),
        search_params())
    outcome = store.enrol(TENANT, "alice", PROBE, 90.0, 5)   # no index_faces queued: none may happen
    assert not outcome.enrolled
    assert outcome.duplicates == [Match("bob", 97.0)]


def test_faces_not_associated_with_a_user_are_never_returned_by_search(stub, store):
    answer = matches((FACE_ID, "carol", 99.0), associated=False)     # an orphan: no UserId
    answer["FaceMatches"] += matches((OTHER_ID, "bob", 93.0))["FaceMatches"]
    # Attribution is by UserId: a face filed under dave whose ExternalImageId says eve.
    misfiled = face(THIRD_ID, "eve")
    misfiled["UserId"] = "dave"
    answer["FaceMatches"].append({"Similarity": 91.0, "Face": misfiled})
    stub.add_response("search_faces_by_image", answer, search_params())
    assert store.search(TENANT, PROBE, 90.0, 5) == [Match("bob", 93.0), Match("dave", 91.0)]


def test_two_enrolments_of_one_face_racing_under_two_ids_cannot_both_pass(stub, index_stub, store):
    """Both searched before either indexed. This one's re-search sees bob's
    face, indexed but not yet associated: it deletes its own and answers the
    duplicate."""
    stub.add_response("search_faces_by_image", {"FaceMatches": []}, search_params())
    expect_index(index_stub)
    expect_recheck(stub, matches((OTHER_ID, "bob", 98.5), associated=False))
    expect_delete(stub, [FACE_ID])               # no create_user / associate_faces queued
    outcome = store.enrol(TENANT, "alice", PROBE, 90.0, 5)
    assert not outcome.enrolled and outcome.duplicates == [Match("bob", 98.5)]


def test_a_face_that_cannot_be_filed_is_deleted_again(stub, index_stub, store):
    stub.add_response("search_faces_by_image", {"FaceMatches": []}, search_params())
    expect_index(index_stub)
    expect_recheck(stub)
    stub.add_response("create_user", {})
    stub.add_client_error("associate_faces", "ServiceQuotaExceededException", "too many", 400)
    expect_delete(stub, [FACE_ID])
    with pytest.raises(ApiError) as caught:
        store.enrol(TENANT, "alice", PROBE, 90.0, 5)
    assert (caught.value.status, caught.value.code) == (503, "STORE_UNAVAILABLE")


def test_an_association_answered_unsuccessful_is_not_an_enrolment(stub, index_stub, store):
    stub.add_response("search_faces_by_image", {"FaceMatches": []}, search_params())
    expect_index(index_stub)
    expect_recheck(stub)
    expect_file(stub, associated=False)
    expect_delete(stub, [FACE_ID])
    with pytest.raises(ApiError) as caught:
        store.enrol(TENANT, "alice", PROBE, 90.0, 5)
    assert (caught.value.status, caught.value.code) == (503, "STORE_UNAVAILABLE")


def test_a_failed_clean_up_reports_the_first_failure(stub, index_stub, store):
    """The face stays, unassociated: search ignores it, erasure and
    reconcile find it (tests below)."""
    stub.add_response("search_faces_by_image", {"FaceMatches": []}, search_params())
    expect_index(index_stub)
    stub.add_client_error("search_faces", "ThrottlingException", "slow down", 400)
    stub.add_client_error("delete_faces", "InternalServerError", "oops", 500)
    with pytest.raises(ApiError) as caught:
        store.enrol(TENANT, "alice", PROBE, 90.0, 5)
    assert caught.value.code == "STORE_BUSY"       # the throttle, not the failed delete


def test_a_face_the_quality_filter_drops_is_not_enrolled(stub, index_stub, store):
    stub.add_response("search_faces_by_image", {"FaceMatches": []}, search_params())
    index_stub.add_response("index_faces", {"FaceRecords": [], "UnindexedFaces": [
        {"Reasons": ["LOW_SHARPNESS"]}]})
    with pytest.raises(ApiError) as caught:
        store.enrol(TENANT, "alice", PROBE, 90.0, 5)
    assert caught.value.code == "NO_FACE"


def test_no_face_in_the_selfie_is_422(stub, store):
    stub.add_client_error("search_faces_by_image", "InvalidParameterException",
                          "There are no faces in the image.", 400, expected_params=search_params())
    with pytest.raises(ApiError) as caught:
        store.search(TENANT, PROBE, 90.0, 5)
    assert (caught.value.status, caught.value.code, caught.value.field) == (422, "NO_FACE",
                                                                              "selfie")


@pytest.mark.parametrize("aws_code, status, code", [
    ("ThrottlingException", 503, "STORE_BUSY"),
    ("ProvisionedThroughputExceededException", 503, "STORE_BUSY"),
    ("ResourceNotFoundException", 503, "STORE_UNAVAILABLE"),     # tenant's collection missing
    ("AccessDeniedException", 503, "STORE_UNAVAILABLE"),
    ("InternalServerError", 503, "STORE_UNAVAILABLE"),
])
def test_service_failures_are_503(stub, store, aws_code, status, code):
    stub.add_client_error("search_faces_by_image", aws_code, "x", 400,
                          expected_params=search_params())
    with pytest.raises(ApiError) as caught:
        store.enrol(TENANT, "alice", PROBE, 90.0, 5)
    assert (caught.value.status, caught.value.code) == (status, code)


def list_params(token=None, user="alice"):
    params = {"CollectionId": COLLECTION, "MaxResults": 4096}
    if user:
        params["UserId"] = user
    if token:
        params["NextToken"] = token
    return params


def test_metadata_lists_the_subjects_faces_across_pages(stub, store):
    stub.add_response("list_faces", {"Faces": [face(FACE_ID, "alice", NOW)], "NextToken": "p2"},
                      list_params())
    stub.add_response("list_faces", {"Faces": [face(OTHER_ID, "alice", NOW + 86400)]},
                      list_params("p2"))
    info = store.subject(TENANT, "alice")
    assert info is not None
    assert info.to_json() == {"subject_id": "alice", "engine": "rekognition", "faces": 2,
                              "enrolments": [
                                  {"enrolled_at": "2026-01-01T00:00:00+00:00",
                                   "model_version": "rekognition-7.0"},
                                  {"enrolled_at": "2026-01-02T00:00:00+00:00",
                                   "model_version": "rekognition-7.0"}]}


def expect_delete_user(stub, subject="alice", exists=True):
    params = {"CollectionId": COLLECTION, "UserId": subject, "ClientRequestToken": ANY}
    if exists:
        stub.add_response("delete_user", {}, params)
    else:
        stub.add_client_error("delete_user", "ResourceNotFoundException", "no such user", 400,
                              expected_params=params)


def test_unknown_subject(stub, store):
    stub.add_response("list_faces", {"Faces": []}, list_params())
    assert store.subject(TENANT, "alice") is None
    stub.add_response("list_faces", {"Faces": [face(OTHER_ID, "bob")]}, list_params(user=None))
    expect_delete_user(stub, exists=False)
    assert store.erase(TENANT, "alice") is False


def test_erasure_finds_faces_by_user_and_by_external_image_id_and_deletes_the_user_first(
        stub, store):
    """Every page of the collection is read: the orphan (indexed, never
    associated) carries the subject only in its ExternalImageId."""
    stub.add_response("list_faces", {"Faces": [face(FACE_ID, "alice"), face(OTHER_ID, "bob")],
                                     "NextToken": "p2"}, list_params(user=None))
    stub.add_response("list_faces", {"Faces": [face(THIRD_ID, "alice", associated=False)]},
                      list_params("p2", user=None))
    expect_delete_user(stub)              # first: it disassociates the user's faces
    expect_delete(stub, [FACE_ID, THIRD_ID])
    assert store.erase(TENANT, "alice") is True


def test_erasure_accounts_for_every_face_id(stub, store):
    stub.add_response("list_faces", {"Faces": [face(FACE_ID, "alice"), face(OTHER_ID, "alice"),
                                               face(THIRD_ID, "alice")]}, list_params(user=None))
    expect_delete_user(stub)
    # One deleted, one already gone, one still associated (a concurrent AssociateFaces).
    expect_delete(stub, [FACE_ID, OTHER_ID, THIRD_ID], {
        "DeletedFaces": [FACE_ID], "UnsuccessfulFaceDeletions": [
            {"FaceId": OTHER_ID, "Reasons": ["FACE_NOT_FOUND"]},
            {"FaceId": THIRD_ID, "UserId": "alice", "Reasons": ["ASSOCIATED_TO_AN_EXISTING_USER"]}]})
    stub.add_response("disassociate_faces", {"DisassociatedFaces": [{"FaceId": THIRD_ID}]}, {
        "CollectionId": COLLECTION, "UserId": "alice", "FaceIds": [THIRD_ID],
        "ClientRequestToken": ANY})
    expect_delete(stub, [THIRD_ID])
    assert store.erase(TENANT, "alice") is True


def test_faces_that_will_not_go_are_503_not_a_claimed_success(stub, store):
    stub.add_response("list_faces", {"Faces": [face(FACE_ID, "alice")]}, list_params(user=None))
    expect_delete_user(stub)
    for _ in range(DELETE_ATTEMPTS):
        expect_delete(stub, [FACE_ID], {"UnsuccessfulFaceDeletions": [
            {"FaceId": FACE_ID, "UserId": "alice",
             "Reasons": ["ASSOCIATED_TO_AN_EXISTING_USER"]}]})
        stub.add_response("disassociate_faces", {"UnsuccessfulFaceDisassociations": [
            {"FaceId": FACE_ID, "UserId": "alice", "Reasons": ["ASSOCIATED_TO_A_DIFFERENT_USER"]}]})
    with pytest.raises(ApiError) as caught:
        store.erase(TENANT, "alice")
    assert (caught.value.status, caught.value.code) == (503, "STORE_BUSY")


def test_erasure_failure_is_503_and_its_retry_finishes_the_job(stub, store):
    stub.add_response("list_faces", {"Faces": [face(FACE_ID, "alice")]}, list_params(user=None))
    expect_delete_user(stub)
    stub.add_client_error("delete_faces", "ThrottlingException", "slow down", 400)
    with pytest.raises(ApiError) as caught:
        store.erase(TENANT, "alice")
    assert caught.value.code == "STORE_BUSY"
    # The retry: the user is gone, the face (no longer associated) is still found.
    stub.add_response("list_faces", {"Faces": [face(FACE_ID, "alice", associated=False)]},
                      list_params(user=None))
    expect_delete_user(stub, exists=False)
    expect_delete(stub, [FACE_ID])
    assert store.erase(TENANT, "alice") is True


def test_reconcile_removes_old_orphans_and_empty_users_only(stub, store):
    young = NOW - 60                      # an enrolment possibly in flight
    old = NOW - ORPHAN_GRACE_S - 1
    stub.add_response("list_faces", {"Faces": [
        face(FACE_ID, "alice"), face(OTHER_ID, "bob", stamp=old, associated=False),
        face(THIRD_ID, "carol", stamp=young, associated=False)]}, list_params(user=None))
    expect_delete(stub, [OTHER_ID])
    stub.add_response("list_users", {"Users": [{"UserId": "alice"}, {"UserId": "dave"}],
                                     "NextToken": "u2"},
                      {"CollectionId": COLLECTION, "MaxResults": 500})
    stub.add_response("list_users", {"Users": [{"UserId": "erin"}]},
                      {"CollectionId": COLLECTION, "MaxResults": 500, "NextToken": "u2"})
    expect_delete_user(stub, "dave")
    expect_delete_user(stub, "erin")
    assert store.reconcile(TENANT) == {"orphan_faces": 1, "empty_users": 2}
