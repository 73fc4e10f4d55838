"""The liveness island's face-detection model (issue 20) is MediaPipe's
short-range BlazeFace, converted by web/face-model.mjs from the TFLite file
that @mediapipe/face_detection ships, so nothing is fetched from a CDN. Run
on TF.js (CPU backend, Node: web/check-face-model.cjs) as the component runs
it, it finds real faces and none in a landscape.

Needs Node and `make liveness` (make test builds it); faces from ../shared."""
from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from chalicelib.http.static_assets import STATIC_DIR
from tests.support.browser import FACES, REPO, no_face_image

CHECK = REPO / "web" / "check-face-model.cjs"
MODEL = STATIC_DIR / "liveness" / "face-model.json"

pytestmark = [
    pytest.mark.skipif(shutil.which("node") is None, reason="node not installed"),
    pytest.mark.skipif(not MODEL.is_file() or not (REPO / "web" / "node_modules").is_dir(),
                       reason="liveness island not built: run `make liveness`"),
]


def detector_input(photo: Path, path: Path) -> Path:
    """The photo as the detector sees it: letterboxed into 128x128, [-1, 1]."""
    img = Image.open(photo).convert("RGB")
    side = max(img.size)
    square = Image.new("RGB", (side, side))
    square.paste(img, ((side - img.width) // 2, (side - img.height) // 2))
    pixels = np.asarray(square.resize((128, 128), Image.BILINEAR), dtype=np.float32)
    (pixels / 127.5 - 1.0)[None].astype(np.float32).tofile(path)
    return path


def detect(photo: Path, tmp_path: Path) -> dict:
    raw = detector_input(photo, tmp_path / (photo.stem + ".f32"))
    done = subprocess.run(["node", str(CHECK), str(raw)], capture_output=True, text=True,
                          check=True, timeout=300)
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("name", ["obama.jpg", "biden.jpg", "alex-lacamoire.png"])
def test_finds_a_real_face(name, tmp_path):
    photo = FACES / "face_recognition" / name
    if not photo.exists():
        pytest.skip(f"{photo} not found (shared/faces beside the repo)")
    found = detect(photo, tmp_path)
    assert found["shape"] == [1, 896, 17]
    assert found["best_score"] > 0.75, found


def test_finds_no_face_in_a_landscape(tmp_path):
    found = detect(no_face_image(tmp_path / "landscape.jpg"), tmp_path)
    assert found["best_score"] < 0.5, found
