"""The process's AWS clients: one per service, each with its bounded
configuration, and overrides that always restore the previous client."""
import pytest

from chalicelib.aws import clients as aws


@pytest.fixture(autouse=True)
def fresh_clients(monkeypatch):
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    with aws.fresh():
        yield


def test_one_client_per_service():
    assert aws.client("rekognition") is aws.client("rekognition")
    assert aws.client("textract") is not aws.client("rekognition")


def test_face_calls_retry_within_the_lambda_timeout():
    config = aws.client("rekognition").meta.config
    assert config.retries == {"mode": "adaptive", "total_max_attempts": 3}
    assert (config.connect_timeout, config.read_timeout) == (2, 6)


def test_document_reading_makes_one_attempt_within_its_wait():
    config = aws.client("textract").meta.config
    assert config.retries["total_max_attempts"] == 1
    # The verification waits IPS_DOCUMENT_TIMEOUT_S (default 10 s) for the read.
    assert config.connect_timeout + config.read_timeout <= 10


def test_override_restores_the_previous_client_even_on_error():
    original = aws.client("rekognition")
    stand_in = object()
    with pytest.raises(RuntimeError), aws.override("rekognition", stand_in):
        assert aws.client("rekognition") is stand_in
        raise RuntimeError("boom")
    assert aws.client("rekognition") is original


def test_index_faces_is_never_retried():
    """A retried IndexFaces after a lost answer would index the face twice."""
    index = aws.client("rekognition-index")
    assert index.meta.service_model.service_name == "rekognition"
    assert index.meta.config.retries["total_max_attempts"] == 1
    assert index is not aws.client("rekognition")
