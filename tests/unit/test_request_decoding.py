"""The request decoder on every shape of body real clients send."""
import base64
import json

import pytest

from chalicelib.core.errors import ApiError
from chalicelib.flows.payload import (
    MAX_BODY_BYTES,
    MAX_IMAGE_BYTES,
    decode_image_field,
    parse_body,
)
from tests.support.images import image_bytes

IMG = image_bytes(120, 90)
STD = base64.b64encode(IMG).decode()
URLSAFE = base64.urlsafe_b64encode(IMG).decode()
# Bytes whose base64 holds '+' and '/' so the URL-safe alphabet really differs.
ODD = bytes(range(256)) * 3
ODD_URLSAFE = base64.urlsafe_b64encode(ODD).decode().rstrip("=")


def body(dl, selfie=STD) -> bytes:
    return json.dumps({"dl": dl, "selfie": selfie}).encode()


@pytest.mark.parametrize("raw, expected_dl", [
    (body(STD), IMG),
    (json.dumps(json.dumps({"dl": STD, "selfie": STD})).encode(), IMG),  # double-encoded
    (body("data:image/jpeg;base64," + STD), IMG),
    (body("data:image/png;charset=utf-8;base64," + STD), IMG),
    (body("\n".join(STD[i:i + 76] for i in range(0, len(STD), 76))), IMG),  # MIME lines
    (body(" " + STD[:40] + " \r\n" + STD[40:] + "\t"), IMG),
    (body(URLSAFE), IMG),
    (body(STD.rstrip("=")), IMG),
    (body(ODD_URLSAFE), ODD),
    (json.dumps({"dl": STD, "selfie": STD, "extra": [1, 2], "name": "x"}).encode(), IMG),
])
def test_accepted_bodies(raw, expected_dl):
    images = parse_body(raw, "application/json")
    assert images["dl"] == expected_dl
    assert images["selfie"] == IMG

JSON = "application/json"


@pytest.mark.parametrize("raw, content_type, status, code, field", [
    (b"", JSON, 400, "EMPTY_BODY", None),
    (b"   ", JSON, 400, "EMPTY_BODY", None),
    (b"{", JSON, 400, "INVALID_JSON", None),
    (b"\xff\xfe{}", JSON, 400, "INVALID_JSON", None),
    (b"[" * 10000 + b"]" * 10000, JSON, 400, "INVALID_JSON", None),
    (b"[]", JSON, 400, "INVALID_JSON", None),
    (b"null", JSON, 400, "INVALID_JSON", None),
    (json.dumps("not json").encode(), JSON, 400, "INVALID_JSON", None),
    (json.dumps(json.dumps([1])).encode(), JSON, 400, "INVALID_JSON", None),
    (body(STD), "text/plain", 415, "UNSUPPORTED_MEDIA_TYPE", None),
    (body(STD), None, 415, "UNSUPPORTED_MEDIA_TYPE", None),   # none is not JSON (issue 17)
    (body(STD), "", 415, "UNSUPPORTED_MEDIA_TYPE", None),
    (body(STD), "multipart/form-data; boundary=x", 415, "UNSUPPORTED_MEDIA_TYPE", None),
    (json.dumps({"selfie": STD}).encode(), JSON, 400, "MISSING_FIELD", "dl"),
    (json.dumps({"dl": STD}).encode(), JSON, 400, "MISSING_FIELD", "selfie"),
    (body(""), JSON, 400, "MISSING_FIELD", "dl"),
    (body(None), JSON, 400, "MISSING_FIELD", "dl"),
    (body(123), JSON, 400, "INVALID_FIELD_TYPE", "dl"),
    (body(["a"]), JSON, 400, "INVALID_FIELD_TYPE", "dl"),
    (body({"b64": STD}), JSON, 400, "INVALID_FIELD_TYPE", "dl"),
    (body(STD, True), JSON, 400, "INVALID_FIELD_TYPE", "selfie"),
    (body("https://example.com/id.jpg"), JSON, 400, "INVALID_BASE64", "dl"),
    (body("./id.jpg"), JSON, 400, "INVALID_BASE64", "dl"),
    (body("C:\\Users\\me\\id.jpg"), JSON, 400, "INVALID_BASE64", "dl"),
    (body("file:///etc/passwd"), JSON, 400, "INVALID_BASE64", "dl"),
    (body("abcde"), JSON, 400, "INVALID_BASE64", "dl"),
    (body("ab=cd"), JSON, 400, "INVALID_BASE64", "dl"),
    (body("===="), JSON, 400, "INVALID_BASE64", "dl"),
    (body(STD, "@@@@"), JSON, 400, "INVALID_BASE64", "selfie"),
    (b" " * (MAX_BODY_BYTES + 1), JSON, 413, "BODY_TOO_LARGE", None),
])
def test_rejected_bodies(raw, content_type, status, code, field):
    with pytest.raises(ApiError) as caught:
        parse_body(raw, content_type)
    error = caught.value
    assert (error.status, error.code, error.field) == (status, code, field)
    assert error.message and "Traceback" not in error.message


@pytest.mark.parametrize("value", [
    "A" * (MAX_IMAGE_BYTES * 2),                                   # caught before decoding
    base64.b64encode(b"\0" * (MAX_IMAGE_BYTES + 3)).decode(),     # caught after
])
def test_image_over_rekognition_limit(value):
    # The 6 MB body limit makes this unreachable through parse_body today;
    # the per-image check still guards direct callers and a larger body limit.
    with pytest.raises(ApiError) as caught:
        decode_image_field({"selfie": value}, "selfie")
    assert (caught.value.status, caught.value.code, caught.value.field) == (
        413, "IMAGE_TOO_LARGE", "selfie")
