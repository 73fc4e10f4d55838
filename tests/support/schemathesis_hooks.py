"""Schemathesis hooks for tests/system/test_schemathesis.py (loaded through
SCHEMATHESIS_HOOKS). Random base64 is almost never an image, so on its own
the fuzzer stops at the decoder. This mixes into POST /ips bodies built from
real images -- face photos (when /work/shared/faces is there; one of them
also as PNG and WebP) and synthetic face-less ones, downscaled so each engine call stays fast -- sometimes with
bytes overwritten or the data cut short, so the image checks, the format
normalisation and the offline engine (decoding, detection, descriptors) are
fuzzed too, not only the JSON and base64 layers."""
from __future__ import annotations

import ast
import base64
import functools
import io
import threading
from pathlib import Path

import schemathesis
from hypothesis import strategies as st
from PIL import Image

# CPython 3.11's parser is not safe to run in two threads at once: it fails
# with "SystemError: AST constructor recursion depth mismatch". Hypothesis
# parses lambda sources (ast.parse) to describe strategies, and with
# `--workers 2` Schemathesis's coverage phase does so from two threads when
# it builds negative values for path parameters (/static/{name},
# /enrolments/{subject_id}): an intermittent "Runtime Error". Serialise it.
_parse_lock = threading.Lock()
_parse = ast.parse


@functools.wraps(_parse)
def _serialised_parse(*args, **kwargs):
    with _parse_lock:
        return _parse(*args, **kwargs)


ast.parse = _serialised_parse

SHARED_FACES = Path(__file__).resolve().parents[3] / "shared" / "faces"
PHOTOS = ("deepface/img10.jpg", "deepface/img11.jpg", "face_recognition/obama_small.jpg",
          "face_recognition/two_people.jpg", "face_recognition/biden.jpg")


def _encode(img: Image.Image, fmt: str) -> bytes:
    out = io.BytesIO()
    img.save(out, fmt, **({"quality": 85} if fmt == "JPEG" else {}))
    return out.getvalue()


def _images() -> list:
    images = []
    for name in PHOTOS:
        path = SHARED_FACES / name
        if path.exists():
            with Image.open(path) as img:
                img = img.convert("RGB")
                img.thumbnail((480, 480))
                images.append(_encode(img, "JPEG"))
                if name.endswith("obama_small.jpg"):
                    # The other formats the service converts (image_normalise).
                    for fmt in ("PNG", "WEBP"):
                        images.append(_encode(img, fmt))
    images.append(_encode(Image.new("RGB", (300, 400), (180, 120, 90)), "JPEG"))
    images.append(_encode(Image.new("L", (80, 80), 128), "PNG"))
    images.append(_encode(Image.new("RGBA", (200, 120), (10, 200, 30, 128)), "PNG"))
    return images


IMAGES = _images()


@st.composite
def _image_field(draw) -> str:
    data = bytearray(draw(st.sampled_from(IMAGES)))
    damage = draw(st.sampled_from(["none", "none", "none", "overwrite", "truncate"]))
    if damage == "overwrite":       # corrupt the compressed data past the header
        for _ in range(draw(st.integers(1, 8))):
            position = draw(st.integers(min(64, len(data) - 1), len(data) - 1))
            data[position] = draw(st.integers(0, 255))
    elif damage == "truncate":
        data = data[:draw(st.integers(1, len(data)))]
    text = base64.b64encode(bytes(data)).decode("ascii")
    style = draw(st.sampled_from(["plain", "plain", "data_uri", "urlsafe"]))
    if style == "data_uri":
        text = "data:image/jpeg;base64," + text
    elif style == "urlsafe":
        text = text.replace("+", "-").replace("/", "_").rstrip("=")
    return text


@schemathesis.hook
def before_generate_body(context, strategy):
    operation = context.operation
    if operation is None or operation.path != "/ips" or operation.method.upper() != "POST":
        return strategy
    real = st.fixed_dictionaries({"dl": _image_field(), "selfie": _image_field()})
    return st.one_of(strategy, real)
