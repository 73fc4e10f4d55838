"""Checks a decoded image before any engine sees it: a format both engines
take (JPEG or PNG, as Rekognition requires), readable header, and pixel
dimensions within Rekognition's minimum and a decompression-bomb ceiling.
Only the header is parsed here; pixels are decoded by the engine, once."""
from __future__ import annotations

import io
import warnings

from PIL import Image as PILImage, UnidentifiedImageError

from chalicelib.engine import Image
from chalicelib.errors import ApiError, invalid_image

MIN_SIDE_PX = 80                 # Rekognition's minimum
MAX_PIXELS = 50_000_000          # far above any phone camera; blocks bombs
_SIGNATURES = ((b"\xff\xd8\xff", "JPEG"), (b"\x89PNG\r\n\x1a\n", "PNG"))


def sniff_format(data: bytes) -> str:
    for signature, name in _SIGNATURES:
        if data.startswith(signature):
            return name
    return ""


def check_image(data: bytes, field: str) -> Image:
    fmt = sniff_format(data)
    if not fmt:
        raise ApiError(415, "UNSUPPORTED_IMAGE_FORMAT",
                       "The image must be a JPEG or PNG file.", field)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", PILImage.DecompressionBombWarning)
            with PILImage.open(io.BytesIO(data), formats=[fmt]) as img:
                width, height = img.size
    except PILImage.DecompressionBombError:
        raise _too_many_pixels(field) from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        raise invalid_image(field) from None
    if width * height > MAX_PIXELS:
        raise _too_many_pixels(field)
    if min(width, height) < MIN_SIDE_PX:
        raise ApiError(422, "IMAGE_TOO_SMALL",
                       f"The image is {width}x{height} px; it must be at least "
                       f"{MIN_SIDE_PX}x{MIN_SIDE_PX}.", field)
    return Image(data=data, format=fmt, width=width, height=height, field=field)


def _too_many_pixels(field: str) -> ApiError:
    return ApiError(413, "IMAGE_TOO_MANY_PIXELS",
                    f"The image has more than {MAX_PIXELS} pixels; downscale it.", field)
