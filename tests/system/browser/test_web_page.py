"""The web page in a real browser (Debian's Chromium via Playwright) against
the real `chalice local --stage local` server and its offline face engine.

Screenshots of every final state go to artifacts/screenshots/ (gitignored);
measurements (12 MP request size, click-to-result time) to
artifacts/e2e-measurements.json."""
from __future__ import annotations

import json
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
from PIL import Image, ImageChops, ImageFilter, ImageOps, ImageStat

from chalicelib.http.static_assets import STATIC_DIR
from tests.support.browser import (
    ARTIFACTS,
    RESULT_TIMEOUT_MS,
    SCREENSHOTS,
    choose,
    decode_jpeg_b64,
    launch,
    no_face_image,
    open_page,
    outcome,
    save_jpeg,
    verify,
    y4m_from_photo,
)

JS_DIR = STATIC_DIR / "js"

# The page's background colour for each outcome (style.css), used to check
# that a screenshot really shows the result panel.
OUTCOME_BG = {"verified": (0xe5, 0xf4, 0xea), "review": (0xff, 0xf4, 0xd6),
              "not-verified": (0xfd, 0xec, 0xeb), "error": (0xfd, 0xec, 0xeb)}
MEASUREMENTS: dict = {}


# ------------------------------------------------------------------ helpers

def screenshot(page, name: str) -> Path:
    """Full-page screenshot, checked to show the result panel in its colour."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    result = page.locator("#result")
    assert result.is_visible()
    page.screenshot(path=str(path), full_page=True)
    assert path.stat().st_size > 20_000, "screenshot is (nearly) empty"
    box = page.evaluate("""() => { const r = document.getElementById('result').getBoundingClientRect();
        return {x: r.left + scrollX, y: r.top + scrollY, w: r.width, h: r.height, dpr: devicePixelRatio}; }""")
    k = box["dpr"]
    with Image.open(path) as shot:
        panel = shot.convert("RGB").crop((int(box["x"] * k), int(box["y"] * k),
                                          int((box["x"] + box["w"]) * k), int((box["y"] + box["h"]) * k)))
    assert panel.width > 100 and panel.height > 100, "result panel not in the screenshot"
    want = OUTCOME_BG[outcome(page)]
    pixels = panel.resize((panel.width // 4 or 1, panel.height // 4 or 1)).getdata()
    share = sum(1 for p in pixels if all(abs(a - b) <= 6 for a, b in zip(p, want, strict=True))) / len(pixels)
    assert share > 0.25, f"screenshot's result panel is not in the {outcome(page)} colour ({share:.0%})"
    return path


def capture_request(page):
    """The body of the next POST to the API, as a dict (and its size in bytes)."""
    return page.expect_request(lambda r: r.method == "POST" and r.url.endswith("/ips"))


def assert_no_page_errors(page):
    assert not [e for e in page.errors if "Failed to load resource" not in e], page.errors


def record(name, value):
    MEASUREMENTS[name] = value
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "e2e-measurements.json").write_text(json.dumps(MEASUREMENTS, indent=2) + "\n")


def sameish(a: Image.Image, b: Image.Image) -> float:
    """Mean absolute grey-level difference of two images at 64x64."""
    a = a.convert("L").resize((64, 64))
    b = b.convert("L").resize((64, 64))
    return ImageStat.Stat(ImageChops.difference(a, b)).mean[0]


# ------------------------------------------------------------------ real engine, files

def test_same_person_is_verified(desktop, faces):
    choose(desktop, "dl", faces / "obama2.jpg")
    choose(desktop, "selfie", faces / "obama.jpg")
    with capture_request(desktop) as request:
        seconds = verify(desktop)
    body = json.loads(request.value.post_data)
    assert set(body) == {"dl", "selfie"}
    assert request.value.headers["content-type"] == "application/json"
    assert "x-api-key" not in {k.lower() for k in request.value.headers}
    assert outcome(desktop) == "verified", desktop.inner_text("#result")
    assert desktop.inner_text("#result-title") == "Verified"
    similarity = float(desktop.inner_text("#gauge-needle-label"))
    threshold = float(desktop.inner_text("#gauge-threshold-label").split()[-1])
    assert similarity >= threshold
    assert "above the threshold" in desktop.inner_text("#result-message")
    # The gauge's needle sits at the score, right of the threshold mark.
    needle = desktop.locator("#gauge-needle").bounding_box()
    mark = desktop.locator("#gauge-threshold").bounding_box()
    assert needle["x"] > mark["x"]
    # Both faces outlined, inside their images, described in text.
    for field in ("dl", "selfie"):
        img = desktop.locator(f"#result-{field}-img").bounding_box()
        box = desktop.locator(f"#result-{field}-box").bounding_box()
        assert desktop.is_visible(f"#result-{field}-box")
        assert img["x"] - 1 <= box["x"] and box["x"] + box["width"] <= img["x"] + img["width"] + 1
        assert img["y"] - 1 <= box["y"] and box["y"] + box["height"] <= img["y"] + img["height"] + 1
        assert 0.03 < box["width"] / img["width"] < 0.9
        assert "outlined" in desktop.get_attribute(f"#result-{field}-img", "alt")
    # Screen readers: the status line is a live region and says the outcome.
    assert desktop.get_attribute("#status", "aria-live") == "polite"
    assert desktop.inner_text("#status").startswith("Verified.")
    # Keyboard focus moved to the result.
    assert desktop.evaluate("document.activeElement.id") == "result-title"
    record("same_person_click_to_result_s", round(seconds, 3))
    record("same_person_similarity", similarity)
    screenshot(desktop, "verified-desktop")
    assert_no_page_errors(desktop)


def test_different_person_is_not_verified(desktop, faces):
    choose(desktop, "dl", faces / "obama2.jpg")
    choose(desktop, "selfie", faces / "biden.jpg")
    seconds = verify(desktop)
    assert outcome(desktop) == "not-verified", desktop.inner_text("#result")
    assert desktop.inner_text("#result-title") == "Not verified"
    similarity = float(desktop.inner_text("#gauge-needle-label"))
    threshold = float(desktop.inner_text("#gauge-threshold-label").split()[-1])
    assert similarity < threshold
    assert "below the threshold" in desktop.inner_text("#result-message")
    record("different_person_click_to_result_s", round(seconds, 3))
    screenshot(desktop, "not-verified-desktop")
    assert_no_page_errors(desktop)


def test_no_face_shows_the_right_message(desktop, faces, tmp_path):
    choose(desktop, "dl", faces / "obama2.jpg")
    choose(desktop, "selfie", no_face_image(tmp_path / "landscape.jpg"))
    verify(desktop)
    assert outcome(desktop) == "error"
    assert desktop.inner_text("#result-title") == "We could not check your photos"
    message = desktop.inner_text("#result-message")
    assert message.startswith("No face was found in the selfie.")
    assert "NO_FACE" in desktop.inner_text("#result-reference")
    # The message is also shown at the selfie step, which is marked invalid.
    assert desktop.inner_text("#selfie-message") == message
    assert "is-invalid" in desktop.get_attribute("#step-selfie", "class")
    assert "is-invalid" not in desktop.get_attribute("#step-dl", "class")
    assert desktop.is_hidden("#retry"), "a new photo is needed, not a retry"
    screenshot(desktop, "no-face-desktop")
    assert_no_page_errors(desktop)


def test_phone_viewport(phone, faces):
    choose(phone, "dl", faces / "obama2.jpg")
    choose(phone, "selfie", faces / "obama.jpg")
    verify(phone)
    assert outcome(phone) == "verified"
    # Nothing wider than the screen: no sideways scrolling on a phone.
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    # Touch targets at least 44 CSS px high.
    for button in phone.locator("button:visible").all():
        assert button.bounding_box()["height"] >= 43.5, button.inner_text()
    screenshot(phone, "verified-phone")
    assert_no_page_errors(phone)


# ------------------------------------------------------------------ camera

@pytest.fixture(scope="module")
def camera_video(faces, tmp_path_factory):
    path = tmp_path_factory.mktemp("camera") / "obama.y4m"
    frame = y4m_from_photo(faces / "obama.jpg", path)
    return path, frame


def test_webcam_selfie_is_captured_and_verified(playwright_session, server, faces, camera_video):
    video, frame = camera_video
    browser = launch(playwright_session, ["--use-fake-device-for-media-stream",
                                          "--use-fake-ui-for-media-stream",
                                          f"--use-file-for-fake-video-capture={video}"])
    try:
        context, page = open_page(browser, server, permissions=["camera"])
        choose(page, "dl", faces / "obama2.jpg")
        page.click("#selfie-camera-start")
        page.wait_for_selector("#selfie-camera:not([hidden])")
        page.wait_for_selector("#selfie-shoot:enabled")
        # The face guide is drawn over the live video; the preview is mirrored.
        assert page.is_visible("#selfie-camera .guide-oval")
        assert page.evaluate("getComputedStyle(document.getElementById('selfie-video')).transform") != "none"
        assert page.evaluate("document.activeElement.id") == "selfie-shoot"
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / "camera-live-desktop.png"))
        page.click("#selfie-shoot")
        page.wait_for_selector("#selfie-preview:not([hidden])")
        assert page.is_hidden("#selfie-camera")
        assert "from the camera" in page.inner_text("#selfie-info")
        # The camera is released after the capture.
        assert page.evaluate("document.getElementById('selfie-video').srcObject") is None
        with capture_request(page) as request:
            seconds = verify(page)
        selfie = decode_jpeg_b64(json.loads(request.value.post_data)["selfie"])
        assert selfie.size == frame.size
        # Sent as the camera sees it, not mirrored like the preview.
        assert sameish(selfie, frame) < sameish(selfie, ImageOps.mirror(frame))
        assert outcome(page) == "verified", page.inner_text("#result")
        record("webcam_click_to_result_s", round(seconds, 3))
        screenshot(page, "verified-webcam")
        assert_no_page_errors(page)
        context.close()
        # The live view with its guide on a phone-sized screen.
        context, page = open_page(browser, server, viewport=(390, 844), permissions=["camera"],
                                  is_mobile=True, has_touch=True, device_scale_factor=2)
        page.click("#selfie-camera-start")
        page.wait_for_selector("#selfie-shoot:enabled")
        page.locator("#step-selfie").scroll_into_view_if_needed()
        page.screenshot(path=str(SCREENSHOTS / "camera-live-phone.png"))
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        context.close()
    finally:
        browser.close()


def test_camera_refused_falls_back_to_a_file(playwright_session, server):
    # A camera exists but permission is not granted: the page says so and
    # moves focus to the file button.
    browser = launch(playwright_session, ["--use-fake-device-for-media-stream"])
    try:
        context, page = open_page(browser, server)
        page.click("#selfie-camera-start")
        page.wait_for_selector("#selfie-message.is-error")
        assert "Camera access was refused" in page.inner_text("#selfie-message")
        assert page.evaluate("document.activeElement.id") == "selfie-choose"
        assert page.is_hidden("#selfie-camera")
        context.close()
    finally:
        browser.close()


def test_no_camera_offers_the_file(desktop):
    # Headless Chromium without a fake device has no camera at all.
    desktop.wait_for_selector("#selfie-camera-start", state="hidden")
    assert "No camera was found" in desktop.inner_text("#selfie-message")
    assert desktop.is_visible("#selfie-choose")


# ------------------------------------------------------------------ downscaling, EXIF, size

@pytest.fixture(scope="module")
def twelve_mp_photo(faces, tmp_path_factory) -> Path:
    """A 4000x3000 JPEG like a phone's: the face photo scaled up on a noisy
    background, with sensor-like noise so it is as large as a real one."""
    path = tmp_path_factory.mktemp("12mp") / "12mp.jpg"
    base = Image.effect_noise((4000, 3000), 40).convert("RGB").filter(ImageFilter.GaussianBlur(0.6))
    face = Image.open(faces / "obama.jpg").convert("RGB").resize((2400, 3000), Image.LANCZOS)
    base.paste(face, (800, 0))
    noise = Image.effect_noise((4000, 3000), 25).convert("RGB")
    Image.blend(base, noise, 0.12).save(path, "JPEG", quality=95)
    return path


def test_12mp_photo_is_downscaled_before_upload(desktop, faces, twelve_mp_photo):
    original_bytes = twelve_mp_photo.stat().st_size
    start = time.perf_counter()
    choose(desktop, "selfie", twelve_mp_photo)
    prepare_s = time.perf_counter() - start
    choose(desktop, "dl", faces / "obama2.jpg")
    with capture_request(desktop) as request:
        seconds = verify(desktop)
    raw = request.value.post_data_buffer
    body = json.loads(raw)
    selfie = decode_jpeg_b64(body["selfie"])
    assert selfie.format == "JPEG" and max(selfie.size) == 1600 and selfie.size == (1600, 1200)
    assert len(raw) < 2 * 1024 * 1024, "well under the 6 MB limit"
    assert outcome(desktop) == "verified", desktop.inner_text("#result")
    record("12mp_original_file_bytes", original_bytes)
    record("12mp_request_body_bytes", len(raw))
    record("12mp_selfie_jpeg_bytes", len(body["selfie"]) * 3 // 4)
    record("12mp_prepare_in_browser_s", round(prepare_s, 3))
    # Warm engine: the same check again, a few times.
    warm = sorted(verify(desktop) for _ in range(5))
    assert outcome(desktop) == "verified"
    record("12mp_click_to_result_s", round(seconds, 3))
    record("12mp_click_to_result_warm_s", [round(t, 3) for t in warm])
    record("12mp_click_to_result_warm_median_s", round(warm[len(warm) // 2], 3))
    screenshot(desktop, "verified-12mp")


def test_exif_orientation_is_applied(desktop, faces, tmp_path):
    """A phone photo stored sideways with EXIF Orientation=6 is sent upright
    (and without EXIF, since the canvas re-encodes it)."""
    upright = Image.open(faces / "obama2.jpg").convert("RGB")
    stored = upright.rotate(90, expand=True)    # what the sensor wrote
    exif = Image.Exif()
    exif[0x0112] = 6                            # "rotate 90 CW to display"
    path = save_jpeg(stored, tmp_path / "sideways.jpg", exif=exif.tobytes())
    assert ImageOps.exif_transpose(Image.open(path)).size == upright.size
    choose(desktop, "dl", path)
    choose(desktop, "selfie", faces / "obama.jpg")
    with capture_request(desktop) as request:
        verify(desktop)
    sent = decode_jpeg_b64(json.loads(request.value.post_data)["dl"])
    assert sent.size == upright.size, f"sent {sent.size}, upright is {upright.size}"
    assert sameish(sent, upright) < 10 < sameish(sent, upright.rotate(180))
    assert sent.getexif().get(0x0112) in (None, 1)
    assert outcome(desktop) == "verified"


def test_transparent_png_is_sent_as_jpeg(desktop, faces):
    png = faces / "32bit.png"        # obama2.jpg as RGBA
    if not png.exists():
        pytest.skip("32bit.png not in shared faces")
    choose(desktop, "dl", png)
    choose(desktop, "selfie", faces / "obama.jpg")
    with capture_request(desktop) as request:
        verify(desktop)
    assert decode_jpeg_b64(json.loads(request.value.post_data)["dl"]).format == "JPEG"
    assert outcome(desktop) == "verified"


# ------------------------------------------------------------------ keyboard

def test_keyboard_only(desktop, faces):
    def tab_to(element_id, limit=25):
        for _ in range(limit):
            desktop.keyboard.press("Tab")
            if desktop.evaluate("document.activeElement.id") == element_id:
                return
        raise AssertionError(f"Tab never reached #{element_id}")

    tab_to("dl-choose")
    # Visible focus indicator on the focused control.
    assert desktop.evaluate("getComputedStyle(document.activeElement).outlineStyle") != "none"
    with desktop.expect_file_chooser() as chooser:
        desktop.keyboard.press("Enter")
    chooser.value.set_files(str(faces / "obama2.jpg"))
    desktop.wait_for_selector("#dl-preview:not([hidden])")
    tab_to("selfie-choose")
    with desktop.expect_file_chooser() as chooser:
        desktop.keyboard.press("Space")
    chooser.value.set_files(str(faces / "obama.jpg"))
    desktop.wait_for_selector("#selfie-info:text-matches('^Ready')")
    tab_to("verify")
    desktop.keyboard.press("Enter")
    desktop.wait_for_selector("#result:not([hidden])", timeout=RESULT_TIMEOUT_MS)
    assert desktop.evaluate("document.activeElement.id") == "result-title"
    assert outcome(desktop) == "verified"


def test_verify_without_photos_says_what_is_missing(desktop):
    desktop.click("#verify")
    assert desktop.inner_text("#dl-message") == "Add a photo of your identity document first."
    assert desktop.evaluate("document.activeElement.id") == "dl-choose"
    assert desktop.is_hidden("#result")


def test_accessible_names(desktop):
    # Every control has a name; every image with a source has a text alternative.
    unnamed = desktop.evaluate("""() => [...document.querySelectorAll('button, input:not([type=file]), video')]
        .filter(e => !(e.innerText || e.getAttribute('aria-label') || e.labels && e.labels.length))
        .map(e => e.id)""")
    assert not unnamed
    assert desktop.evaluate("[...document.images].every(i => i.hasAttribute('alt'))")
    assert desktop.get_attribute("html", "lang") == "en"
    assert desktop.title() == "Verify your identity"


# ------------------------------------------------------------------ every answer, rendered

ERROR_CASES = [
    # code, status, field, expected start of the message
    ("EMPTY_BODY", 400, None, "The page sent a request the service could not read"),
    ("INVALID_JSON", 400, None, "The page sent a request the service could not read"),
    ("MISSING_FIELD", 400, "dl", "The identity document photo was not sent"),
    ("INVALID_FIELD_TYPE", 400, "selfie", "The selfie photo was damaged on the way"),
    ("INVALID_BASE64", 400, "dl", "The identity document photo was damaged on the way"),
    ("UNSUPPORTED_MEDIA_TYPE", 415, None, "The page sent a request the service could not read"),
    ("BODY_TOO_LARGE", 413, None, "The photos are too large to send together"),
    ("IMAGE_TOO_LARGE", 413, "selfie", "The selfie photo is too large"),
    ("IMAGE_TOO_MANY_PIXELS", 413, "dl", "The identity document photo is too large"),
    ("UNSUPPORTED_IMAGE_FORMAT", 415, "dl", "The identity document is not in a photo format we can read"),
    ("INVALID_IMAGE", 400, "selfie", "The selfie photo could not be read"),
    ("IMAGE_TOO_SMALL", 422, "dl", "The identity document photo is too small"),
    ("NO_FACE", 422, "dl", "No face was found on the identity document"),
    ("NO_FACE", 422, "selfie", "No face was found in the selfie"),
    ("MULTIPLE_FACES", 422, "selfie", "More than one face is in the selfie"),
    ("FACE_TOO_SMALL", 422, "dl", "The face on the identity document is too small"),
    ("FACE_TOO_SMALL", 422, "selfie", "Your face is too small in the selfie"),
    ("FACE_TOO_BLURRY", 422, "selfie", "The selfie is too blurred to compare"),
    ("ENGINE_BUSY", 503, None, "The verification service is busy. Try again in 3 seconds."),
    ("ENGINE_TIMEOUT", 504, None, "The check took too long to finish"),
    ("ENGINE_ERROR", 502, None, "The face comparison failed on our side"),
    ("ENGINE_UNAVAILABLE", 503, None, "The verification service is not available right now"),
    ("INTERNAL_ERROR", 500, None, "Something went wrong on our side"),
    ("UNAUTHORIZED", 401, None, "This page is not allowed to use the verification service"),
    (None, 403, None, "This page is not allowed to use the verification service"),  # API Gateway
    (None, 429, None, "Too many attempts in a short time"),                           # throttling
    (None, 504, None, "The check took too long to finish"),                           # gateway timeout
]


@pytest.fixture
def ready_page(desktop, tmp_path):
    """The page with two (synthetic) photos chosen; answers come from a route
    handler instead of the engine, to show every possible answer."""
    for field in ("dl", "selfie"):
        path = save_jpeg(Image.new("RGB", (320, 240), (200, 150, 120)), tmp_path / f"{field}.jpg")
        choose(desktop, field, path)
    return desktop


def answer_with(page, status, body, headers=None):
    page.unroute("**/ips")
    page.route("**/ips", lambda route: route.fulfill(
        status=status, content_type="application/json",
        headers={"X-Request-Id": "req-123", **(headers or {})},
        body=json.dumps(body)))


def test_every_error_code_shows_a_clear_message(ready_page):
    page = ready_page
    for code, status, field, expected in ERROR_CASES:
        body = {"message": "Forbidden"} if code is None else {
            "code": code, "message": "server text", "request_id": "req-123",
            **({"field": field} if field else {})}
        answer_with(page, status, body, {"Retry-After": "3"} if code == "ENGINE_BUSY" else None)
        verify(page)
        assert outcome(page) == "error"
        message = page.inner_text("#result-message")
        assert message.startswith(expected), (code, field, message)
        assert "server text" not in message
        reference = page.inner_text("#result-reference")
        assert (code or f"HTTP {status}") in reference and "req-123" in reference
        if field:
            assert page.inner_text(f"#{field}-message") == message
        retryable = status >= 500 or status == 429
        assert page.is_visible("#retry") == retryable, code
    # A code added to the API after this page: the server's own message.
    answer_with(page, 422, {"code": "SOMETHING_NEW", "message": "A new rule said no.",
                            "request_id": "req-123"})
    verify(page)
    assert page.inner_text("#result-message") == "A new rule said no."
    page.unroute("**/ips")
    page.route("**/ips", lambda route: route.abort("connectionrefused"))
    verify(page)
    assert page.inner_text("#result-message").startswith("The verification service could not be reached")
    screenshot(page, "error-network")
    page.unroute("**/ips")
    answer_with(page, 503, {"code": "ENGINE_BUSY", "message": "busy", "request_id": "r"},
                {"Retry-After": "2"})
    verify(page)
    screenshot(page, "error-engine-busy")


def test_review_band_is_drawn(ready_page):
    page = ready_page
    face = {"bounding_box": {"left": 0.25, "top": 0.2, "width": 0.5, "height": 0.6}, "confidence": 99.0}
    answer_with(page, 200, {"verified": False, "decision": "review", "similarity": 72.5,
                            "threshold": 80, "review_floor": 60, "engine": "local",
                            "document_face": face, "selfie_face": face, "faces_in_selfie": 1,
                            "request_id": "req-review"})
    verify(page)
    assert outcome(page) == "review"
    assert page.inner_text("#result-title") == "Needs a manual review"
    assert page.is_visible("#zone-review")
    zone = page.locator("#zone-review").bounding_box()
    track = page.locator("#gauge-track").bounding_box()
    assert abs((zone["x"] - track["x"]) / track["width"] - 0.60) < 0.01
    assert abs(zone["width"] / track["width"] - 0.20) < 0.01
    assert "review" in page.get_attribute("#gauge-track", "aria-label")
    box = page.locator("#result-dl-box").bounding_box()
    img = page.locator("#result-dl-img").bounding_box()
    assert abs((box["x"] - img["x"]) / img["width"] - 0.25) < 0.02
    assert abs(box["width"] / img["width"] - 0.5) < 0.02
    screenshot(page, "review-desktop")


def test_page_works_under_a_stage_prefix(desktop, server):
    """Under API Gateway the page lives at /api/: every URL it uses must be
    relative. Here the browser's requests to /api... are served by the local
    server without the prefix, as API Gateway does."""
    base = server.rstrip("/")

    def under_prefix(url: str) -> bool:
        return urlsplit(url).path.startswith("/api")

    def strip_prefix(route):
        parts = urlsplit(route.request.url)
        path = parts.path[len("/api"):] or "/"
        route.continue_(url=urlunsplit(parts._replace(path=path)))

    desktop.route(under_prefix, strip_prefix)
    requested = set()
    desktop.on("request", lambda r: requested.add(urlsplit(r.url).path))
    desktop.goto(base + "/api")          # no trailing slash: the page adds it
    desktop.wait_for_url(base + "/api/")
    desktop.wait_for_load_state("load")
    assert desktop.url == base + "/api/"
    assert desktop.evaluate("new URL(window.ips.endpoint, location.href).pathname") == "/api/ips"
    assert desktop.evaluate(
        "new URL(window.ips.documentsEndpoint, location.href).pathname") == "/api/documents"
    # Containment, not order: before the redirect the browser's preload
    # scanner may or may not fetch /static/... for the first document (it
    # fails harmlessly and is abandoned), and the order in which Playwright
    # reports requests of two documents is not part of any contract.
    modules = {f"/api/static/js/{path.name}" for path in JS_DIR.glob("*.js")}
    assert {"/api/", "/api/static/style.css"} | modules <= requested, requested
    # What the page at /api/ itself loaded (its own resource timing entries,
    # not the abandoned first document's): everything under the prefix.
    loaded = desktop.evaluate("""() => performance.getEntriesByType('resource')
        .map(e => new URL(e.name)).filter(u => u.protocol.startsWith('http'))
        .map(u => u.pathname)""")
    assert {"/api/static/style.css"} | modules <= set(loaded), loaded
    assert all(path.startswith("/api/") for path in loaded), loaded
    # The stylesheet applied (a request that went to /static/... would 404).
    assert desktop.evaluate("getComputedStyle(document.body).backgroundColor") == "rgb(244, 246, 248)"


def test_live_selfie_only_mode(desktop, server):
    """<meta name="ips-selfie-file" content="no">: no selfie from a file; with
    no camera the page says one is needed."""
    def add_meta(route):
        response = route.fetch()
        html = response.text().replace(
            '<meta name="ips-endpoint" content="ips">',
            '<meta name="ips-endpoint" content="ips">\n<meta name="ips-selfie-file" content="no">')
        route.fulfill(response=response, body=html)

    desktop.route(server, add_meta)
    desktop.goto(server)
    desktop.wait_for_selector("#selfie-message.is-error")
    assert desktop.is_hidden("#selfie-choose")
    assert desktop.is_disabled("#selfie-camera-start")
    assert desktop.inner_text("#selfie-message").startswith("A camera is needed to take the selfie")
    assert desktop.is_visible("#dl-choose"), "the document may still come from a file"


def test_heic_photo_the_browser_cannot_read_is_sent_as_it_is(desktop, faces, tmp_path):
    """Chromium cannot decode HEIC; the service converts it. The page sends
    the file unchanged (no preview) and still shows the result."""
    pillow_heif = pytest.importorskip("pillow_heif")
    pillow_heif.register_heif_opener()
    path = tmp_path / "document.heic"
    Image.open(faces / "obama2.jpg").convert("RGB").save(path, "HEIF", quality=80)
    choose(desktop, "dl", path)
    assert "cannot show this format" in desktop.inner_text("#dl-info")
    choose(desktop, "selfie", faces / "obama.jpg")
    with capture_request(desktop) as request:
        verify(desktop)
    import base64
    sent = base64.b64decode(json.loads(request.value.post_data)["dl"])
    assert sent == path.read_bytes()
    assert outcome(desktop) == "verified", desktop.inner_text("#result")
    assert desktop.is_hidden("#result-dl-img")
    assert "cannot show the photo" in desktop.inner_text("#result-dl-caption")
    assert desktop.is_visible("#result-selfie-box")
    screenshot(desktop, "verified-heic-document")
    assert_no_page_errors(desktop)


def test_a_file_that_is_not_a_photo_is_refused_at_once(desktop, tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("not a photo")
    with desktop.expect_file_chooser() as chooser:
        desktop.click("#dl-choose")
    chooser.value.set_files(str(path))
    desktop.wait_for_selector("#dl-message.is-error")
    assert desktop.inner_text("#dl-message").startswith("This file could not be read as a photo")
    assert desktop.is_hidden("#dl-preview")
