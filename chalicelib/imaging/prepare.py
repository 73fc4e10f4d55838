"""The one path from uploaded bytes to the image an engine compares: the
header checks (chalicelib.image_checks), then normalisation
(chalicelib.image_normalise). The service, the calibration and benchmark
scripts and the tests all go through it, so they see exactly the same images."""

from __future__ import annotations

from chalicelib.imaging.checks import check_image
from chalicelib.imaging.image import Image
from chalicelib.imaging.normalise import normalise


def prepare(data: bytes, field: str) -> Image:
    """Check and normalise one image, or raise the ApiError a request would get."""
    return normalise(check_image(data, field))
