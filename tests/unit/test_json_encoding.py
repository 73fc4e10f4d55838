"""JSON bodies are UTF-8 (RFC 8259 section 8.1): UTF-16 and UTF-32, with or
without a byte-order mark, are refused with 400 INVALID_JSON; a UTF-8 BOM
is tolerated, as the RFC allows."""

import json

import pytest

from chalicelib.core.errors import ApiError
from chalicelib.flows.payload import parse_body
from tests.support.images import b64, image_bytes

TEXT = json.dumps({"dl": b64(image_bytes(100, 100)), "selfie": b64(image_bytes(100, 100))})


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be",
                                      "utf-32", "utf-32-le", "utf-32-be"])
def test_utf16_and_utf32_bodies_are_invalid_json(encoding):
    with pytest.raises(ApiError) as refused:
        parse_body(TEXT.encode(encoding), "application/json")
    assert refused.value.status == 400
    assert str(refused.value.code) == "INVALID_JSON"
    assert "UTF-8" in refused.value.message


def test_utf8_with_and_without_bom_is_accepted():
    for raw in (TEXT.encode("utf-8"), TEXT.encode("utf-8-sig")):
        images = parse_body(raw, "application/json")
        assert images["dl"] == image_bytes(100, 100)


def test_a_double_encoded_body_in_utf16_is_refused_too():
    with pytest.raises(ApiError) as refused:
        parse_body(json.dumps(TEXT).encode("utf-16"), "application/json")
    assert str(refused.value.code) == "INVALID_JSON"
