"""Real-world photo formats are converted to what the engines take; JPEG/PNG
that need nothing pass through untouched; bombs die at the header."""
import io
import json
import tracemalloc
from pathlib import Path

import pytest
from PIL import Image

from chalicelib.core.errors import ApiError
from chalicelib.imaging.checks import check_image
from chalicelib.imaging.normalise import ENGINE_MAX_BYTES, MAX_LONG_SIDE, normalise
from tests.support.bad_images import BOMBS, encode, photo
from tests.support.fresh_python import run_python

ROOT = Path(__file__).resolve().parents[2]


def run(data: bytes, field: str = "dl"):
    return normalise(check_image(data, field))


def decoded(image) -> Image.Image:
    img = Image.open(io.BytesIO(image.data))
    img.load()
    return img


def exif(orientation: int) -> bytes:
    e = Image.Exif()
    e[0x0112] = orientation
    return e.tobytes()


@pytest.mark.parametrize("fmt, mode", [
    ("JPEG", "RGB"), ("JPEG", "L"), ("PNG", "RGB"), ("PNG", "L"), ("PNG", "P"),
])
def test_fast_path_keeps_the_same_bytes(fmt, mode):
    data = encode(photo(320, 240, mode), fmt)
    checked = check_image(data, "dl")
    assert normalise(checked) is checked


@pytest.mark.parametrize("fmt, mode, options", [
    ("WEBP", "RGB", {}), ("WEBP", "RGBA", {"lossless": True}),
    ("HEIF", "RGB", {}), ("AVIF", "RGB", {}),
    ("JPEG", "CMYK", {}), ("PNG", "RGBA", {}), ("PNG", "LA", {}), ("PNG", "1", {}),
    ("PNG", "I;16", {}),
])
def test_other_formats_and_modes_become_8bit_jpeg(fmt, mode, options):
    data = encode(photo(320, 240, mode), fmt, **options)
    image = run(data)
    assert image.format == "JPEG" and (image.width, image.height) == (320, 240)
    img = decoded(image)
    assert img.format == "JPEG" and img.mode in ("RGB", "L")
    assert image.data != data


def test_sixteen_bit_grey_is_scaled_not_clipped():
    img = decoded(run(encode(Image.new("I;16", (100, 100), 32768), "PNG")))
    assert img.getextrema() in ((127, 127), (128, 128))


def test_transparency_is_flattened_on_white():
    img = decoded(run(encode(Image.new("RGBA", (100, 100), (0, 0, 0, 0)), "PNG")))
    assert img.getpixel((50, 50)) >= (250, 250, 250)


def test_cmyk_jpeg_keeps_its_colours():
    red = Image.new("RGB", (100, 100), (220, 30, 30)).convert("CMYK")
    r, g, b = decoded(run(encode(red, "JPEG", quality=95))).getpixel((50, 50))
    assert r > 180 and g < 80 and b < 80


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP"])
@pytest.mark.parametrize("orientation, size", [(3, (300, 200)), (6, (200, 300)), (8, (200, 300))])
def test_exif_orientation_applied_and_dropped(fmt, orientation, size):
    # A landmark: a bright block in the stored image's top-left corner.
    img = Image.new("RGB", (300, 200), (0, 0, 0))
    img.paste((255, 255, 255), (0, 0, 60, 60))
    image = run(encode(img, fmt, exif=exif(orientation)))
    out = decoded(image)
    assert (image.width, image.height) == out.size == size
    assert out.getexif().get(0x0112) in (None, 1)
    expected = Image.open(io.BytesIO(encode(img, "PNG")))
    from PIL import ImageOps
    expected = ImageOps.exif_transpose(_with_orientation(expected, orientation))
    corners = [(5, 5), (size[0] - 6, 5), (5, size[1] - 6), (size[0] - 6, size[1] - 6)]
    assert [out.convert("L").getpixel(c) > 128 for c in corners] == \
        [expected.convert("L").getpixel(c) > 128 for c in corners]


def _with_orientation(img, orientation):
    img.getexif()[0x0112] = orientation
    return img


def test_heic_orientation_applied():
    image = run(encode(photo(300, 200), "HEIF", exif=exif(6)))
    assert (image.width, image.height) == (200, 300)


def test_jpeg_with_identity_orientation_passes_as_is():
    checked = check_image(encode(photo(), "JPEG", exif=exif(1)), "dl")
    assert normalise(checked) is checked


def test_huge_photo_is_downscaled_once_and_fits_rekognition():
    data = encode(Image.new("RGB", (9000, 5000), (90, 120, 150)), "JPEG")
    image = run(data)
    assert (image.width, image.height) == (MAX_LONG_SIDE, round(5000 * MAX_LONG_SIDE / 9000))
    assert len(image.data) <= ENGINE_MAX_BYTES


@pytest.mark.parametrize("fmt, size, expected", [
    ("JPEG", (8000, 6000), (4000, 3000)),     # 48 MP: DCT-scaled 1/2, no resize
    ("JPEG", (4200, 3000), (4096, 2926)),     # 1/2 would be too small: full decode, resize
    ("PNG", (4500, 3000), (4096, 2731)),
    ("WEBP", (3000, 5000), (2458, 4096)),
])
def test_long_side_capped(fmt, size, expected):
    image = run(encode(Image.new("RGB", size, (90, 120, 150)), fmt))
    assert (image.width, image.height) == decoded(image).size == expected


def test_noise_that_would_exceed_5mb_is_recompressed_until_it_fits():
    data = encode(photo(3000, 3000), "PNG")   # incompressible; ~27 MB raw
    image = run(data)
    assert len(image.data) <= ENGINE_MAX_BYTES


def test_elongated_image_keeps_minimum_short_side():
    image = run(encode(Image.new("RGB", (8200, 90)), "PNG"))
    assert image.height >= 80


@pytest.mark.parametrize("fmt", sorted(BOMBS))
def test_bombs_rejected_at_the_header_fast_and_small(fmt):
    data = BOMBS[fmt]()
    assert len(data) < 20_000
    tracemalloc.start()
    with pytest.raises(ApiError) as caught:
        run(data)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    # Header-declared size too big (413), or a format refused by its magic
    # bytes (GIF, BMP, TIFF: 415); either way before any pixel is decoded.
    if fmt in ("GIF", "BMP", "TIFF"):
        assert caught.value.code == "UNSUPPORTED_IMAGE_FORMAT"
    else:
        assert caught.value.code == "IMAGE_TOO_MANY_PIXELS"
    # Refused before decoding: decoding any bomb needs hundreds of MB (no
    # wall-clock bound here: it would fail on a busy machine, not on a bug).
    assert peak < 5 * 1024 * 1024


def test_bombs_peak_process_memory():
    """tracemalloc does not see Pillow's C allocations: measure the whole
    process's peak RSS in a child, under a 1 GB address-space limit so a
    regression fails instead of swapping."""
    code = f"""
import resource, sys, time
sys.path.insert(0, {str(ROOT)!r})
resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))
from tests.support.bad_images import BOMBS
from chalicelib.imaging.checks import check_image
from chalicelib.imaging.normalise import normalise
from chalicelib.core.errors import ApiError
bombs = {{k: f() for k, f in BOMBS.items()}}
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
start = time.perf_counter()
for name, data in bombs.items():
    for _ in range(20):
        try:
            normalise(check_image(data, "dl"))
            raise SystemExit(name + " accepted")
        except ApiError:
            pass
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(before, after, time.perf_counter() - start)
"""
    before_kb, after_kb, _seconds = run_python(code).split()
    assert int(after_kb) - int(before_kb) < 20 * 1024        # < 20 MB growth for 140 bombs


def test_undecodable_pixels_are_invalid_image():
    # Valid header, pixel data cut: passes the header check, fails the decode.
    data = encode(photo(300, 300), "WEBP")
    with pytest.raises(ApiError) as caught:
        run(data[:len(data) // 2])
    assert (caught.value.status, caught.value.code) == (400, "INVALID_IMAGE")


def test_log_line_says_which_images_were_reencoded(dev_client, rekognition, caplog):
    import logging

    from chalicelib.core import logs
    from tests.support.calls import post
    from tests.support.images import b64
    rekognition.add_response("compare_faces", {"SourceImageFace": {"BoundingBox": {
        "Left": .1, "Top": .1, "Width": .3, "Height": .3}, "Confidence": 99.0},
        "FaceMatches": [{"Similarity": 90.0, "Face": {"BoundingBox": {
            "Left": .1, "Top": .1, "Width": .3, "Height": .3}, "Confidence": 99.0}}],
        "UnmatchedFaces": []})
    logs.logger.addHandler(caplog.handler)
    try:
        with caplog.at_level(logging.INFO, logger="ips.events"):
            response = post(dev_client, json.dumps({
                "dl": b64(encode(photo(), "JPEG")), "selfie": b64(encode(photo(), "WEBP"))}))
    finally:
        logs.logger.removeHandler(caplog.handler)
    assert response.status_code == 200
    line = json.loads([r.getMessage() for r in caplog.records
                       if '"verification"' in r.getMessage()][-1])
    assert (line["dl_reencoded"], line["selfie_reencoded"]) == (False, True)
