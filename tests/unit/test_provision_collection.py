"""scripts/provision_collection.py (make provision STAGE=...) against
botocore's Stubber: creates the stage's collection once, then finds it."""

import json

import pytest
from botocore.stub import Stubber

from scripts.ops.provision_collection import collection_id_for, provision
from tests.support.rekognition_stub import fake_client

DESCRIBED = {"FaceCount": 0, "UserCount": 0, "FaceModelVersion": "7.0",
             "CollectionARN": "arn:aws:rekognition:us-east-1:123456789012:collection/ips-prod"}


@pytest.fixture
def stub():
    with Stubber(fake_client("rekognition")) as stubber:
        yield stubber
        stubber.assert_no_pending_responses()


def test_creates_a_missing_collection_then_leaves_it_alone(stub):
    stub.add_client_error("describe_collection", "ResourceNotFoundException", "no", 400,
                          expected_params={"CollectionId": "ips-prod"})
    stub.add_response("create_collection", {"StatusCode": 200},
                      {"CollectionId": "ips-prod", "Tags": {"app": "ips", "stage": "prod"}})
    stub.add_response("describe_collection", DESCRIBED, {"CollectionId": "ips-prod"})
    first = provision(stub.client, "ips-prod", "prod")
    assert first["created"] is True and first["arn"].endswith(":collection/ips-prod")
    stub.add_response("describe_collection", {**DESCRIBED, "FaceCount": 12},
                      {"CollectionId": "ips-prod"})
    again = provision(stub.client, "ips-prod", "prod")      # no create_collection queued
    assert again["created"] is False and again["face_count"] == 12


def test_a_concurrent_creation_is_not_an_error(stub):
    stub.add_client_error("describe_collection", "ResourceNotFoundException", "no", 400)
    stub.add_client_error("create_collection", "ResourceAlreadyExistsException", "exists", 400)
    stub.add_response("describe_collection", DESCRIBED)
    assert provision(stub.client, "ips-prod", "prod")["created"] is False


def test_other_failures_are_not_swallowed(stub):
    from botocore.exceptions import ClientError

    stub.add_client_error("describe_collection", "AccessDeniedException", "no", 400)
    with pytest.raises(ClientError):
        provision(stub.client, "ips-prod", "prod")


def test_collection_ids_match_the_stage_policies(tmp_path):
    root = collection_id_for.__defaults__[0].parent    # .chalice/
    for stage in ("dev", "prod"):
        collection = collection_id_for(stage)
        policy = json.loads((root / f"policy-{stage}.json").read_text())
        resources = [s["Resource"] for s in policy["Statement"]
                     if "rekognition:IndexFaces" in s["Action"]]
        assert resources == [f"arn:aws:rekognition:*:*:collection/{collection}-*"]   # per tenant
        template = json.loads((root / f"collection-{stage}.json").read_text())
        assert template["Resources"]["FaceCollection"]["Properties"]["CollectionId"] \
            == f"{collection}-default"
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"stages": {"qa": {}}}))
    assert collection_id_for("qa", config) == "ips-qa"


def test_tenants_come_from_the_ssm_names_only(stub):
    from scripts.ops.provision_collection import tenants_from_ssm
    with Stubber(fake_client("ssm")) as ssm:
        ssm.add_response("get_parameters_by_path", {
            "Parameters": [{"Name": "/ips/prod/tenants/globex"}], "NextToken": "n"},
            {"Path": "/ips/prod/tenants", "Recursive": False, "WithDecryption": False})
        ssm.add_response("get_parameters_by_path", {
            "Parameters": [{"Name": "/ips/prod/tenants/acme"}]},
            {"Path": "/ips/prod/tenants", "Recursive": False, "WithDecryption": False,
             "NextToken": "n"})
        assert tenants_from_ssm(ssm.client, "/ips/prod/tenants") == ["acme", "globex"]
        ssm.assert_no_pending_responses()


def test_given_tenants_win():
    from scripts.ops.provision_collection import stage_tenants
    assert stage_tenants("prod", ["b", "a", "b"]) == ["a", "b"]
