"""The curl examples of the docs, run as written (issue 8, section 5).

Every ```sh block in docs/api.md and README.md that calls curl on
http://127.0.0.1:8000/ips is a curl example. Each one runs with POSIX sh in
a directory holding `licence.jpg` (a photo over 2 MB, as phones take them)
and `me.jpg`, against a real `chalice local --stage local` server; only the
server's address is changed. The answer must be the 200 verdict JSON."""
from __future__ import annotations

import io
import json
import re
import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.support.face_images import REPO, astronaut, astronaut_card, fs
from tests.support.local_server import running_server

DOCUMENTED_URL = "http://127.0.0.1:8000"
SOURCES = ("docs/api.md", "README.md")
FENCE = re.compile(r"^```(?:sh|shell|bash)[^\n]*\n(.*?)^```", re.M | re.S)


def curl_examples(relative: str) -> list[str]:
    text = (REPO / relative).read_text(encoding="utf-8")
    return [block for block in FENCE.findall(text)
            if re.search(r"\bcurl\b", block) and f"{DOCUMENTED_URL}/ips" in block]


def large_licence_photo() -> bytes:
    """A phone photo of the ID card: upscaled to 3200 px wide, with (seeded)
    sensor noise, JPEG quality 95: about 2.7 MB, under the 5 MB limit."""
    card = Image.open(io.BytesIO(astronaut_card())).convert("RGB")
    size = (3200, round(3200 * card.height / card.width))
    photo = np.asarray(card.resize(size, Image.LANCZOS), dtype=np.float32)
    noise = np.random.default_rng(8).normal(0, 12, photo.shape[:2])[..., None]
    noisy = Image.fromarray(np.clip(photo + noise, 0, 255).astype(np.uint8))
    out = io.BytesIO()
    noisy.save(out, "JPEG", quality=95)
    return out.getvalue()


@pytest.fixture(scope="module")
def photos(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("curl")
    licence = large_licence_photo()
    assert 2 * 1024 * 1024 <= len(licence) <= 4 * 1024 * 1024, len(licence)
    (folder / "licence.jpg").write_bytes(licence)
    (folder / "me.jpg").write_bytes(fs.jpeg_bytes(astronaut()))
    return folder


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> str:
    log = tmp_path_factory.mktemp("curl-server") / "server.log"
    with running_server(log) as base:
        yield base


def run_sh(command: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(["sh", "-c", command], cwd=cwd, capture_output=True, text=True,
                          timeout=300)


def test_docs_api_has_a_curl_example():
    assert curl_examples("docs/api.md"), "docs/api.md: no ```sh block with curl on /ips"


@pytest.mark.parametrize("source", SOURCES)
def test_documented_curl_examples_work_with_a_large_photo(source, photos, server):
    examples = curl_examples(source)
    if not examples:
        pytest.skip(f"{source} has no curl example on /ips")
    for example in examples:
        assert "licence.jpg" in example and "me.jpg" in example, example
        result = run_sh(example.replace(DOCUMENTED_URL, server), photos)
        assert result.returncode == 0, (example, result.stderr)
        assert "Argument list too long" not in result.stderr
        answer = json.loads(result.stdout)
        # The 200 verdict (an error answer has "code" and no "decision").
        assert "code" not in answer, answer
        assert answer["decision"] == "match" and answer["verified"] is True, answer
        assert answer["engine"] == "local"


def test_the_old_command_line_form_fails_for_the_same_photo(photos):
    """Why the docs stream the body: the base64 of one photo inside one
    argument is over the 128 KB limit of a single argument."""
    old = ('curl -s http://127.0.0.1:9/ips -H "Content-Type: application/json" '
           '-d "{\\"dl\\": \\"$(base64 -w0 licence.jpg)\\", \\"selfie\\": \\"$(base64 -w0 me.jpg)\\"}"')
    result = run_sh(old, photos)
    assert result.returncode != 0
    assert "Argument list too long" in result.stderr
