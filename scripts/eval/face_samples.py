"""Synthetic test images made from real face photos: an ID-card composite
(card background, small portrait and a faded ghost copy), a large selfie,
EXIF-rotated and blurred copies. Used by scripts/bench_engine.py and
tests/engine/test_local_engine.py; needs only Pillow (and numpy for the card's
background pattern)."""
from __future__ import annotations

import io

from PIL import Image, ImageDraw, ImageFilter, ImageOps

# Face box (left, top, right, bottom) of scikit-image's public-domain
# astronaut image (512x512), as dlib's HOG detector reports it.
ASTRONAUT_FACE = (179, 83, 267, 171)

CARD_SIZE = (1000, 630)


def jpeg_bytes(img: Image.Image, quality: int = 90, exif: bytes = b"") -> bytes:
    out = io.BytesIO()
    img.convert("RGB").save(out, "JPEG", quality=quality, exif=exif)
    return out.getvalue()


def png_bytes(img: Image.Image) -> bytes:
    out = io.BytesIO()
    img.save(out, "PNG")
    return out.getvalue()


def portrait_crop(img: Image.Image, face: tuple[int, int, int, int]) -> Image.Image:
    """A passport-style 3:4 head-and-shoulders crop around a face box."""
    left, top, right, bottom = face
    w = right - left
    cx = (left + right) / 2
    crop_w = w * 2.0
    crop_h = crop_w * 4 / 3
    x0 = cx - crop_w / 2
    y0 = top - 0.75 * (bottom - top)
    box = tuple(round(v) for v in (x0, y0, x0 + crop_w, y0 + crop_h))
    return img.convert("RGB").crop(box)   # areas outside the photo come out black


def id_card(portrait: Image.Image, portrait_height: int = 240,
            ghost_height: int | None = None, ghost_opacity: float = 0.35) -> Image.Image:
    """A 1000x630 ID card: tinted guilloche background, text lines, the
    portrait on the left (portrait_height px tall, face about half of that)
    and a faded greyscale ghost copy on the right (0.55 of its height unless
    ghost_height is given)."""
    import numpy as np
    w, h = CARD_SIZE
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    wave = (np.sin(x / 17.0 + 3 * np.sin(y / 53.0)) + np.sin(y / 11.0 + 2 * np.sin(x / 41.0)))
    base = np.stack([215 + 12 * wave, 228 + 8 * wave, 238 + 6 * wave], axis=-1)
    card = Image.fromarray(np.clip(base, 0, 255).astype(np.uint8), "RGB")
    draw = ImageDraw.Draw(card)
    draw.rectangle((0, 0, w, 70), fill=(30, 60, 120))
    draw.text((30, 25), "IDENTITY CARD  -  SPECIMEN", fill=(255, 255, 255))
    for i, length in enumerate((380, 300, 420, 260, 340, 200)):
        y0 = 120 + i * 60
        draw.text((340, y0 - 18), ("SURNAME", "GIVEN NAMES", "DATE OF BIRTH", "NATIONALITY",
                                   "DOCUMENT NO", "EXPIRY")[i], fill=(70, 70, 90))
        draw.rectangle((340, y0, 340 + length, y0 + 14), fill=(40, 40, 50))
    draw.rectangle((0, h - 90, w, h), fill=(245, 245, 245))
    for i in range(2):
        draw.text((30, h - 70 + i * 28), "IDXXX<<0123456789<<<<<<<<<<<<<<<<<<<<<<<<<<" if i == 0
                  else "8001014M3001012XXX<<<<<<<<<<<SPECIMEN<<JOHN<<", fill=(0, 0, 0))
    if ghost_height is None:
        ghost_height = round(portrait_height * 0.55)
    pw = round(portrait_height * portrait.width / portrait.height)
    card.paste(portrait.resize((pw, portrait_height), Image.LANCZOS), (50, 110))
    gw = round(ghost_height * portrait.width / portrait.height)
    ghost = ImageOps.grayscale(portrait.resize((gw, ghost_height), Image.LANCZOS)).convert("RGB")
    region = (w - gw - 60, h - 90 - ghost_height - 30)
    behind = card.crop((region[0], region[1], region[0] + gw, region[1] + ghost_height))
    card.paste(Image.blend(behind, ghost, ghost_opacity), region)
    return card


def large_selfie(img: Image.Image, size: tuple[int, int] = (4000, 3000)) -> Image.Image:
    """A photo resized (and centre-cropped) to a large camera size, 12 MP by default."""
    return ImageOps.fit(img.convert("RGB"), size, Image.BICUBIC)


def exif_rotated(img: Image.Image, orientation: int = 6) -> bytes:
    """JPEG whose pixels are stored rotated, with the EXIF Orientation tag
    that tells a viewer how to turn them upright (6: rotate 90 clockwise)."""
    stored = {3: img.rotate(180, expand=True), 6: img.rotate(90, expand=True),
              8: img.rotate(-90, expand=True)}[orientation]
    exif = Image.Exif()
    exif[0x0112] = orientation
    return jpeg_bytes(stored, exif=exif.tobytes())


def blurred(img: Image.Image, face_width: float, fraction: float = 1 / 12) -> Image.Image:
    """Gaussian blur with a radius that is `fraction` of the face's width."""
    return img.filter(ImageFilter.GaussianBlur(radius=max(0.5, face_width * fraction)))


def gaussian_blur(img: Image.Image, radius: float) -> Image.Image:
    """Gaussian blur of `radius` px (none for radius <= 0)."""
    return img.filter(ImageFilter.GaussianBlur(radius=radius)) if radius > 0 else img


def motion_blur(img: Image.Image, length: float) -> Image.Image:
    """Horizontal motion blur: the average over `length` px along each row
    (a camera moved sideways while the shutter was open)."""
    import numpy as np
    n = max(1, round(length))
    if n == 1:
        return img
    arr = np.asarray(img.convert("RGB"), dtype=np.float64)
    pad = np.pad(arr, ((0, 0), (n // 2, n - 1 - n // 2), (0, 0)), mode="edge")
    csum = np.cumsum(np.pad(pad, ((0, 0), (1, 0), (0, 0))), axis=1)
    out = (csum[:, n:] - csum[:, :-n]) / n
    return Image.fromarray(np.clip(np.round(out), 0, 255).astype(np.uint8), "RGB")


def scaled(img: Image.Image, factor: float) -> Image.Image:
    """The photo scaled by `factor` (a smaller face), as a camera would take it."""
    if factor >= 1.0:
        return img
    size = (max(1, round(img.width * factor)), max(1, round(img.height * factor)))
    return img.resize(size, Image.LANCZOS)


def side_by_side(a: Image.Image, b: Image.Image, height: int = 600) -> Image.Image:
    """Two photos next to each other at the same height (a two-face selfie)."""
    a = a.convert("RGB").resize((round(a.width * height / a.height), height), Image.LANCZOS)
    b = b.convert("RGB").resize((round(b.width * height / b.height), height), Image.LANCZOS)
    out = Image.new("RGB", (a.width + b.width, height), (128, 128, 128))
    out.paste(a, (0, 0))
    out.paste(b, (a.width, 0))
    return out


