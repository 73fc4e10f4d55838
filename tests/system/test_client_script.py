"""scripts/ips_client.py against the app: requests is routed in-process to
chalice.test.Client by a transport adapter, so the real HTTP encoding of the
script (headers, JSON, retries) meets the real route."""
import io
import json

import pytest
import requests
from PIL import Image

from scripts.ops import ips_client
from tests.support.images import image_bytes
from tests.support.rekognition_stub import answer


class ChaliceAdapter(requests.adapters.BaseAdapter):
    def __init__(self, client):
        super().__init__()
        self.client = client
        self.bodies = []

    def send(self, request, **kwargs):
        self.bodies.append(request.body)
        path = request.path_url
        answer = self.client.http.request(request.method, path,
                                          headers=dict(request.headers), body=request.body)
        response = requests.Response()
        response.status_code = answer.status_code
        response.headers.update(answer.headers)
        response._content = answer.body
        response.request = request
        response.url = request.url
        return response

    def close(self):
        pass


@pytest.fixture
def adapter(dev_client, monkeypatch):
    adapter = ChaliceAdapter(dev_client)
    monkeypatch.setattr(requests.Session, "get_adapter", lambda self, url: adapter)
    monkeypatch.setattr(ips_client.time, "sleep", lambda s: adapter.bodies.append(("slept", s)))
    return adapter


@pytest.fixture
def photos(tmp_path):
    dl, selfie = tmp_path / "id.jpg", tmp_path / "me.png"
    dl.write_bytes(image_bytes(400, 300))
    selfie.write_bytes(image_bytes(300, 400, "PNG"))
    return ["--dl", str(dl), "--selfie", str(selfie), "--url", "http://ips.test/ips"]


def any_params(stubber, response):
    stubber.add_response("compare_faces", response)


def test_verified_exits_0(adapter, rekognition, photos, capsys):
    any_params(rekognition, answer(97.5))
    assert ips_client.main(photos) == 0
    out = capsys.readouterr().out
    assert "VERIFIED" in out and "97.5" in out and "NOT" not in out


def test_not_verified_exits_1(adapter, rekognition, photos, capsys):
    any_params(rekognition, answer(12.0))
    assert ips_client.main(photos) == 1
    assert "NOT VERIFIED" in capsys.readouterr().out


def test_json_output(adapter, rekognition, photos, capsys):
    any_params(rekognition, answer(91.0))
    assert ips_client.main([*photos, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["similarity"] == 91.0


def test_error_exits_2_with_code(adapter, rekognition, photos, capsys):
    any_params(rekognition, answer())
    assert ips_client.main(photos) == 2
    assert "NO_FACE (selfie)" in capsys.readouterr().err


def test_missing_file_exits_2(photos, capsys):
    assert ips_client.main(["--dl", "/nonexistent.jpg", *photos[2:]]) == 2


def test_retries_503_honouring_retry_after(adapter, rekognition, photos):
    rekognition.add_client_error("compare_faces", "ThrottlingException", "slow down", 400)
    any_params(rekognition, answer(95.0))
    assert ips_client.main(photos) == 0
    assert ("slept", 2.0) in adapter.bodies


def test_api_key_and_url_from_environment(adapter, rekognition, photos, monkeypatch):
    monkeypatch.setenv("IPS_API_KEY", "k-123")
    seen = []
    original = adapter.send
    adapter.send = lambda request, **kw: seen.append(request) or original(request, **kw)
    any_params(rekognition, answer(95.0))
    assert ips_client.main(photos) == 0
    assert seen[0].headers["x-api-key"] == "k-123"


def test_large_photo_downscaled_under_budget():
    big = Image.effect_noise((3000, 2000), 60).convert("RGB")
    buf = io.BytesIO()
    big.save(buf, "PNG")
    assert len(buf.getvalue()) > ips_client.IMAGE_BUDGET_BYTES
    out = ips_client.prepare_image(buf.getvalue())
    assert len(out) <= ips_client.IMAGE_BUDGET_BYTES
    with Image.open(io.BytesIO(out)) as img:
        assert img.format == "JPEG" and max(img.size) <= 2048


def test_small_jpeg_sent_unchanged():
    data = image_bytes(640, 480)
    assert ips_client.prepare_image(data) is data


def test_exif_orientation_applied_on_reencode():
    img = Image.new("RGB", (300, 200), (10, 20, 30))
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees on display
    buf = io.BytesIO()
    img.save(buf, "WEBP", exif=exif)
    with Image.open(io.BytesIO(ips_client.prepare_image(buf.getvalue()))) as out:
        assert out.size == (200, 300)
