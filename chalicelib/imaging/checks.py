"""Checks a decoded image before anything decodes its pixels: a format we can
read, a readable header, and pixel dimensions within Rekognition's minimum and
a decompression-bomb ceiling. Only the header is parsed here (Pillow opens
lazily for every format accepted); chalicelib.image_normalise then converts
what the engines cannot take as is.

Formats are recognised by their magic bytes, and each is opened only by its
own Pillow plugin, so a polyglot or mislabelled file never reaches a decoder
it was not meant for, and formats we do not list are 415 even though Pillow
could open them. Accepted: JPEG, PNG, WebP, HEIC/HEIF, AVIF -- what phones
and browsers capture. GIF, BMP and TIFF are refused (415
UNSUPPORTED_IMAGE_FORMAT, issue 17): no identity capture needs them, and
each decoder accepted is attack surface; so are PSD, ICO, EPS, ...)."""

from __future__ import annotations

import io
import struct
import threading
import warnings
import zlib
from collections.abc import Iterator
from contextlib import contextmanager

from PIL import Image as PILImage
from PIL import UnidentifiedImageError

from chalicelib.core import errors
from chalicelib.core.errors import invalid_image
from chalicelib.core.limits import MAX_PIXELS, MIN_SIDE_PX
from chalicelib.imaging.image import Image

# Pillow's own guard raises at 2x this; ours (MAX_PIXELS) is stricter, so the
# global only has to stay above it. Set here so every decode in the process
# (including the offline engine's) is bounded even if a check were bypassed.
PILImage.MAX_IMAGE_PIXELS = MAX_PIXELS

_SIGNATURES = (
    (b"\xff\xd8\xff", "JPEG"),
    (b"\x89PNG\r\n\x1a\n", "PNG"),
)
# ISO-BMFF brands (the bytes after "ftyp") of HEIF/HEIC stills and AVIF.
_HEIF_BRANDS = {b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1"}
_AVIF_BRANDS = {b"avif", b"avis"}

_heif_lock = threading.Lock()
_heif_state: bool | None = None  # None: not tried yet


def heif_available() -> bool:
    """Register pillow-heif's opener on first use (its import costs ~60 ms,
    which no JPEG/PNG request should pay). False if it is not installed."""
    global _heif_state
    if _heif_state is None:
        with _heif_lock:
            if _heif_state is None:
                try:
                    from pillow_heif import register_heif_opener

                    register_heif_opener(thumbnails=False)
                    _heif_state = True
                except ImportError:
                    _heif_state = False
    return _heif_state


# Every way a Pillow plugin reports a file it cannot parse or decode.
DECODE_ERRORS = (
    UnidentifiedImageError,
    OSError,
    SyntaxError,
    ValueError,
    EOFError,
    struct.error,
    KeyError,
    IndexError,
    TypeError,
    RuntimeError,
)


@contextmanager
def open_image(data: bytes, fmt: str, field: str) -> Iterator[PILImage.Image]:
    """Open `data` with `fmt`'s plugin only, plugin warnings silenced; a
    decoder failure inside the block becomes 400 INVALID_IMAGE for `field`.
    DecompressionBombError is left to the caller."""
    if fmt == "HEIF":
        heif_available()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # DecompressionBombWarning, plugin chatter
            with PILImage.open(io.BytesIO(data), formats=[fmt]) as img:
                yield img
    except DECODE_ERRORS:
        raise invalid_image(field) from None


def sniff_format(data: bytes) -> str:
    """The format name Pillow knows the image by, or "" if not one we read."""
    for signature, name in _SIGNATURES:
        if data.startswith(signature):
            return name
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WEBP"
    if data[4:8] == b"ftyp":
        brand = data[8:12]
        if brand in _AVIF_BRANDS:
            return "AVIF"
        if brand in _HEIF_BRANDS:
            # "mif1"/"msf1" are generic; the compatible brands tell AVIF apart.
            box_end = min(int.from_bytes(data[:4], "big"), 64)
            if b"avif" in data[16:box_end] and b"heic" not in data[16:box_end]:
                return "AVIF"
            return "HEIF"
    return ""


def check_image(data: bytes, field: str) -> Image:
    """Return the image as received (format: the container format, size as
    stored) or raise ApiError. Never decodes pixels."""
    fmt = sniff_format(data)
    if fmt == "HEIF" and not heif_available():
        fmt = ""
    if not fmt:
        raise errors.unsupported_image_format(field)
    try:
        with open_image(data, fmt, field) as img:
            width, height = img.size
            truncated = _looks_truncated(img, data, fmt)
    except PILImage.DecompressionBombError:
        raise errors.image_too_many_pixels(field) from None
    if width <= 0 or height <= 0:
        raise invalid_image(field)
    if width * height > MAX_PIXELS:
        raise errors.image_too_many_pixels(field)
    if min(width, height) < MIN_SIDE_PX:
        raise errors.image_too_small(field, width, height)
    if truncated:
        raise invalid_image(field)
    return Image(data=data, format=fmt, width=width, height=height, field=field)


def _looks_truncated(img: PILImage.Image, data: bytes, fmt: str) -> bool:
    """Cheap whole-file checks for the formats passed to engines without a
    decode. A JPEG must have an end-of-image marker after the start of its
    scan data (an EXIF thumbnail's marker comes before it; data appended after
    it, as in motion photos, is harmless). A PNG's chunks must all be complete
    with correct checksums up to IEND (zlib.crc32: ~1 ms per MB). Corruption
    inside a JPEG's compressed data is left to the decoders."""
    if fmt == "JPEG":
        # Pillow's JPEG plugin sets `tile` (the scan's offset) on open.
        tiles = getattr(img, "tile", None)
        fp = getattr(img, "fp", None)  # ImageFile's, not on Image's type in Pillow 13
        scan_start = int(tiles[0][2]) if tiles else (fp.tell() if fp else 0)
        return data.rfind(b"\xff\xd9") < scan_start
    if fmt == "PNG":
        return not _png_chunks_intact(data)
    return False


_MAX_PNG_CHUNKS = 100_000  # real encoders write a few hundred at most


def _png_chunks_intact(data: bytes) -> bool:
    pos, end = 8, len(data)
    for _ in range(_MAX_PNG_CHUNKS):
        if pos + 12 > end:
            return False
        length = int.from_bytes(data[pos : pos + 4], "big")
        body_end = pos + 8 + length
        if body_end + 4 > end:
            return False
        if zlib.crc32(data[pos + 4 : body_end]) != int.from_bytes(
            data[body_end : body_end + 4], "big"
        ):
            return False
        if data[pos + 4 : pos + 8] == b"IEND":
            return True
        pos = body_end + 4
    return False
