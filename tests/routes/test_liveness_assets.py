"""The Face Liveness island's files (issue 20) as the app serves them: the
bundle and CSS as text, the TF.js WASM and the face model's weights as
binary (what API Gateway needs), nothing outside the allow-list; and the
page's CSP: WebAssembly allowed, the streaming endpoint only on cloud stages.

The files are built by `make liveness` (make test depends on it); without
them the tests that read them skip with that reason."""
import json
import re

import pytest
from chalice.test import Client

from app import app
from chalicelib.http import static_assets

LIVENESS_DIR = static_assets.STATIC_DIR / "liveness"
BUILT = all((static_assets.STATIC_DIR / path).is_file() for path in static_assets.LIVENESS)
needs_build = pytest.mark.skipif(not BUILT, reason="liveness island not built: run `make liveness`")


@pytest.fixture(params=["local", "dev"])
def client(request):
    with Client(app, stage_name=request.param) as client:
        yield client


def test_binary_types_cover_the_binary_assets():
    # Chalice lists these as the API's binaryMediaTypes: API Gateway then
    # returns the base64 body as bytes when the Accept header names them.
    for content_type in static_assets.BINARY_TYPES:
        assert content_type in app.api.binary_types
    assert {static_assets.LIVENESS[p] for p in static_assets.LIVENESS
            if p.endswith((".wasm", ".bin"))} <= set(static_assets.BINARY_TYPES)


@needs_build
def test_built_folder_holds_exactly_the_served_files():
    built = {f"liveness/{p.name}" for p in LIVENESS_DIR.iterdir()
             if p.name not in ("BUILT", "island.js.LEGAL.txt")}
    assert built == set(static_assets.LIVENESS)


@needs_build
@pytest.mark.parametrize("path", [p for p in static_assets.LIVENESS
                                  if static_assets.LIVENESS[p] not in static_assets.BINARY_TYPES])
def test_text_files_served_as_str(client, path):
    response = client.http.get(f"/static/{path}")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == static_assets.LIVENESS[path]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.body == (static_assets.STATIC_DIR / path).read_bytes()
    assert isinstance(static_assets.asset_response(path.split("/")[1], "r", "liveness").body, str)


@needs_build
@pytest.mark.parametrize("path", [p for p in static_assets.LIVENESS
                                  if static_assets.LIVENESS[p] in static_assets.BINARY_TYPES])
def test_binary_files_served_as_bytes_when_asked_for_by_type(client, path):
    content_type = static_assets.LIVENESS[path]
    response = client.http.get(f"/static/{path}", headers={"Accept": content_type})
    assert response.status_code == 200
    assert response.headers["Content-Type"] == content_type
    assert response.body == (static_assets.STATIC_DIR / path).read_bytes()
    if path.endswith(".wasm"):
        assert response.body[:4] == b"\0asm"


@needs_build
def test_model_json_names_its_weights_file():
    model = json.loads((LIVENESS_DIR / "face-model.json").read_text("utf-8"))
    paths = [p for group in model["weightsManifest"] for p in group["paths"]]
    assert paths == ["face-model.bin"] and "liveness/face-model.bin" in static_assets.LIVENESS


@needs_build
def test_bundle_is_the_face_liveness_client_and_names_no_cdn():
    bundle = (LIVENESS_DIR / "island.js").read_text("utf-8")
    assert "StartFaceLivenessSession" in bundle     # the Rekognition streaming client
    assert "mountLiveness" in bundle
    # The component's own defaults still name its CDN; the island always
    # overrides them (binaryPath, faceModelUrl), which the browser test checks.
    assert "AKIA" not in bundle and not re.search(r"x-api-key", bundle, re.IGNORECASE)


@pytest.mark.parametrize("path", [
    "liveness", "island.js", "liveness/..%2Fjs%2Fmain.js", "liveness/..",
    "liveness/island.js.LEGAL.txt", "liveness/BUILT", "liveness/nope.wasm",
    "liveness/%2e%2e%2fapp.py", "liveness/ISLAND.JS",
])
def test_unknown_liveness_path_is_404(client, path):
    response = client.http.get(f"/static/{path}")
    assert response.status_code == 404
    assert json.loads(response.body)["code"] == "NOT_FOUND"


def test_local_stage_csp_allows_wasm_and_no_remote_endpoint():
    with Client(app, stage_name="local") as client:
        csp = client.http.get("/").headers["Content-Security-Policy"]
    assert "script-src 'self' 'wasm-unsafe-eval' 'sha256-" in csp
    assert "'unsafe-eval'" not in csp and "'unsafe-inline'" not in csp
    assert re.search(r"connect-src 'self' blob:;", csp), csp
    assert "amazonaws" not in csp


def test_cloud_stage_csp_names_only_the_regions_streaming_endpoint(monkeypatch):
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    with Client(app, stage_name="dev") as client:
        csp = client.http.get("/").headers["Content-Security-Policy"]
    assert "connect-src 'self' blob: wss://streaming-rekognition.eu-west-1.amazonaws.com;" in csp
    assert csp.count("amazonaws") == 1


def test_a_malformed_region_adds_nothing():
    csp = static_assets.page_response("r", "eu-west-1; script-src *").headers[
        "Content-Security-Policy"]
    assert "amazonaws" not in csp and "script-src *" not in csp
