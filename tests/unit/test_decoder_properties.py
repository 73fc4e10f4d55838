"""Property-based tests (Hypothesis) of everything that reads untrusted input
before an engine: chalicelib.request_decoding.parse_body, then
image_checks.check_image and image_normalise.normalise. For any input the
outcome is a success or a documented 4xx ApiError, never another exception.

Statistics: python -m pytest -q tests/unit/test_decoder_properties.py --hypothesis-show-statistics
(examples per test: EXAMPLES below; IPS_HYPOTHESIS_EXAMPLES overrides)."""
import base64
import io
import json
import os
import string

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from PIL import Image

from chalicelib.core.errors import ApiError
from chalicelib.flows.payload import parse_body
from chalicelib.imaging.checks import MIN_SIDE_PX, check_image
from chalicelib.imaging.normalise import ENGINE_MAX_BYTES, normalise

EXAMPLES = int(os.environ.get("IPS_HYPOTHESIS_EXAMPLES", "1000"))
# Derandomized: CI runs the same examples every time; IPS_HYPOTHESIS_EXPLORE=1 for new ones.
SETTINGS = settings(max_examples=EXAMPLES, deadline=None,
                    derandomize=not os.environ.get("IPS_HYPOTHESIS_EXPLORE"),
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

# Every (status, code) the decoder and the image stages may answer.
DECODER_ERRORS = {
    (415, "UNSUPPORTED_MEDIA_TYPE"), (413, "BODY_TOO_LARGE"), (400, "EMPTY_BODY"),
    (400, "INVALID_JSON"), (400, "MISSING_FIELD"), (400, "INVALID_FIELD_TYPE"),
    (400, "INVALID_BASE64"), (413, "IMAGE_TOO_LARGE"),
}
IMAGE_ERRORS = {
    (415, "UNSUPPORTED_IMAGE_FORMAT"), (400, "INVALID_IMAGE"), (413, "IMAGE_TOO_MANY_PIXELS"),
    (422, "IMAGE_TOO_SMALL"),
}


def _encode(img, fmt, **options):
    if fmt == "HEIF":
        from chalicelib.imaging.checks import heif_available
        heif_available()
    buf = io.BytesIO()
    img.save(buf, fmt, **options)
    return buf.getvalue()


def _seed_images():
    """Small valid files of every accepted format (and odd modes) to mutate."""
    noise = Image.effect_noise((96, 88), 60).convert("RGB")
    exif = Image.Exif()
    exif[0x0112] = 6
    return [
        _encode(noise, "JPEG", quality=80), _encode(noise, "JPEG", exif=exif.tobytes()),
        _encode(noise.convert("L"), "JPEG"), _encode(noise.convert("CMYK"), "JPEG"),
        _encode(noise, "JPEG", progressive=True),
        _encode(noise, "PNG"), _encode(noise.convert("RGBA"), "PNG"),
        _encode(noise.convert("P"), "PNG"), _encode(Image.new("I;16", (90, 90), 999), "PNG"),
        _encode(noise, "WEBP"), _encode(noise.convert("RGBA"), "WEBP", lossless=True),
        _encode(noise, "HEIF"),
        _encode(noise, "AVIF"),
    ]


SEEDS = _seed_images()


@st.composite
def mutated_images(draw):
    """A seed file with a few random edits: truncation, byte overwrites,
    insertions, deletions, or a header field patched to a random value."""
    data = bytearray(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(0, 4))):
        kind = draw(st.sampled_from(["truncate", "overwrite", "insert", "delete", "header"]))
        if not data:
            break
        # Mostly past the magic bytes, so the file still reaches its decoder.
        low = 0 if draw(st.integers(0, 9)) == 0 else min(12, len(data) - 1)
        pos = draw(st.integers(low, len(data) - 1))
        if kind == "truncate":
            del data[pos:]
        elif kind == "overwrite":
            chunk = draw(st.binary(min_size=1, max_size=16))
            data[pos:pos + len(chunk)] = chunk
        elif kind == "insert":
            data[pos:pos] = draw(st.binary(min_size=1, max_size=64))
        elif kind == "delete":
            del data[pos:pos + draw(st.integers(1, 64))]
        else:   # dimensions, lengths and counts live in the first ~64 bytes
            at = draw(st.integers(min(4, len(data) - 1), min(63, len(data) - 1)))
            data[at:at + 4] = draw(st.sampled_from(
                [b"\xff\xff\xff\xff", b"\x00\x00\x00\x00", b"\x7f\xff\xff\xff", b"\x00\x01\x00\x01",
                 b"\xff\xff", b"\x00"]))
    return bytes(data)


def _check_image_outcome(data: bytes) -> None:
    try:
        checked = check_image(data, "dl")
        image = normalise(checked)
    except ApiError as error:
        event(f"image: {error.status} {error.code}")
        assert (error.status, error.code) in IMAGE_ERRORS, (error.status, error.code)
        assert error.field == "dl"
        return
    event(f"image: accepted {checked.format}" + (" as is" if image is checked else " converted"))
    assert image.format in ("JPEG", "PNG")
    assert min(image.width, image.height) >= MIN_SIDE_PX
    assert len(image.data) <= ENGINE_MAX_BYTES


@SETTINGS
@given(mutated_images())
def test_image_pipeline_never_raises_anything_else(data):
    _check_image_outcome(data)


@SETTINGS
@given(st.binary(max_size=512))
def test_arbitrary_bytes_as_image(data):
    _check_image_outcome(data)


# --- request bodies --------------------------------------------------------

_json_leaf = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True),
                       st.text(max_size=40))
_json_value = st.recursive(_json_leaf, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)),
    max_leaves=12)
_b64_text = st.text(alphabet=string.ascii_letters + string.digits + "+/=-_ \n\r\t",
                    max_size=200)
_image_b64 = mutated_images().map(lambda b: base64.b64encode(b).decode())
_field_value = st.one_of(
    _image_b64, _image_b64, _image_b64,
    _json_value,
    _b64_text,
    st.binary(max_size=200).map(lambda b: base64.b64encode(b).decode()),
    mutated_images().map(lambda b: base64.b64encode(b).decode()),
    mutated_images().map(
        lambda b: "data:image/jpeg;base64," + base64.urlsafe_b64encode(b).decode()),
    st.sampled_from(["", "=", "data:", "data:image/png;base64,", "https://x/y.jpg", "/etc/passwd"]),
)


@st.composite
def bodies(draw):
    shape = draw(st.sampled_from(["object", "double", "json", "bytes", "text"]))
    if shape in ("object", "double"):
        payload = {"dl": draw(_field_value), "selfie": draw(_field_value)}
        payload.update(draw(st.dictionaries(st.sampled_from(["DL", "x", ""]), _json_value,
                                            max_size=2)))
        for key in draw(st.sets(st.sampled_from(["dl", "selfie"]), max_size=2)):
            del payload[key]
        raw = json.dumps(payload)
        if shape == "double":
            raw = json.dumps(raw)
        if draw(st.booleans()):   # cut or extend the JSON text
            cut = draw(st.integers(0, len(raw)))
            raw = raw[:cut] + draw(st.text(max_size=4))
        return raw.encode("utf-8", "surrogatepass")
    if shape == "json":
        return json.dumps(draw(_json_value)).encode()
    if shape == "text":
        return draw(st.text(max_size=200)).encode("utf-8", "surrogatepass")
    return draw(st.binary(max_size=300))


_content_types = st.one_of(
    st.none(), st.just("application/json"), st.just("application/json"),
    st.sampled_from(["application/json", "Application/JSON; charset=utf-8", "text/plain",
                     "application/json;", ";", "", "multipart/form-data; boundary=x"]),
    st.text(max_size=30),
)


@SETTINGS
@given(bodies(), _content_types)
def test_request_pipeline_never_raises_anything_else(raw, content_type):
    try:
        images = parse_body(raw, content_type)
    except ApiError as error:
        event(f"body: {error.status} {error.code}")
        assert (error.status, error.code) in DECODER_ERRORS, (error.status, error.code)
        assert 400 <= error.status < 500 and error.message
        return
    event("body: decoded")
    assert set(images) == {"dl", "selfie"}
    assert all(isinstance(v, bytes) and v for v in images.values())
    for field, data in images.items():
        try:
            normalise(check_image(data, field))
        except ApiError as error:
            assert (error.status, error.code) in IMAGE_ERRORS
            assert error.field == field


@pytest.mark.parametrize("seed", range(len(SEEDS)))
def test_every_seed_is_accepted_unmutated(seed):
    """The mutation seeds themselves are valid, so mutations start from a
    file that reaches the decoders."""
    image = normalise(check_image(SEEDS[seed], "dl"))
    assert image.format in ("JPEG", "PNG")
