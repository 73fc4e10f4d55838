"""The guided reader's geometry (chalicelib/documents/portrait.py) and the
MRZ zone finder (mrz_zone.py) on synthetic pages; no OCR model."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image as PILImage

pytest.importorskip("cv2", reason="OpenCV (requirements-local.txt) not installed")

from chalicelib.documents.mrz_zone import find_mrz_rows
from chalicelib.documents.portrait import Portrait, fields_band, mrz_band, tilt_from_eyes, upright
from tests.support.document_images import make_document


def _bgr(jpeg: bytes) -> np.ndarray:
    with PILImage.open(io.BytesIO(jpeg)) as opened:
        return np.ascontiguousarray(np.asarray(opened.convert("RGB"))[:, :, ::-1])


def test_tilt_from_eyes_sign_and_size():
    assert tilt_from_eyes((100, 100), (200, 100)) == pytest.approx(0)
    assert tilt_from_eyes((100, 100), (200, 110)) == pytest.approx(5.71, abs=0.01)
    assert tilt_from_eyes((100, 110), (200, 100)) == pytest.approx(-5.71, abs=0.01)


def test_bands_sit_below_and_beside_the_face():
    face = Portrait(0, 0.0, left=100, top=150, right=200, bottom=280)
    top, bottom = mrz_band(face, 640)
    assert face.top < top < face.bottom and bottom == 640
    left, ftop, right, fbottom = fields_band(face, 1000, 640)
    assert left > face.right and right == 1000
    assert ftop < face.top and face.bottom < fbottom <= 640


def test_bands_stay_inside_the_page():
    face = Portrait(0, 0.0, left=10, top=5, right=60, bottom=70)
    assert fields_band(face, 100, 90) == (70, 0, 100, 90)


def test_upright_turns_and_levels_without_moving_the_face():
    page = np.zeros((60, 100, 3), np.uint8)
    page[10:20, 30:40] = 255
    assert upright(page, Portrait(0, 0.5, 0, 0, 10, 10)) is page  # nothing to do
    turned = upright(page, Portrait(1, 0.0, 0, 0, 10, 10))
    assert turned.shape == (100, 60, 3)
    levelled = upright(page, Portrait(0, 10.0, 30, 10, 40, 20))
    assert levelled.shape == page.shape
    assert levelled[15, 35].min() == 255  # the centre of rotation stays put


@pytest.mark.parametrize("kind", ["TD1", "TD3"])
def test_the_mrz_zone_is_found_around_the_mrz(kind):
    doc = make_document(11, kind, strength=0.5)
    page = _bgr(doc.jpeg)
    band_top = page.shape[0] // 3
    zone = find_mrz_rows(page[band_top:])
    assert zone is not None
    mrz_top = 440 if kind == "TD1" else 700  # where the generator draws it
    assert band_top + zone[0] <= mrz_top + 10
    assert band_top + zone[1] >= page.shape[0] * 0.85


def test_a_licence_has_no_mrz_zone():
    page = _bgr(make_document(11, "US_DL", strength=0.5).jpeg)
    assert find_mrz_rows(page[page.shape[0] // 3:]) is None
    assert find_mrz_rows(np.full((5, 5, 3), 255, np.uint8)) is None
    assert find_mrz_rows(np.full((200, 400, 3), 255, np.uint8)) is None
