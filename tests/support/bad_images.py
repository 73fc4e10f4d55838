"""Hostile and unusual image files, built in memory with Pillow and struct:
decompression bombs for every accepted format, truncated and corrupt files,
polyglots, and a real face shrunk to a given width."""
from __future__ import annotations

import io
import struct
import zlib

from PIL import Image

from tests.support.images import image_bytes

BOMB_SIDE = 60_000          # 3.6 G pixels declared: 10+ GB if ever decoded


def encode(img: Image.Image, fmt: str, **options) -> bytes:
    if fmt == "HEIF":
        from chalicelib.imaging.checks import heif_available
        assert heif_available()
    buf = io.BytesIO()
    img.save(buf, fmt, **options)
    return buf.getvalue()


def photo(width: int = 320, height: int = 240, mode: str = "RGB") -> Image.Image:
    """Noise, so every encoder writes a realistic amount of data."""
    return Image.effect_noise((width, height), 50).convert("RGB").convert(mode)


# --- decompression bombs: tiny files declaring BOMB_SIDE x BOMB_SIDE ---------

def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def bomb_png(side: int = BOMB_SIDE) -> bytes:
    ihdr = struct.pack(">IIBBBBB", side, side, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", ihdr)
            + _png_chunk(b"IDAT", zlib.compress(b"\0" * 10_000)) + _png_chunk(b"IEND", b""))


def bomb_jpeg(side: int = min(BOMB_SIDE, 65_535)) -> bytes:
    data = bytearray(image_bytes(64, 64))
    sof = next(i for i in range(2, len(data)) if data[i] == 0xFF and data[i + 1] in (0xC0, 0xC2))
    data[sof + 5:sof + 9] = struct.pack(">HH", side, side)
    return bytes(data)


def bomb_gif(side: int = min(BOMB_SIDE, 65_535)) -> bytes:
    data = bytearray(encode(Image.new("P", (64, 64)), "GIF"))
    data[6:10] = struct.pack("<HH", side, side)               # logical screen
    desc = data.index(b"\x2c")                                  # image descriptor
    data[desc + 5:desc + 9] = struct.pack("<HH", side, side)
    return bytes(data)


def bomb_bmp(side: int = BOMB_SIDE) -> bytes:
    data = bytearray(encode(Image.new("RGB", (64, 64)), "BMP"))
    data[18:26] = struct.pack("<ii", side, side)
    return bytes(data)


def bomb_tiff(side: int = BOMB_SIDE) -> bytes:
    img = Image.new("L", (64, 64))
    data = bytearray(encode(img, "TIFF"))
    # Patch ImageWidth (256) and ImageLength (257) in the first IFD.
    ifd = struct.unpack("<I", data[4:8])[0]
    count = struct.unpack("<H", data[ifd:ifd + 2])[0]
    for i in range(count):
        entry = ifd + 2 + 12 * i
        tag, kind = struct.unpack("<HH", data[entry:entry + 4])
        if tag in (256, 257):
            fmt = "<H" if kind == 3 else "<I"
            packed = struct.pack(fmt, min(side, 65_535) if kind == 3 else side)
            data[entry + 8:entry + 8 + len(packed)] = packed
    return bytes(data)


def bomb_webp(side: int = 16_000) -> bytes:
    data = bytearray(encode(Image.new("RGBA", (64, 64), (1, 2, 3, 100)), "WEBP"))
    assert data[12:16] == b"VP8X"
    data[24:30] = (side - 1).to_bytes(3, "little") + (side - 1).to_bytes(3, "little")
    return bytes(data)


def bomb_heif(side: int = BOMB_SIDE) -> bytes:
    data = bytearray(encode(Image.new("RGB", (64, 64)), "HEIF"))
    pos = data.index(b"ispe")
    data[pos + 8:pos + 16] = struct.pack(">II", side, side)
    return bytes(data)


BOMBS = {"PNG": bomb_png, "JPEG": bomb_jpeg, "GIF": bomb_gif, "BMP": bomb_bmp,
         "TIFF": bomb_tiff, "WEBP": bomb_webp, "HEIF": bomb_heif}


# --- broken files ----------------------------------------------------------

def truncated(data: bytes, keep: float = 0.5) -> bytes:
    return data[:int(len(data) * keep)]


def corrupt_middle(data: bytes) -> bytes:
    """Header and end intact, the middle third overwritten with noise-like
    bytes (no 0xFF, so no JPEG marker is created by accident)."""
    third = len(data) // 3
    junk = bytes((i * 37 + 11) % 255 for i in range(third))
    return data[:third] + junk + data[2 * third:]


def corrupt_png_idat(data: bytes) -> bytes:
    pos = data.index(b"IDAT") + 20
    return data[:pos] + bytes(b ^ 0x55 for b in data[pos:pos + 64]) + data[pos + 64:]


# --- real faces ------------------------------------------------------------

def face_photo() -> Image.Image:
    """A passport-style crop of scikit-image's public-domain astronaut photo
    (available on any machine); the face spans about half its width."""
    from tests.support.face_images import astronaut, fs
    return fs.portrait_crop(astronaut(), fs.ASTRONAUT_FACE)


def small_face_image(face_width: int = 20, canvas=(400, 400)) -> bytes:
    """A real face about `face_width` px wide on a plain canvas."""
    src = face_photo()
    scale = face_width / (0.5 * src.width)
    small = src.resize((max(1, round(src.width * scale)), max(1, round(src.height * scale))))
    canvas_img = Image.new("RGB", canvas, (128, 128, 128))
    canvas_img.paste(small, ((canvas[0] - small.width) // 2, (canvas[1] - small.height) // 2))
    return encode(canvas_img, "JPEG", quality=92)
