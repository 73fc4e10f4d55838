"""The hostile-input corpus: one row per bad request, with what the API must
answer. Read by tests/routes/test_hostile_corpus.py, which sends every row to the
`dev` stage (Rekognition answered by botocore's Stubber) and the `local`
stage (the offline engine).

A row's `engine` says what happens on the dev stage if the request reaches
Rekognition: None means it must be rejected before (an unexpected call
fails the test, the Stubber having nothing queued); "no_face", "match" or
"invalid" queue that CompareFaces answer. `local` overrides the expectation
on the local stage where the two engines legitimately differ."""
from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache

from PIL import Image

from chalicelib.flows.payload import MAX_BODY_BYTES
from tests.support import bad_images as bad
from tests.support.images import b64, image_bytes

Expect = tuple[int, str | frozenset[str]]


@dataclass(frozen=True)
class Case:
    id: str
    category: str
    body: Callable[[], bytes]
    expect: Expect
    field: str | None = None
    method: str = "POST"
    content_type: str | None = "application/json"
    engine: str | None = None
    local: Expect | None = None

    def expected(self, stage: str) -> Expect:
        return self.local if stage == "local" and self.local else self.expect


# --- building blocks (cached: built once per test session) -----------------

@cache
def face() -> bytes:
    """A real face photo (JPEG): what a good request sends."""
    return bad.encode(bad.face_photo(), "JPEG", quality=90)


@cache
def plain() -> bytes:
    """A valid JPEG without a face."""
    return bad.encode(bad.photo(400, 300), "JPEG", quality=85)


def good_body() -> bytes:
    return json.dumps({"dl": b64(face()), "selfie": b64(face())}).encode()


def with_dl(value) -> Callable[[], bytes]:
    """A body whose dl is `value` (bytes: base64-encoded; else as JSON)
    and whose selfie is the face photo."""
    def build() -> bytes:
        dl = value() if callable(value) else value
        if isinstance(dl, bytes):
            dl = b64(dl)
        return json.dumps({"dl": dl, "selfie": b64(face())}).encode()
    return build


def with_selfie(value) -> Callable[[], bytes]:
    def build() -> bytes:
        selfie = value() if callable(value) else value
        if isinstance(selfie, bytes):
            selfie = b64(selfie)
        return json.dumps({"dl": b64(face()), "selfie": selfie}).encode()
    return build


def raw(data: bytes) -> Callable[[], bytes]:
    return lambda: data


def nested(depth: int, open_: str, close: str, inner: str = "1") -> bytes:
    return (open_ * depth + inner + close * depth).encode()


def repeated_key(key: str, first: str, second: str) -> Callable[[], bytes]:
    def build() -> bytes:
        other = "selfie" if key == "dl" else "dl"
        return (f'{{"{key}": "{first}", "{other}": "{b64(face())}", "{key}": "{second}"}}').encode()
    return build


def unknown_fields(count: int) -> bytes:
    payload = {f"field_{i}": i for i in range(count)}
    payload.update(dl=b64(face()), selfie=b64(face()))
    return json.dumps(payload).encode()


def corrupt_huffman(data: bytes) -> bytes:
    """Valid JPEG markers (so the header parses), a Huffman table no decoder accepts."""
    out = bytearray(data)
    i = out.index(b"\xff\xc4")
    out[i + 5:i + 21] = b"\xff" * 16
    return bytes(out)


def tiny(fmt: str) -> bytes:
    return bad.encode(Image.new("RGB", (1, 1), (200, 100, 50)), fmt)


NO_FACE = frozenset({"NO_FACE", "FACE_TOO_SMALL"})
OK = (200, "match")

# --- the corpus --------------------------------------------------------------

CASES = [
    # Wrong method: the API's own 405 with an Allow header.
    *[Case(f"method-{m.lower()}", "method", good_body, (405, "METHOD_NOT_ALLOWED"), method=m)
      for m in ("GET", "HEAD", "PUT", "PATCH", "DELETE")],

    # Wrong or missing Content-Type.
    Case("ct-text-plain", "content type", good_body, (415, "UNSUPPORTED_MEDIA_TYPE"),
         content_type="text/plain"),
    Case("ct-multipart", "content type", good_body, (415, "UNSUPPORTED_MEDIA_TYPE"),
         content_type="multipart/form-data; boundary=xyz"),
    Case("ct-form", "content type", raw(b"dl=abc&selfie=def"), (415, "UNSUPPORTED_MEDIA_TYPE"),
         content_type="application/x-www-form-urlencoded"),
    Case("ct-raw-jpeg", "content type", lambda: face(), (415, "UNSUPPORTED_MEDIA_TYPE"),
         content_type="image/jpeg"),
    Case("ct-xml", "content type", raw(b"<ips><dl/></ips>"), (415, "UNSUPPORTED_MEDIA_TYPE"),
         content_type="application/xml"),
    Case("ct-json-lookalike", "content type", good_body, (415, "UNSUPPORTED_MEDIA_TYPE"),
         content_type="application/jsonp"),
    # No Content-Type is not JSON (issue 17: a page's no-cors POST sends none or text/plain).
    Case("ct-missing-empty-body", "content type", raw(b""), (415, "UNSUPPORTED_MEDIA_TYPE"),
         content_type=None),
    Case("ct-missing-garbage", "content type", raw(b"\x00\x01garbage"),
         (415, "UNSUPPORTED_MEDIA_TYPE"), content_type=None),

    # Empty and malformed bodies.
    Case("body-empty", "body", raw(b""), (400, "EMPTY_BODY")),
    Case("body-whitespace", "body", raw(b" \r\n\t "), (400, "EMPTY_BODY")),
    Case("body-invalid-utf8", "body", raw(b'{"dl": "\xff\xfe\xfd", "selfie": "\xc3"}'),
         (400, "INVALID_JSON")),
    Case("body-overlong-utf8", "body", raw(b'{"dl": "\xc0\xaf"}'), (400, "INVALID_JSON")),
    Case("body-truncated-json", "body", lambda: good_body()[:1000], (400, "INVALID_JSON")),
    Case("body-trailing-garbage", "body", lambda: good_body() + b"}{", (400, "INVALID_JSON")),
    Case("body-single-quotes", "body", raw(b"{'dl': 'abc', 'selfie': 'abc'}"),
         (400, "INVALID_JSON")),
    Case("body-comments", "body", raw(b'{/* c */ "dl": "abc"}'), (400, "INVALID_JSON")),
    Case("body-control-char", "body", raw(b'{"dl": "ab\x01c", "selfie": "x"}'),
         (400, "INVALID_JSON")),
    Case("body-null", "body", raw(b"null"), (400, "INVALID_JSON")),
    Case("body-array", "body", raw(b'["dl", "selfie"]'), (400, "INVALID_JSON")),
    Case("body-number", "body", raw(b"1e999"), (400, "INVALID_JSON")),
    Case("body-true", "body", raw(b"true"), (400, "INVALID_JSON")),
    Case("body-string-not-json", "body", raw(b'"hello"'), (400, "INVALID_JSON")),
    Case("body-triple-encoded", "body",
         lambda: json.dumps(json.dumps(good_body().decode())).encode(), (400, "INVALID_JSON")),
    Case("body-nested-arrays-10000", "body", raw(nested(10_000, "[", "]")), (400, "INVALID_JSON")),
    Case("body-nested-objects-10000", "body", raw(nested(10_000, '{"a":', "}")),
         (400, "INVALID_JSON")),
    Case("body-nested-in-dl-10000", "body",
         raw(b'{"selfie": "x", "dl": ' + nested(10_000, "[", "]") + b"}"), (400, "INVALID_JSON")),
    Case("body-over-6mb", "body", raw(b'{"dl": "' + b"A" * (MAX_BODY_BYTES + 10) + b'"}'),
         (413, "BODY_TOO_LARGE")),

    # Numbers, arrays, objects, null where strings belong; missing fields.
    Case("type-dl-int", "field type", with_dl(123), (400, "INVALID_FIELD_TYPE"), "dl"),
    Case("type-dl-float", "field type", with_dl(1.5e308), (400, "INVALID_FIELD_TYPE"), "dl"),
    Case("type-dl-nan", "field type", raw(b'{"dl": NaN, "selfie": "x"}'),
         (400, "INVALID_FIELD_TYPE"), "dl"),
    Case("type-dl-array", "field type", with_dl(["/9j/4AAQ"]), (400, "INVALID_FIELD_TYPE"), "dl"),
    Case("type-dl-object", "field type", with_dl({"$ref": "#/selfie"}),
         (400, "INVALID_FIELD_TYPE"), "dl"),
    Case("type-dl-true", "field type", with_dl(True), (400, "INVALID_FIELD_TYPE"), "dl"),
    Case("type-selfie-int", "field type", with_selfie(0), (400, "INVALID_FIELD_TYPE"), "selfie"),
    Case("type-dl-null", "field type", with_dl(None), (400, "MISSING_FIELD"), "dl"),
    Case("type-both-missing", "field type", raw(b"{}"), (400, "MISSING_FIELD"), "dl"),
    Case("type-keys-wrong-case", "field type",
         lambda: json.dumps({"DL": b64(face()), "Selfie": b64(face())}).encode(),
         (400, "MISSING_FIELD"), "dl"),

    # Huge strings.
    Case("huge-dl-zeros-base64", "huge", with_dl("A" * 4_000_000),
         (415, "UNSUPPORTED_IMAGE_FORMAT"), "dl"),
    Case("huge-dl-non-base64", "huge", with_dl("é" * 500_000), (400, "INVALID_BASE64"), "dl"),
    Case("huge-dl-6mb-then-bad-selfie", "huge",
         raw(b'{"selfie": "x", "dl": "' + b"A" * (MAX_BODY_BYTES - 64) + b'"}'),
         (400, "INVALID_BASE64"), "selfie"),
    Case("huge-unknown-field", "huge",
         lambda: json.dumps({"dl": b64(face()), "selfie": b64(face()),
                             "note": "x" * 3_000_000}).encode(), OK, engine="match"),
    Case("huge-key", "huge",
         lambda: json.dumps({"dl": b64(face()), "selfie": b64(face()),
                             "k" * 1_000_000: 1}).encode(), OK, engine="match"),

    # Base64 edge cases.
    Case("b64-of-zero-bytes", "base64", with_dl(b""), (400, "MISSING_FIELD"), "dl"),
    Case("b64-padding-only", "base64", with_dl("===="), (400, "INVALID_BASE64"), "dl"),
    Case("b64-one-char", "base64", with_dl("A"), (400, "INVALID_BASE64"), "dl"),
    Case("b64-padding-inside", "base64", with_dl("AB=C"), (400, "INVALID_BASE64"), "dl"),
    Case("b64-empty-data-uri", "base64", with_dl("data:image/jpeg;base64,"),
         (400, "INVALID_BASE64"), "dl"),
    Case("b64-url", "base64", with_dl("https://example.com/id.jpg"), (400, "INVALID_BASE64"), "dl"),
    Case("b64-path-traversal", "base64", with_dl("../../../../etc/passwd"),
         (400, "INVALID_BASE64"), "dl"),
    Case("b64-percent-encoded", "base64", with_dl("%2F9j%2F4AAQ"), (400, "INVALID_BASE64"), "dl"),
    Case("b64-of-text", "base64", with_dl(b"hello world, not an image"),
         (415, "UNSUPPORTED_IMAGE_FORMAT"), "dl"),
    Case("b64-lone-surrogate", "base64", raw(b'{"dl": "\\ud800abc", "selfie": "x"}'),
         (400, "INVALID_BASE64"), "dl"),

    # Truncated files, valid headers with corrupt data.
    Case("img-truncated-jpeg", "broken image", with_dl(lambda: bad.truncated(face())),
         (400, "INVALID_IMAGE"), "dl"),
    Case("img-truncated-png", "broken image",
         with_dl(lambda: bad.truncated(image_bytes(300, 300, "PNG", noise=True))),
         (400, "INVALID_IMAGE"), "dl"),
    Case("img-truncated-webp", "broken image",
         with_dl(lambda: bad.truncated(bad.encode(bad.photo(300, 300), "WEBP"))),
         (400, "INVALID_IMAGE"), "dl"),
    Case("img-truncated-heic", "broken image",
         with_selfie(lambda: bad.truncated(bad.encode(bad.photo(300, 300), "HEIF"))),
         (400, "INVALID_IMAGE"), "selfie"),
    Case("img-jpeg-soi-only", "broken image", with_dl(b"\xff\xd8\xff\xe0"), (400, "INVALID_IMAGE"),
         "dl"),
    Case("img-png-signature-only", "broken image", with_dl(b"\x89PNG\r\n\x1a\n"),
         (400, "INVALID_IMAGE"), "dl"),
    Case("img-gif-header-only", "broken image", with_dl(b"GIF89a"),
         (415, "UNSUPPORTED_IMAGE_FORMAT"), "dl"),
    Case("img-webp-header-only", "broken image", with_dl(b"RIFF\x10\0\0\0WEBPVP8 "),
         (400, "INVALID_IMAGE"), "dl"),
    Case("img-heic-ftyp-only", "broken image",
         with_dl(b"\0\0\0\x18ftypheic\0\0\0\0mif1heic"), (400, "INVALID_IMAGE"), "dl"),
    Case("img-png-corrupt-idat", "broken image",
         with_dl(lambda: bad.corrupt_png_idat(image_bytes(300, 300, "PNG", noise=True))),
         (400, "INVALID_IMAGE"), "dl"),
    Case("img-jpeg-corrupt-huffman", "broken image", with_dl(lambda: corrupt_huffman(face())),
         (400, "INVALID_IMAGE"), engine="invalid"),   # was a 500 on local: now mapped there
    Case("img-jpeg-corrupt-scan", "broken image", with_dl(lambda: bad.corrupt_middle(plain())),
         (400, "INVALID_IMAGE"), engine="invalid", local=(422, NO_FACE)),

    # Polyglots and other file types.
    Case("poly-jpeg-plus-zip", "polyglot",
         with_dl(lambda: plain() + b"PK\x03\x04" + b"\0" * 200), (422, "NO_FACE"),
         engine="no_face"),
    Case("poly-png-plus-php", "polyglot",
         with_dl(lambda: image_bytes(200, 200, "PNG") + b"<?php system($_GET['c']); ?>"),
         (422, "NO_FACE"), engine="no_face"),
    Case("poly-gif-js", "polyglot", with_dl(b"GIF89a/*\x00\x00*/=1;alert(document.cookie)//"),
         (415, "UNSUPPORTED_IMAGE_FORMAT"), "dl"),
    Case("poly-jpeg-magic-html", "polyglot", with_dl(b"\xff\xd8\xff<html><script>x()</script>"),
         (400, "INVALID_IMAGE"), "dl"),
    Case("poly-pdf-then-jpeg", "polyglot", with_dl(lambda: b"%PDF-1.7\n" + plain()),
         (415, "UNSUPPORTED_IMAGE_FORMAT"), "dl"),
    Case("poly-html-then-png", "polyglot",
         with_dl(lambda: b"<html>" + image_bytes(100, 100, "PNG")),
         (415, "UNSUPPORTED_IMAGE_FORMAT"), "dl"),
    Case("file-svg", "polyglot",
         with_dl(b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>'),
         (415, "UNSUPPORTED_IMAGE_FORMAT"), "dl"),
    Case("file-psd", "polyglot", with_dl(b"8BPS\0\x01" + b"\0" * 100),
         (415, "UNSUPPORTED_IMAGE_FORMAT"), "dl"),
    Case("file-ico", "polyglot", with_dl(lambda: image_bytes(100, 100, "ICO")),
         (415, "UNSUPPORTED_IMAGE_FORMAT"), "dl"),
    Case("file-exe", "polyglot", with_dl(b"MZ\x90\0" + b"\0" * 100),
         (415, "UNSUPPORTED_IMAGE_FORMAT"), "dl"),
    Case("file-zip", "polyglot", with_dl(b"PK\x03\x04" + b"\0" * 100),
         (415, "UNSUPPORTED_IMAGE_FORMAT"), "dl"),

    # Tiny images and tiny faces.
    Case("tiny-1x1-png", "small", with_dl(lambda: tiny("PNG")), (422, "IMAGE_TOO_SMALL"), "dl"),
    Case("tiny-1x1-jpeg", "small", with_selfie(lambda: tiny("JPEG")), (422, "IMAGE_TOO_SMALL"),
         "selfie"),
    Case("tiny-1x1-gif", "small", with_dl(lambda: tiny("GIF")),
         (415, "UNSUPPORTED_IMAGE_FORMAT"), "dl"),
    Case("tiny-1x1-webp", "small", with_dl(lambda: tiny("WEBP")), (422, "IMAGE_TOO_SMALL"), "dl"),
    Case("tiny-79px-side", "small", with_dl(lambda: image_bytes(79, 400)),
         (422, "IMAGE_TOO_SMALL"), "dl"),
    Case("face-20px-document", "small", with_dl(lambda: bad.small_face_image(20)),
         (422, "NO_FACE"), engine="no_face", local=(422, NO_FACE)),
    Case("face-20px-selfie", "small", with_selfie(lambda: bad.small_face_image(20)),
         (422, "NO_FACE"), engine="no_face", local=(422, NO_FACE)),
    Case("face-none", "small", with_dl(plain), (422, "NO_FACE"), engine="no_face"),

    # Decompression bombs: tiny files declaring billions of pixels (Pillow 13
    # reads the WebP and HEIF headers' sizes too: 413 for every format read;
    # GIF, BMP and TIFF are refused before any header is parsed).
    *[Case(f"bomb-{fmt.lower()}", "bomb", with_dl(build),
           (415, "UNSUPPORTED_IMAGE_FORMAT") if fmt in ("GIF", "BMP", "TIFF")
           else (413, "IMAGE_TOO_MANY_PIXELS"), "dl")
      for fmt, build in bad.BOMBS.items()],

    # Unknown and repeated fields.
    Case("fields-10000-unknown", "fields", lambda: unknown_fields(10_000), OK, engine="match"),
    Case("fields-repeated-dl", "fields", repeated_key("dl", "abc", "def"),
         (400, "INVALID_JSON"), "dl"),
    Case("fields-repeated-selfie", "fields", repeated_key("selfie", "abc", "abc"),
         (400, "INVALID_JSON"), "selfie"),
    Case("fields-repeated-unknown", "fields",
         lambda: good_body()[:-1] + b', "x": 1, "x": 2}', OK, engine="match"),
]

assert len({case.id for case in CASES}) == len(CASES), "case ids must be unique"
