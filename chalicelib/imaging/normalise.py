"""Turns a checked image (chalicelib.image_checks) into what both engines take:
JPEG or PNG bytes, upright, within Rekognition's 5 MB, and no larger than face
comparison can use.

Fast path: a JPEG (RGB or greyscale) or 8-bit PNG without transparency, with
no EXIF rotation and a long side within MAX_LONG_SIDE, is passed on as the
very same bytes: no decode, no re-encode, no quality loss. That is what phone
cameras and browsers send, so almost every request takes it.

Everything else is decoded once and re-encoded once as JPEG:
- HEIC/HEIF, AVIF, WebP: converted (GIF, BMP and TIFF never get here:
  chalicelib/image_checks.py refuses them).
- EXIF orientation is applied to the pixels first. Rekognition reads EXIF
  orientation only in JPEGs, and how its boxes relate to it has changed
  across API versions (OrientationCorrection is deprecated); rotating the
  pixels ourselves means Rekognition, the offline engine and a browser
  displaying the photo all agree on "upright", whatever the format.
- CMYK (through its ICC profile when it has one), 16-bit and float, palette,
  bilevel: converted to 8-bit RGB or greyscale; transparency is flattened
  onto white (how Rekognition treats alpha is not documented; flattening
  makes it defined, and the same for both engines).
- A long side over MAX_LONG_SIDE is scaled down to it (JPEGs are decoded at a
  reduced DCT scale instead when that keeps the long side at least
  DRAFT_MIN_SIDE: 3072-4096 px out, several times faster).
  Why 4096: Rekognition documents its minimum face (40x40 px) for a
  1920x1080 image and says larger images need proportionally larger faces,
  so resolution beyond about twice that buys nothing; 4096 keeps a 12 MP
  phone photo (4032x3024) on the fast path and only reduces 48 MP and larger,
  where an ID card's portrait still keeps far more pixels than either
  engine's minimum face.
- The re-encode drops all metadata (EXIF GPS position, camera serial): the
  engines need none of it.

The output is guaranteed to fit Rekognition's 5 MB; a pathological image
(noise) that does not at quality 90 is re-encoded at lower quality, then
smaller, until it does."""

from __future__ import annotations

import io

from PIL import Image as PILImage
from PIL import ImageOps

from chalicelib.core.limits import MAX_IMAGE_BYTES as ENGINE_MAX_BYTES
from chalicelib.core.limits import MAX_LONG_SIDE, MIN_SIDE_PX
from chalicelib.imaging.checks import open_image
from chalicelib.imaging.image import Image

# Large JPEGs are decoded at a reduced DCT scale only if the long side stays
# at least this; below it they are decoded in full and resized to MAX_LONG_SIDE.
DRAFT_MIN_SIDE = 3 * MAX_LONG_SIDE // 4
JPEG_QUALITY = 90
_FALLBACK_QUALITIES = (80, 70)
_EXIF_ORIENTATION = 0x0112
_FAST_MODES = {"JPEG": ("RGB", "L"), "PNG": ("RGB", "L", "P")}


def normalise(image: Image) -> Image:
    """Return `image` itself (fast path) or a re-encoded upright JPEG copy.
    Raises ApiError 400 INVALID_IMAGE if the pixels cannot be decoded."""
    with open_image(image.data, image.format, image.field) as img:
        if _passes_as_is(img, image):
            return image
        pixels = _decode(img)
        data = _encode(pixels)  # inside: pixels may share the open image's memory
    return Image(
        data=data, format="JPEG", width=pixels.width, height=pixels.height, field=image.field
    )


def _orientation(img: PILImage.Image) -> int:
    # JPEG EXIF is parsed at open; for other formats only what the header
    # already read is looked at (PNG getexif() would decode the whole file).
    exif_bytes = img.info.get("exif")
    if img.format == "JPEG" or exif_bytes:
        try:
            if img.format == "JPEG":
                exif = img.getexif()
            else:
                exif = PILImage.Exif()
                exif.load(bytes(exif_bytes or b""))
            return int(exif.get(_EXIF_ORIENTATION, 1) or 1)
        except Exception:  # unreadable EXIF: treat as upright, as browsers do
            return 1
    return 1


def _passes_as_is(img: PILImage.Image, image: Image) -> bool:
    if img.mode not in _FAST_MODES.get(image.format, ()):
        return False
    if max(img.size) > MAX_LONG_SIDE or len(image.data) > ENGINE_MAX_BYTES:
        return False
    if image.format == "PNG":
        bit_depth = image.data[24]
        if bit_depth > 8 or "transparency" in img.info:
            return False
    return _orientation(img) in (1, 0)


def _target_size(width: int, height: int) -> tuple[int, int]:
    scale = min(1.0, MAX_LONG_SIDE / max(width, height))
    # Never let a very elongated image's short side fall under the minimum.
    scale = max(scale, min(1.0, MIN_SIDE_PX / min(width, height)))
    return max(1, round(width * scale)), max(1, round(height * scale))


def _decode(img: PILImage.Image) -> PILImage.Image:
    """Decode the first frame, upright, 8-bit RGB or L, at most MAX_LONG_SIDE."""
    long_side = max(img.size)
    if img.format == "JPEG" and long_side // 2 >= DRAFT_MIN_SIDE:
        # DCT scaling: decode at 1/2, 1/4 or 1/8 while the long side stays at
        # least DRAFT_MIN_SIDE (a 48 MP 8000x6000 photo decodes at 4000x3000
        # in a quarter of the time and needs no resize at all).
        scale = DRAFT_MIN_SIDE / long_side
        img.draft(
            img.mode if img.mode in ("RGB", "L") else None,
            (max(1, int(img.width * scale)), max(1, int(img.height * scale))),
        )
    img.seek(0)
    img.load()
    pixels = ImageOps.exif_transpose(img) or img
    pixels = _to_8bit(pixels)
    size = _target_size(*pixels.size)
    if size != pixels.size:
        pixels = pixels.resize(size, PILImage.Resampling.LANCZOS, reducing_gap=3.0)
    return pixels


def _to_8bit(img: PILImage.Image) -> PILImage.Image:
    mode = img.mode
    if has_alpha(img):
        return flatten_alpha(img)
    if mode in ("RGB", "L"):
        return img
    if mode == "CMYK":
        return _cmyk_to_rgb(img)
    if mode.startswith("I") or mode == "F":
        # 16-bit and 32-bit greyscale: scale to 0-255 (convert("L") would clip).
        top = 65535.0 if mode.startswith("I;16") else max(255.0, _max_value(img))
        base = img if mode == "F" else img.convert("I")
        return base.point(lambda v: v * (255.0 / top)).convert("L")
    if mode == "1":
        return img.convert("L")
    return img.convert("RGB")


def has_alpha(img: PILImage.Image) -> bool:
    return img.mode in ("RGBA", "LA", "PA", "RGBa", "La") or (
        img.mode in ("P", "L", "RGB", "1") and "transparency" in img.info
    )


def flatten_alpha(img: PILImage.Image) -> PILImage.Image:
    """Transparency onto white, as RGB: the same for both engines."""
    rgba = img.convert("RGBA")
    background = PILImage.new("RGBA", rgba.size, (255, 255, 255, 255))
    return PILImage.alpha_composite(background, rgba).convert("RGB")


def _max_value(img: PILImage.Image) -> float:
    extrema = img.getextrema()
    # One band: (min, max); several: ((min, max), ...), of which the first.
    top = extrema[1] if extrema else 255.0
    return float(top if not isinstance(top, tuple) else top[1])


def _cmyk_to_rgb(img: PILImage.Image) -> PILImage.Image:
    icc = img.info.get("icc_profile")
    if icc:
        try:
            from PIL import ImageCms

            source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
            converted = ImageCms.profileToProfile(
                img, source, ImageCms.createProfile("sRGB"), outputMode="RGB"
            )
            if converted is not None:
                return converted
        except Exception:  # a broken profile: fall back to the plain formula
            pass
    return img.convert("RGB")


def _encode(pixels: PILImage.Image) -> bytes:
    quality: int | None = JPEG_QUALITY
    qualities = iter(_FALLBACK_QUALITIES)
    while True:
        buf = io.BytesIO()
        pixels.save(buf, "JPEG", quality=quality)
        if buf.tell() <= ENGINE_MAX_BYTES:
            return buf.getvalue()
        quality = next(qualities, None)
        if quality is None:  # still too large: 3/4 the size, lowest quality
            quality = _FALLBACK_QUALITIES[-1]
            pixels = pixels.resize(
                (max(1, pixels.width * 3 // 4), max(1, pixels.height * 3 // 4)),
                PILImage.Resampling.LANCZOS,
            )
