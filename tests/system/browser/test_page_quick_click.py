"""Issue 8, section 3: a click on "Verify my identity" right after choosing
the photos, while they are still being prepared (decoded and downscaled in
the browser), waits for them and then verifies. It never asks for a photo
the person has just given.

The race is forced, not left to luck: an init script holds every
canvas.toBlob() answer (the last step of preparing a photo) until the test
releases it, so the click always lands while both photos are in preparation.
"""
from __future__ import annotations

import json

import pytest
from PIL import Image

from tests.support.browser import RESULT_TIMEOUT_MS, decode_jpeg_b64, outcome

# Holds canvas.toBlob callbacks until window.__releasePhotos() is called.
HOLD_PREPARATION = """
(() => {
  const held = [];
  let released = false;
  const toBlob = HTMLCanvasElement.prototype.toBlob;
  HTMLCanvasElement.prototype.toBlob = function (callback, ...rest) {
    toBlob.call(this, (blob) => released ? callback(blob) : held.push(() => callback(blob)),
                ...rest);
  };
  window.__releasePhotos = () => { released = true; held.splice(0).forEach((f) => f()); };
})();
"""


def _posts(page) -> list:
    posts: list = []
    page.on("request", lambda r: posts.append(r)
            if r.method == "POST" and r.url.endswith("/ips") else None)
    return posts


@pytest.mark.parametrize("held", [True, False], ids=["preparation-held", "as-fast-as-it-goes"])
def test_immediate_click_waits_for_the_photos_then_verifies(desktop, faces, held):
    page = desktop
    if held:
        page.add_init_script(HOLD_PREPARATION)
        page.reload()
        assert page.evaluate("typeof window.__releasePhotos") == "function"
    posts = _posts(page)
    page.set_input_files("#dl-file", str(faces / "obama2.jpg"))
    page.set_input_files("#selfie-file", str(faces / "obama.jpg"))
    page.click("#verify")
    if held:
        # Both photos are certainly still in preparation: the button says it
        # is busy, nothing asks for a photo, nothing has been sent.
        # (The click handler ran during the click: its effects are there now.)
        assert "first" not in page.inner_text("#dl-message")
        assert "first" not in page.inner_text("#selfie-message")
        assert page.get_attribute("#verify", "aria-busy") == "true"
        assert page.get_attribute("#verify", "aria-disabled") == "true"
        assert page.inner_text("#status") == "Preparing your photos\u2026"
        page.click("#verify", force=True)          # an impatient second click
        assert not posts
        page.evaluate("window.__releasePhotos()")
    page.wait_for_selector("#result:not([hidden])", timeout=RESULT_TIMEOUT_MS)
    assert outcome(page) == "verified", page.inner_text("#result")
    assert page.inner_text("#selfie-message") == "" and page.inner_text("#dl-message") == ""
    # One request, carrying the two photos just given.
    assert len(posts) == 1
    body = json.loads(posts[0].post_data)
    for field, name in (("dl", "obama2.jpg"), ("selfie", "obama.jpg")):
        with Image.open(faces / name) as original:
            scale = min(1, 1600 / max(original.size))
            expected = tuple(max(1, round(side * scale)) for side in original.size)
        assert decode_jpeg_b64(body[field]).size == expected, field
    assert page.get_attribute("#verify", "aria-busy") is None
    assert page.get_attribute("#verify", "aria-disabled") is None

