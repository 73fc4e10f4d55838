"""Turns a raw request body into what a flow reads: the JSON object, the
images' bytes, the optional `expected` data.

Accepts what real clients send: a JSON object, or a JSON string holding that
object (the original sample client double-encodes with
``requests.post(url, json=json.dumps(payload))``); base64 with or without a
``data:image/...;base64,`` prefix, line breaks or spaces, standard or
URL-safe alphabet, with or without padding. Nothing else: no URLs or paths,
so the server never fetches anything. Sizes are checked before decoding."""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Mapping
from datetime import date
from typing import Any

from chalicelib.core import errors
from chalicelib.core.limits import MAX_BODY_BYTES, MAX_IMAGE_BYTES
from chalicelib.documents.checks import Expected

FIELDS = ("dl", "selfie")
# Fields whose repetition is refused (see _no_repeated_image_fields).
_SINGLE_FIELDS = (*FIELDS, "subject_id")
_MAX_BASE64_CHARS = 4 * -(-MAX_IMAGE_BYTES // 3)
# Room for a data-URI prefix and MIME line breaks (2 chars per 76).
_MAX_RAW_CHARS = _MAX_BASE64_CHARS * 78 // 76 + 256

_DATA_URI = re.compile(r"^data:[\w.+/-]*(?:;[\w.+-]+=[\w.+-]+)*;base64,", re.IGNORECASE)
_WHITESPACE = re.compile(r"\s+")
_BASE64_CHARS = re.compile(r"^[A-Za-z0-9+/]*={0,2}$")


def parse_body(raw: bytes, content_type: str | None = None) -> dict[str, bytes]:
    """Return {"dl": bytes, "selfie": bytes} or raise ApiError."""
    payload = load_payload(raw, content_type)
    return {field: decode_image_field(payload, field) for field in FIELDS}


def load_payload(raw: bytes, content_type: str | None = None) -> dict[str, Any]:
    """The request's JSON object (images still base64), checked before any
    image is decoded, or raise ApiError (other routes read other fields from
    it). The Content-Type must be application/json (415 otherwise, even when missing)."""
    # No Content-Type is refused too (issue 17): a web page's no-cors POST
    # carries text/plain or none, and must never be read as JSON.
    media_type = (content_type or "").split(";")[0].strip().lower()
    if media_type != "application/json":
        raise errors.unsupported_media_type()
    if len(raw) > MAX_BODY_BYTES:
        raise errors.body_too_large()
    payload = _load_json(raw)
    if isinstance(payload, str):
        payload = _load_json(payload.encode("utf-8", "surrogatepass"))
    if not isinstance(payload, dict):
        raise errors.invalid_json(
            'The body must be a JSON object: {"dl": "<base64>", "selfie": "<base64>"}.'
        )
    return payload


def _load_json(raw: bytes) -> Any:
    if not raw.strip():
        raise errors.empty_body()
    try:
        # JSON on the wire is UTF-8 (RFC 8259 section 8.1). json.loads(bytes)
        # would also guess UTF-16 and UTF-32; decoding first refuses them (a
        # UTF-16/32 BOM is invalid UTF-8, and their zero bytes are invalid
        # JSON). A UTF-8 BOM is ignored, as the RFC allows.
        text = raw.decode("utf-8-sig")
        return json.loads(text, object_pairs_hook=_no_repeated_image_fields)
    except (ValueError, RecursionError):
        # ValueError covers bad JSON and bad UTF-8; RecursionError deep nesting.
        raise errors.invalid_json("The body is not valid JSON in UTF-8.") from None


def _no_repeated_image_fields(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """A repeated "dl" or "selfie" is rejected: parsers disagree on which copy
    wins (first, last, error), so a gateway or log and this service could
    read different images. Other repeated keys are ignored like any unknown field."""
    obj: dict[str, Any] = {}
    for key, value in pairs:
        if key in obj and key in _SINGLE_FIELDS:
            raise errors.invalid_json(f'The field "{key}" appears more than once.', key)
        obj[key] = value
    return obj


def decode_image_field(payload: dict[str, Any], field: str) -> bytes:
    value = payload.get(field)
    if value is None or value == "":
        raise errors.missing_field(field)
    if not isinstance(value, str):
        raise errors.invalid_field_type(field)
    if len(value) > _MAX_RAW_CHARS:
        raise errors.image_too_large(field)
    text = _WHITESPACE.sub("", _DATA_URI.sub("", value, count=1))
    text = text.replace("-", "+").replace("_", "/").rstrip("=")
    if len(text) > _MAX_BASE64_CHARS:
        raise errors.image_too_large(field)
    if not text or len(text) % 4 == 1 or not _BASE64_CHARS.match(text):
        raise errors.invalid_base64(field)
    try:
        data = base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise errors.invalid_base64(field) from None
    if len(data) > MAX_IMAGE_BYTES:
        raise errors.image_too_large(field)
    return data


def parse_expected(payload: Mapping[str, Any]) -> Expected | None:
    """The optional `expected` object: what the person typed at sign-up."""
    value = payload.get("expected")
    if value is None:
        return None
    if not isinstance(value, dict):
        raise _bad_expected("an object with surname, given_names and date_of_birth")
    names: dict[str, str | None] = {}
    for key in ("surname", "given_names", "date_of_birth"):
        item = value.get(key)
        if item is not None and (not isinstance(item, str) or len(item) > 200):
            raise _bad_expected(f"an object whose {key} is a string (at most 200 characters)")
        names[key] = item.strip() if item else None
    birth = None
    if names["date_of_birth"]:
        try:
            birth = date.fromisoformat(names["date_of_birth"])
        except ValueError:
            raise _bad_expected("an object whose date_of_birth is a date, YYYY-MM-DD") from None
    return Expected(names["surname"], names["given_names"], birth)


def _bad_expected(what: str) -> errors.ApiError:
    return errors.invalid_field_type("expected", what)
