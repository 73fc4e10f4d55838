"""The real boto3 client path end to end against moto's Rekognition."""
import json

from moto import mock_aws

from chalicelib.aws import clients as aws
from tests.support.calls import post


def test_dev_stage_against_moto(dev_client, good_body, stage_env):
    stage_env(IPS_MULTI_FACE="best_match")  # moto's canned answer holds several faces
    # The real factory creates the client lazily, inside the mock.
    with mock_aws(), aws.fresh():
        response = post(dev_client, good_body)
        client = aws.client("rekognition")
    assert response.status_code == 200
    result = json.loads(response.body)
    assert result["engine"] == "rekognition"
    # moto answers one canned comparison whatever the images: this checks the
    # wiring (client creation, request shape, response parsing), not accuracy.
    assert 0 <= result["similarity"] <= 100
    assert result["faces_in_selfie"] >= 1
    assert result["decision"] in ("match", "no_match")
    assert client.meta.config.retries["mode"] == "adaptive"
    assert client.meta.config.read_timeout == aws.CLIENT_CONFIG.read_timeout
