"""Helpers for the browser tests (tests/system/browser): paths, Chromium launch, images."""
from __future__ import annotations

import base64
import io
import os
import shutil
import time
from pathlib import Path

from PIL import Image, ImageDraw

REPO = Path(__file__).resolve().parents[2]
FACES = REPO.parent / "shared" / "faces"
ARTIFACTS = REPO / "artifacts"
SCREENSHOTS = ARTIFACTS / "screenshots"

# Failure guard only: how long a test waits for the result panel before it
# fails (a busy machine is slow; a correct page always gets there).
RESULT_TIMEOUT_MS = 120_000

CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage"]


def find_chromium() -> str | None:
    explicit = os.environ.get("IPS_E2E_CHROMIUM")
    if explicit:
        return explicit if os.access(explicit, os.X_OK) else None
    for path in CHROMIUM_CANDIDATES:
        if os.access(path, os.X_OK):
            return path
    return shutil.which("chromium")


CHROMIUM = find_chromium()


def launch(playwright, extra_args=()):
    # Playwright gives every launch a fresh temporary user-data-dir (profile).
    return playwright.chromium.launch(
        executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS + list(extra_args))


def open_page(browser, url, viewport=(1280, 900), **context_args):
    """A new context and page at url; page.errors collects console errors and
    uncaught exceptions."""
    context = browser.new_context(
        viewport={"width": viewport[0], "height": viewport[1]}, **context_args)
    # Failure guards, not expectations: generous, so a loaded machine is slow
    # but never fails a correct page.
    context.set_default_timeout(60_000)
    context.set_default_navigation_timeout(60_000)
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda exc: errors.append(f"pageerror: {exc}"))
    page.on("console", lambda msg: errors.append(f"console: {msg.text}")
            if msg.type == "error" else None)
    page.errors = errors
    # Intercept file choosers from the start: expect_file_chooser() alone
    # turns interception on asynchronously and can miss a chooser opened by a
    # key press right after it.
    page.on("filechooser", lambda chooser: None)
    # goto waits for "load", which comes after the page's modules (deferred) have run.
    # (The page's CSP forbids eval, so the tests wait on selectors, not on
    # wait_for_function polling.)
    page.goto(url)
    assert page.evaluate("typeof window.ips") == "object", "the page's script (static/js/main.js) did not run"
    return context, page


def save_jpeg(img: Image.Image, path: Path, **kwargs) -> Path:
    img.convert("RGB").save(path, "JPEG", **{"quality": 92, **kwargs})
    return path


def no_face_image(path: Path) -> Path:
    """A landscape with no face: sky, hills, a sun, a house."""
    img = Image.new("RGB", (900, 600), (135, 190, 235))
    d = ImageDraw.Draw(img)
    d.polygon([(0, 420), (250, 300), (520, 400), (900, 280), (900, 600), (0, 600)], fill=(70, 140, 60))
    d.ellipse((700, 60, 800, 160), fill=(250, 220, 60))
    d.rectangle((150, 380, 330, 520), fill=(190, 80, 60))
    d.polygon([(140, 380), (240, 300), (340, 380)], fill=(120, 50, 40))
    d.rectangle((220, 440, 260, 520), fill=(90, 60, 40))
    return save_jpeg(img, path)


def y4m_from_photo(photo: Path, path: Path, size=(1280, 720), frames: int = 10) -> Image.Image:
    """A Y4M (YUV 4:2:0) video for Chromium's fake camera: the photo fitted
    into the frame on a grey background, repeated. Returns the frame."""
    frame = Image.new("RGB", size, (110, 110, 110))
    src = Image.open(photo).convert("RGB")
    src.thumbnail(size, Image.LANCZOS)
    frame.paste(src, ((size[0] - src.width) // 2, (size[1] - src.height) // 2))
    y, cb, cr = frame.convert("YCbCr").split()
    half = (size[0] // 2, size[1] // 2)
    planes = (y.tobytes() + cb.resize(half, Image.BILINEAR).tobytes()
              + cr.resize(half, Image.BILINEAR).tobytes())
    with open(path, "wb") as f:
        f.write(f"YUV4MPEG2 W{size[0]} H{size[1]} F30:1 Ip A1:1 C420jpeg\n".encode())
        for _ in range(frames):
            f.write(b"FRAME\n" + planes)
    return frame


def decode_jpeg_b64(data: str) -> Image.Image:
    return Image.open(io.BytesIO(base64.b64decode(data)))


def choose(page, field: str, path: Path) -> None:
    """Pick a file the way a person does: the button opens the file chooser."""
    with page.expect_file_chooser() as chooser:
        page.click(f"#{field}-choose")
    chooser.value.set_files(str(path))
    page.wait_for_selector(f"#{field}-preview:not([hidden])")
    page.wait_for_selector(f"#{field}-info:text-matches('^Ready')")


def verify(page) -> float:
    """Click "Verify" and wait for the result panel; seconds from click to result."""
    start = time.perf_counter()
    page.click("#verify")
    page.wait_for_selector("#result:not([hidden])", timeout=RESULT_TIMEOUT_MS)
    return time.perf_counter() - start


def outcome(page) -> str:
    return page.get_attribute("#result", "data-outcome")


def wait_until(page, condition, timeout_s: float = 60) -> None:
    """Let Playwright dispatch events (route handlers, listeners) until
    condition() is true; fail after timeout_s. A condition, not a duration."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "condition not reached"
        page.wait_for_timeout(20)
