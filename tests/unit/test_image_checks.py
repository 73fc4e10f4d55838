import pytest

from chalicelib.core.errors import ApiError
from chalicelib.imaging.checks import MAX_PIXELS, check_image
from tests.support.images import image_bytes


@pytest.mark.parametrize("data, fmt, size", [
    (image_bytes(640, 480, "JPEG"), "JPEG", (640, 480)),
    (image_bytes(80, 80, "PNG"), "PNG", (80, 80)),
])
def test_accepts_jpeg_and_png(data, fmt, size):
    image = check_image(data, "dl")
    assert (image.format, (image.width, image.height), image.field) == (fmt, size, "dl")
    assert image.data is data


def _bomb_png() -> bytes:
    # A valid PNG header declaring 10000x10000 pixels, without the pixels.
    import struct
    import zlib
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data)))
    ihdr = struct.pack(">IIBBBBB", 10000, 10000, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr)
            + chunk(b"IDAT", zlib.compress(b"")) + chunk(b"IEND", b""))


@pytest.mark.parametrize("data, status, code", [
    (image_bytes(100, 100, "ICO"), 415, "UNSUPPORTED_IMAGE_FORMAT"),   # Pillow reads it; we do not
    (image_bytes(100, 100, "PPM"), 415, "UNSUPPORTED_IMAGE_FORMAT"),
    (b'<svg xmlns="http://www.w3.org/2000/svg" width="100" height="100"/>', 415,
     "UNSUPPORTED_IMAGE_FORMAT"),
    # Formats no identity capture needs (issue 17), however well formed.
    (image_bytes(100, 100, "GIF"), 415, "UNSUPPORTED_IMAGE_FORMAT"),
    (image_bytes(100, 100, "BMP"), 415, "UNSUPPORTED_IMAGE_FORMAT"),
    (image_bytes(100, 100, "TIFF"), 415, "UNSUPPORTED_IMAGE_FORMAT"),
    (b"GIF89a" + image_bytes(100, 100), 415, "UNSUPPORTED_IMAGE_FORMAT"),
    (b"RIFF\0\0\0\0WEBPVP8 " + b"\0" * 40, 400, "INVALID_IMAGE"),
    (b"\0\0\0\x18ftypheic\0\0\0\0mif1heic" + b"\0" * 40, 400, "INVALID_IMAGE"),
    (b"BM" + b"\0" * 60, 415, "UNSUPPORTED_IMAGE_FORMAT"),
    (image_bytes(100, 100)[:-2], 400, "INVALID_IMAGE"),              # no end-of-image marker
    (image_bytes(100, 100, "PNG")[:-12], 400, "INVALID_IMAGE"),      # no IEND
    (b"%PDF-1.4 hello", 415, "UNSUPPORTED_IMAGE_FORMAT"),
    (b"\0" * 10, 415, "UNSUPPORTED_IMAGE_FORMAT"),
    (b"\xff\xd8\xff" + b"\0" * 20, 400, "INVALID_IMAGE"),
    (b"\x89PNG\r\n\x1a\n" + b"garbage", 400, "INVALID_IMAGE"),
    (image_bytes(79, 200), 422, "IMAGE_TOO_SMALL"),
    (image_bytes(1, 1, "PNG"), 422, "IMAGE_TOO_SMALL"),
    (_bomb_png(), 413, "IMAGE_TOO_MANY_PIXELS"),
])
def test_rejects(data, status, code):
    with pytest.raises(ApiError) as caught:
        check_image(data, "selfie")
    assert (caught.value.status, caught.value.code, caught.value.field) == (status, code, "selfie")


@pytest.mark.parametrize("fmt", ["WEBP", "PNG", "JPEG", "HEIF", "AVIF"])
def test_accepts_the_capture_formats_by_header(fmt):
    image = check_image(image_bytes(120, 90, fmt), "selfie")
    assert (image.format, image.width, image.height) == (fmt, 120, 90)


def test_jpeg_with_data_after_the_end_marker_is_fine():
    # Motion photos and some cameras append data after the image.
    data = image_bytes(100, 100) + b"PK\x03\x04" + b"\0" * 100
    assert check_image(data, "dl").data is data


def test_png_with_bad_checksum_is_invalid():
    from tests.support.bad_images import corrupt_png_idat
    with pytest.raises(ApiError) as caught:
        check_image(corrupt_png_idat(image_bytes(200, 200, "PNG", noise=True)), "dl")
    assert caught.value.code == "INVALID_IMAGE"


def test_bomb_limit_is_above_phone_cameras():
    assert MAX_PIXELS > 48_000_000  # 48 MP phone sensors must pass
