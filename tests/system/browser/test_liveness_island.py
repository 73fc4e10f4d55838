"""The Face Liveness island (issue 20) in headless Chromium with a fake
camera, against the real local server: window.ips.runLiveness asks
POST verifications/{id}/liveness for a session and credentials (answered
here by request routing, as helper `liveness`'s route answers), loads the
island with import() and mounts Amazon's FaceLivenessDetectorCore.

Rekognition's streaming service is stood in for by a mocked WebSocket at a
loopback endpointOverride (the component connects to it with a SigV4
presigned URL). Every HTTP request and WebSocket the page opens is recorded
and must be loopback and served by ips: nothing from a CDN. The face model
itself is loaded by the component only after the service's session
information; it is checked on TF.js in Node (tests/system/
test_liveness_face_model.py). The tests wait on DOM states and on recorded
requests, never on durations."""
from __future__ import annotations

import json
from urllib.parse import urlsplit

import pytest

from chalicelib.http.static_assets import LIVENESS
from tests.support.browser import launch, no_face_image, open_page, wait_until, y4m_from_photo

LOOPBACK = {"127.0.0.1", "localhost", "::1"}
VERIFICATION = "verifications/ver_liveness_test"
SESSION_ID = "3f6a2c1e-0000-4000-8000-000000000001"


class Recorder:
    """Every request and WebSocket of the page; the liveness POST answered."""

    def __init__(self, page):
        self.requests: list[dict] = []
        self.sockets: list[str] = []
        self.liveness_posts: list[dict] = []
        self.responses: dict[str, int] = {}
        page.on("request", lambda r: self.requests.append(
            {"url": r.url, "accept": r.headers.get("accept", "")}))
        page.on("response", lambda r: self.responses.__setitem__(urlsplit(r.url).path, r.status))
        page.route(f"**/{VERIFICATION}/liveness", self._liveness)
        page.route_web_socket(lambda url: True, self._socket)

    def _liveness(self, route):
        self.liveness_posts.append({"authorization": route.request.headers.get("authorization"),
                                    "method": route.request.method})
        route.fulfill(status=200, content_type="application/json", body=json.dumps({
            "session_id": SESSION_ID, "region": "us-east-1",
            "credentials": {"access_key_id": "ASIATESTTESTTESTTEST",
                            "secret_access_key": "test-secret", "session_token": "test-token",
                            "expiration": "2030-01-01T00:00:00Z"}}))

    def _socket(self, ws):
        # Mocked, never connected anywhere; the stand-in only accepts.
        self.sockets.append(ws.url)
        if urlsplit(ws.url).hostname not in LOOPBACK:
            ws.close()

    def remote(self) -> list[str]:
        return ([r["url"] for r in self.requests
                 if urlsplit(r["url"]).scheme in ("http", "https")
                 and urlsplit(r["url"]).hostname not in LOOPBACK]
                + [u for u in self.sockets if urlsplit(u).hostname not in LOOPBACK])


def start_liveness(page, server: str) -> None:
    """What the session flow does: an empty container, then runLiveness."""
    stand_in = "ws://" + urlsplit(server).netloc + "/liveness-stand-in"
    page.evaluate("""([verification, endpoint]) => {
        const box = document.createElement('div');
        box.id = 'liveness-test';
        document.querySelector('main').appendChild(box);
        window.ips.runLiveness(box, {verification, token: 'capture-token-1', endpointOverride: endpoint})
          .then((id) => { box.dataset.outcome = 'complete:' + id; },
                (err) => { box.dataset.outcome = 'error:' + err.code + ':' + (err.state || ''); });
    }""", [VERIFICATION, stand_in])


def camera_page(playwright_session, server, video):
    browser = launch(playwright_session, ["--use-fake-device-for-media-stream",
                                          "--use-fake-ui-for-media-stream",
                                          f"--use-file-for-fake-video-capture={video}"])
    context, page = open_page(browser, server)
    return browser, context, page


def test_island_mounts_self_hosted_and_streams_only_to_the_stand_in(
        playwright_session, server, tmp_path):
    video = tmp_path / "landscape.y4m"
    y4m_from_photo(no_face_image(tmp_path / "landscape.jpg"), video, size=(640, 480))
    browser, context, page = camera_page(playwright_session, server, video)
    try:
        recorder = Recorder(page)
        start_liveness(page, server)
        page.wait_for_selector("#liveness-test[data-state=mounted]")
        page.wait_for_selector("#liveness-test [data-testid=liveness-detector]")
        # The camera runs in the component's own <video>.
        page.wait_for_selector("#liveness-test video")
        # Then it connects to the streaming endpoint (the stand-in).
        wait_until(page, lambda: recorder.sockets)

        assert recorder.liveness_posts == [{"authorization": "Bearer capture-token-1",
                                            "method": "POST"}]
        assert len(recorder.sockets) == 1
        assert urlsplit(recorder.sockets[0]).netloc == urlsplit(server).netloc
        assert urlsplit(recorder.sockets[0]).path == (
            "/liveness-stand-in/start-face-liveness-session-websocket")
        assert "X-Amz-Signature=" in recorder.sockets[0]      # SigV4-presigned by the client
        assert not recorder.remote(), recorder.remote()

        paths = {urlsplit(r["url"]).path for r in recorder.requests}
        assert "/static/liveness/island.js" in paths      # loaded on use, by import()
        # The WASM binary asked for by type (API Gateway returns binary only then).
        accepts = {urlsplit(r["url"]).path: r["accept"] for r in recorder.requests}
        wasm = [p for p in paths if p.endswith(".wasm")]
        assert wasm and all(accepts[p] == "application/wasm" for p in wasm), wasm
        # Every script, style, model and WASM the page loaded: ips's own,
        # from the allow-list, and answered 200.
        own = {p for p in paths if p.startswith("/static/")}
        served = {f"/static/{p}" for p in LIVENESS} | {"/static/style.css"}
        assert {p for p in own if not p.startswith("/static/js/")} <= served, own
        assert all(recorder.responses.get(p) == 200 for p in own), recorder.responses
        # The page's CSP held (a violation is a console error).
        assert not [e for e in page.errors if "Content Security Policy" in e], page.errors
        assert page.get_attribute("#liveness-test", "data-outcome") is None
    finally:
        context.close()
        browser.close()


def test_a_refused_liveness_start_rejects_with_the_api_code(desktop, server):
    desktop.route(f"**/{VERIFICATION}/liveness", lambda route: route.fulfill(
        status=422, content_type="application/json",
        body=json.dumps({"code": "LIVENESS_NOT_REQUIRED", "message": "x", "request_id": "r"})))
    start_liveness(desktop, server)
    desktop.wait_for_selector("#liveness-test[data-outcome='error:LIVENESS_NOT_REQUIRED:']", state="attached")
    # The island was never loaded.
    assert desktop.get_attribute("#liveness-test", "data-state") is None


@pytest.mark.parametrize("body", ["{}", '{"session_id": "s", "region": "us-east-1"}', "not json"])
def test_a_malformed_liveness_answer_is_bad_response(desktop, server, body):
    desktop.route(f"**/{VERIFICATION}/liveness",
                  lambda route: route.fulfill(status=200, content_type="application/json", body=body))
    start_liveness(desktop, server)
    desktop.wait_for_selector("#liveness-test[data-outcome='error:BAD_RESPONSE:']", state="attached")
