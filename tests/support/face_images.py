"""Real face photos for the offline-engine tests.

Always available: scikit-image's public-domain astronaut image (shipped in the
scikit-image package) and images made from it (scripts/face_samples.py): crops,
rotations, an EXIF-rotated copy, an ID-card composite. When ../shared/faces
exists next to the repository: labelled photos of real people (never copied
into the repository); tests that need them skip with a reason otherwise."""
from __future__ import annotations

import functools
from pathlib import Path

import pytest
from PIL import Image as PILImage

from chalicelib.imaging.image import Image
from chalicelib.imaging.prepare import prepare
from scripts.eval import face_samples as fs

REPO = Path(__file__).resolve().parents[2]
SHARED_FACES = REPO.parent / "shared" / "faces"

needs_shared_faces = pytest.mark.skipif(
    not (SHARED_FACES / "pairs.csv").exists(),
    reason=f"labelled face photos not found at {SHARED_FACES}")


@functools.cache
def astronaut() -> PILImage.Image:
    from skimage import data
    return PILImage.fromarray(data.astronaut())


def engine_image(data: bytes, field: str) -> Image:
    """The engine's image for these bytes, made as the service makes it."""
    return prepare(data, field)


def as_document(img_or_bytes) -> Image:
    data = img_or_bytes if isinstance(img_or_bytes, bytes) else fs.jpeg_bytes(img_or_bytes)
    return engine_image(data, "dl")


def as_selfie(img_or_bytes) -> Image:
    data = img_or_bytes if isinstance(img_or_bytes, bytes) else fs.jpeg_bytes(img_or_bytes)
    return engine_image(data, "selfie")


def shared(path: str, field: str) -> Image:
    return engine_image((SHARED_FACES / path).read_bytes(), field)


def astronaut_card(portrait_height: int = 240, quality: int = 85) -> bytes:
    portrait = fs.portrait_crop(astronaut(), fs.ASTRONAUT_FACE)
    return fs.jpeg_bytes(fs.id_card(portrait, portrait_height=portrait_height), quality)


def no_face_photo() -> PILImage.Image:
    from skimage import data
    return PILImage.fromarray(data.coffee())    # a cup of coffee on a table
