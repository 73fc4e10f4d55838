"""POST /enrolments, POST /search, GET/DELETE /enrolments/{id} on the dev
stage: the verification on CompareFaces and the store on the stage's
Rekognition collection, both answered by botocore's Stubber, which checks
every parameter. Also: the cloud path never imports numpy."""

import json
import os

import boto3
import pytest
from botocore.stub import ANY, Stubber
from chalice.test import Client

os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")

from app import app
from chalicelib.aws import clients as aws
from tests.support.fresh_python import run_python
from tests.support.images import b64, image_bytes

DL = image_bytes(400, 300)
SELFIE = image_bytes(300, 400, "PNG")
COLLECTION = "ips-dev-default"     # the dev stage's collection of the tenant "default"
FACE_ID = "11111111-1111-1111-1111-111111111111"
BOX = {"BoundingBox": {"Left": 0.3, "Top": 0.2, "Width": 0.3, "Height": 0.4}, "Confidence": 99.9}


@pytest.fixture
def stub():
    client = boto3.client("rekognition", region_name="us-east-1",
                          aws_access_key_id="testing", aws_secret_access_key="testing")
    with aws.override("rekognition", client), aws.override("rekognition-index", client), \
            Stubber(client) as stubber:
        yield stubber
        stubber.assert_no_pending_responses()


@pytest.fixture
def dev():
    with Client(app, stage_name="dev") as client:
        yield client


def compare(similarity):
    return {"SourceImageFace": BOX, "UnmatchedFaces": [],
            "FaceMatches": [{"Similarity": similarity, "Face": BOX}]}


def search_params():
    return {"CollectionId": COLLECTION, "Image": {"Bytes": SELFIE}, "MaxFaces": 20,
            "FaceMatchThreshold": 90.0, "QualityFilter": "AUTO"}


def post_enrolment(dev, subject_id):
    return dev.http.post("/enrolments", headers={"Content-Type": "application/json"},
                         body=json.dumps({"subject_id": subject_id, "dl": b64(DL),
                                          "selfie": b64(SELFIE)}))


def test_enrolment_on_the_cloud_stage(dev, stub):
    stub.add_response("compare_faces", compare(99.0))
    stub.add_response("search_faces_by_image", {"FaceMatches": []}, search_params())
    stub.add_response("index_faces", {"FaceRecords": [{"Face": {"FaceId": FACE_ID}}]})
    stub.add_response("search_faces", {"FaceMatches": []},
                      {"CollectionId": COLLECTION, "FaceId": FACE_ID, "MaxFaces": 20,
                       "FaceMatchThreshold": 90.0})
    stub.add_response("create_user", {}, {"CollectionId": COLLECTION, "UserId": "cust-1",
                                          "ClientRequestToken": ANY})
    stub.add_response("associate_faces", {"AssociatedFaces": [{"FaceId": FACE_ID}]},
                      {"CollectionId": COLLECTION, "UserId": "cust-1", "FaceIds": [FACE_ID],
                       "UserMatchThreshold": 0.0, "ClientRequestToken": ANY})
    response = post_enrolment(dev, "cust-1")
    assert response.status_code == 201
    body = json.loads(response.body)
    assert (body["enrolled"], body["subject_id"], body["engine"]) == (True, "cust-1", "rekognition")


def test_duplicate_on_the_cloud_stage(dev, stub):
    stub.add_response("compare_faces", compare(99.0))
    stub.add_response("search_faces_by_image", {"FaceMatches": [
        {"Similarity": 99.2, "Face": {"FaceId": FACE_ID, "ExternalImageId": "cust-1:1767225600",
                                      "UserId": "cust-1"}}]},
        search_params())
    response = post_enrolment(dev, "cust-2")
    assert response.status_code == 200
    body = json.loads(response.body)
    assert (body["enrolled"], body["decision"], body["reasons"]) == (False, "review",
                                                                      ["DUPLICATE_FACE"])
    assert body["duplicates"] == [{"subject_id": "cust-1", "similarity": 99.2}]


def test_no_match_searches_nothing(dev, stub):
    stub.add_response("compare_faces", compare(20.0))     # nothing else may be called
    response = post_enrolment(dev, "cust-3")
    assert response.status_code == 200 and json.loads(response.body)["enrolled"] is False


def test_search_metadata_and_erasure_on_the_cloud_stage(dev, stub):
    stub.add_response("search_faces_by_image", {"FaceMatches": [
        {"Similarity": 97.0, "Face": {"FaceId": FACE_ID, "ExternalImageId": "cust-1:1767225600",
                                      "UserId": "cust-1"}}]},
        search_params())
    found = dev.http.post("/search", headers={"Content-Type": "application/json"},
                          body=json.dumps({"selfie": b64(SELFIE)}))
    assert found.status_code == 200
    assert json.loads(found.body)["matches"] == [{"subject_id": "cust-1", "similarity": 97.0}]
    listed = {"Faces": [{"FaceId": FACE_ID, "ExternalImageId": "cust-1:1767225600",
                         "IndexFacesModelVersion": "7.0", "UserId": "cust-1"}]}
    params = {"CollectionId": COLLECTION, "UserId": "cust-1", "MaxResults": 4096}
    stub.add_response("list_faces", listed, params)
    info = dev.http.get("/enrolments/cust-1")
    assert info.status_code == 200 and json.loads(info.body)["faces"] == 1
    stub.add_response("list_faces", listed, {"CollectionId": COLLECTION, "MaxResults": 4096})
    stub.add_response("delete_user", {}, {"CollectionId": COLLECTION, "UserId": "cust-1",
                                          "ClientRequestToken": ANY})
    stub.add_response("delete_faces", {"DeletedFaces": [FACE_ID]},
                      {"CollectionId": COLLECTION, "FaceIds": [FACE_ID]})
    assert dev.http.delete("/enrolments/cust-1").status_code == 204


SCRIPT = """
import json, sys, boto3
from botocore.stub import ANY, Stubber
from chalice.test import Client
from app import app
from chalicelib.aws import clients as aws
from tests.support.images import b64, image_bytes
client = boto3.client("rekognition", aws_access_key_id="x", aws_secret_access_key="x")
box = {"BoundingBox": {"Left": .3, "Top": .2, "Width": .3, "Height": .4}, "Confidence": 99.9}
with aws.override("rekognition", client), aws.override("rekognition-index", client), \
        Stubber(client) as stub, Client(app, stage_name="dev") as http:
    stub.add_response("compare_faces", {"SourceImageFace": box, "UnmatchedFaces": [],
                                        "FaceMatches": [{"Similarity": 99.0, "Face": box}]})
    stub.add_response("search_faces_by_image", {"FaceMatches": []})
    stub.add_response("index_faces", {"FaceRecords": [{"Face": {"FaceId": "f"}}]})
    stub.add_response("search_faces", {"FaceMatches": []})
    stub.add_response("create_user", {})
    stub.add_response("associate_faces", {"AssociatedFaces": [{"FaceId": "f"}]})
    r = http.http.post("/enrolments", headers={"Content-Type": "application/json"},
                       body=json.dumps({"subject_id": "c1", "dl": b64(image_bytes()),
                                        "selfie": b64(image_bytes())}))
print(r.status_code, sorted(m for m in ("numpy", "dlib", "sqlite3") if m in sys.modules))
"""


def test_cloud_enrolment_imports_no_numpy_or_sqlite():
    assert run_python(SCRIPT, IPS_LOG_LEVEL="WARNING").strip() == "201 []"
