"""The API's one error catalogue: every rejection the caller can see.

Each error is JSON ``{"code", "message", "field"?, "request_id"}`` with an
HTTP status; the code is stable, the message is for people. Every
constructor lives here, so one code always reads the same wherever it is
raised. docs/errors.md explains each code to API users.

=====  ============================  ==================================================
status code                          when
=====  ============================  ==================================================
400    EMPTY_BODY                    no body
400    INVALID_JSON                  not JSON, nested too deep, not an object, dl/selfie twice
400    MISSING_FIELD                 dl or selfie missing, null or empty
400    INVALID_FIELD_TYPE            a field is not a string
400    INVALID_BASE64                not base64 (URLs and paths land here)
400    INVALID_IMAGE                 the file is truncated or corrupt
400    INVALID_SUBJECT_ID            subject_id missing, too long or with odd characters
400    MALFORMED_REQUEST             make run: the HTTP framing is broken (request line, a
                                     header, a Content-Length that is not a number)
400    INVALID_IDEMPOTENCY_KEY       Idempotency-Key not 1-255 printable ASCII characters
401    UNAUTHORIZED                  x-api-key missing, or no tenant's key
403    SCOPE_MISSING                 the key lacks the route's scope
409    IDEMPOTENCY_IN_PROGRESS       a request with this Idempotency-Key is still running
421    HOST_NOT_ALLOWED              make run: Host not in IPS_ALLOWED_HOSTS
422    IDEMPOTENCY_KEY_REUSED        the Idempotency-Key was used with another request
503    TENANTS_UNAVAILABLE           the tenant registry cannot be read
404    NOT_FOUND                     an unknown static asset of the web page
404    SUBJECT_NOT_FOUND             no subject enrolled under that id
405    METHOD_NOT_ALLOWED            another method than the route serves
411    LENGTH_REQUIRED               make run: a body without Content-Length, or chunked
413    BODY_TOO_LARGE                body over 6 MB
413    IMAGE_TOO_LARGE               an image over 5 MB
413    IMAGE_TOO_MANY_PIXELS         an image declares over 50 megapixels
415    UNSUPPORTED_MEDIA_TYPE        Content-Type is not application/json
415    UNSUPPORTED_IMAGE_FORMAT      an image in no format we decode
431    HEADERS_TOO_LARGE             make run: request headers over the server's limit
422    IMAGE_TOO_SMALL               an image under 80x80 px
422    NO_FACE                       no face found in dl or in selfie
422    MULTIPLE_FACES                the selfie shows more than one face
422    FACE_TOO_SMALL                offline engine: the face is too small to compare
422    FACE_TOO_BLURRY               offline engine: the face is too blurred to compare
499    CLIENT_GONE                   never sent: the client left before its turn (logs and
                                     metrics only, as nginx's 499)
500    INTERNAL_ERROR                our bug; details only in our logs
502    ENGINE_ERROR                  the face engine failed
503    ENGINE_BUSY                   the engine is busy or throttled; honour Retry-After
503    ENGINE_UNAVAILABLE            the offline engine is not installed on this server
503    STORE_BUSY                    the enrolment store is locked or throttled; retry
503    STORE_UNAVAILABLE             the enrolment store cannot be read or written
504    ENGINE_TIMEOUT                Rekognition did not answer in time
=====  ============================  ==================================================
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Any

from chalicelib.core import limits


class Code(StrEnum):
    """Every error code the API can answer with."""

    EMPTY_BODY = "EMPTY_BODY"
    INVALID_JSON = "INVALID_JSON"
    MISSING_FIELD = "MISSING_FIELD"
    INVALID_FIELD_TYPE = "INVALID_FIELD_TYPE"
    INVALID_BASE64 = "INVALID_BASE64"
    INVALID_IMAGE = "INVALID_IMAGE"
    MALFORMED_REQUEST = "MALFORMED_REQUEST"
    UNAUTHORIZED = "UNAUTHORIZED"
    NOT_FOUND = "NOT_FOUND"
    METHOD_NOT_ALLOWED = "METHOD_NOT_ALLOWED"
    LENGTH_REQUIRED = "LENGTH_REQUIRED"
    BODY_TOO_LARGE = "BODY_TOO_LARGE"
    IMAGE_TOO_LARGE = "IMAGE_TOO_LARGE"
    IMAGE_TOO_MANY_PIXELS = "IMAGE_TOO_MANY_PIXELS"
    UNSUPPORTED_MEDIA_TYPE = "UNSUPPORTED_MEDIA_TYPE"
    UNSUPPORTED_IMAGE_FORMAT = "UNSUPPORTED_IMAGE_FORMAT"
    HEADERS_TOO_LARGE = "HEADERS_TOO_LARGE"
    IMAGE_TOO_SMALL = "IMAGE_TOO_SMALL"
    NO_FACE = "NO_FACE"
    MULTIPLE_FACES = "MULTIPLE_FACES"
    FACE_TOO_SMALL = "FACE_TOO_SMALL"
    FACE_TOO_BLURRY = "FACE_TOO_BLURRY"
    CLIENT_GONE = "CLIENT_GONE"
    INTERNAL_ERROR = "INTERNAL_ERROR"
    ENGINE_ERROR = "ENGINE_ERROR"
    ENGINE_BUSY = "ENGINE_BUSY"
    ENGINE_UNAVAILABLE = "ENGINE_UNAVAILABLE"
    ENGINE_TIMEOUT = "ENGINE_TIMEOUT"
    INVALID_SUBJECT_ID = "INVALID_SUBJECT_ID"
    SUBJECT_NOT_FOUND = "SUBJECT_NOT_FOUND"
    STORE_BUSY = "STORE_BUSY"
    STORE_UNAVAILABLE = "STORE_UNAVAILABLE"
    # issue 17: tenants, scopes, the edge, idempotency keys
    SCOPE_MISSING = "SCOPE_MISSING"
    HOST_NOT_ALLOWED = "HOST_NOT_ALLOWED"
    INVALID_IDEMPOTENCY_KEY = "INVALID_IDEMPOTENCY_KEY"
    IDEMPOTENCY_KEY_REUSED = "IDEMPOTENCY_KEY_REUSED"
    IDEMPOTENCY_IN_PROGRESS = "IDEMPOTENCY_IN_PROGRESS"
    TENANTS_UNAVAILABLE = "TENANTS_UNAVAILABLE"


# The HTTP status each code is answered with (the table above, as data: the
# contract test checks openapi.yaml documents each code under this status).
STATUS: dict[Code, int] = {
    Code.EMPTY_BODY: 400,
    Code.INVALID_JSON: 400,
    Code.MISSING_FIELD: 400,
    Code.INVALID_FIELD_TYPE: 400,
    Code.INVALID_BASE64: 400,
    Code.INVALID_IMAGE: 400,
    Code.MALFORMED_REQUEST: 400,
    Code.UNAUTHORIZED: 401,
    Code.NOT_FOUND: 404,
    Code.METHOD_NOT_ALLOWED: 405,
    Code.LENGTH_REQUIRED: 411,
    Code.BODY_TOO_LARGE: 413,
    Code.IMAGE_TOO_LARGE: 413,
    Code.IMAGE_TOO_MANY_PIXELS: 413,
    Code.UNSUPPORTED_MEDIA_TYPE: 415,
    Code.UNSUPPORTED_IMAGE_FORMAT: 415,
    Code.HEADERS_TOO_LARGE: 431,
    Code.IMAGE_TOO_SMALL: 422,
    Code.NO_FACE: 422,
    Code.MULTIPLE_FACES: 422,
    Code.FACE_TOO_SMALL: 422,
    Code.FACE_TOO_BLURRY: 422,
    Code.CLIENT_GONE: 499,
    Code.INTERNAL_ERROR: 500,
    Code.ENGINE_ERROR: 502,
    Code.ENGINE_BUSY: 503,
    Code.ENGINE_UNAVAILABLE: 503,
    Code.ENGINE_TIMEOUT: 504,
    Code.INVALID_SUBJECT_ID: 400,
    Code.SUBJECT_NOT_FOUND: 404,
    Code.STORE_BUSY: 503,
    Code.STORE_UNAVAILABLE: 503,
    # issue 17
    Code.SCOPE_MISSING: 403,
    Code.HOST_NOT_ALLOWED: 421,
    Code.INVALID_IDEMPOTENCY_KEY: 400,
    Code.IDEMPOTENCY_KEY_REUSED: 422,
    Code.IDEMPOTENCY_IN_PROGRESS: 409,
    Code.TENANTS_UNAVAILABLE: 503,
}


class ApiError(Exception):
    """An error the caller sees as JSON. Messages must never contain image
    data, AWS error text or internal names."""

    def __init__(
        self,
        status: int,
        code: Code,
        message: str,
        field: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = Code(code)
        self.message = message
        self.field = field
        self.headers = dict(headers or {})

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"code": str(self.code), "message": self.message}
        if self.field is not None:
            body["field"] = self.field
        return body


def _image_name(field: str) -> str:
    return "identity document" if field == "dl" else "selfie"


# --- the request ------------------------------------------------------------


def empty_body() -> ApiError:
    return ApiError(
        400,
        Code.EMPTY_BODY,
        'The body is empty; send {"dl": "<base64>", "selfie": "<base64>"}.',
    )


def invalid_json(
    message: str = "The body is not valid JSON.", field: str | None = None
) -> ApiError:
    return ApiError(400, Code.INVALID_JSON, message, field)


def missing_field(field: str) -> ApiError:
    return ApiError(400, Code.MISSING_FIELD, f'The field "{field}" is missing or empty.', field)


def invalid_field_type(field: str, expected: str = "a base64 string") -> ApiError:
    return ApiError(400, Code.INVALID_FIELD_TYPE, f'The field "{field}" must be {expected}.', field)


def invalid_base64(field: str) -> ApiError:
    return ApiError(
        400,
        Code.INVALID_BASE64,
        f'The field "{field}" is not valid base64 of an image file '
        "(URLs and file paths are not accepted).",
        field,
    )


def unsupported_media_type() -> ApiError:
    return ApiError(
        415, Code.UNSUPPORTED_MEDIA_TYPE, "Send the request as Content-Type: application/json."
    )


def body_too_large() -> ApiError:
    return ApiError(
        413,
        Code.BODY_TOO_LARGE,
        f"The request body is over {limits.MAX_BODY_BYTES} bytes; "
        "downscale the images (2 MB each is plenty).",
    )


def unauthorized(message: str, challenge: str) -> ApiError:
    return ApiError(401, Code.UNAUTHORIZED, message, headers={"WWW-Authenticate": challenge})


def method_not_allowed(path: str, allowed: str) -> ApiError:
    methods = [m.strip() for m in allowed.split(",") if m.strip() != "OPTIONS"]
    return ApiError(
        405,
        Code.METHOD_NOT_ALLOWED,
        f"Use {' or '.join(methods)} for {path}.",
        headers={"Allow": allowed},
    )


def not_found(message: str = "No such file.") -> ApiError:
    return ApiError(404, Code.NOT_FOUND, message)


# --- the images ---------------------------------------------------------------


def image_too_large(field: str | None = None) -> ApiError:
    what = "An image" if field is None else "The image"
    return ApiError(
        413,
        Code.IMAGE_TOO_LARGE,
        f"{what} is over {limits.MAX_IMAGE_BYTES} bytes; downscale it.",
        field,
    )


def image_too_many_pixels(field: str) -> ApiError:
    return ApiError(
        413,
        Code.IMAGE_TOO_MANY_PIXELS,
        f"The image has more than {limits.MAX_PIXELS} pixels; downscale it.",
        field,
    )


def unsupported_image_format(field: str) -> ApiError:
    return ApiError(
        415,
        Code.UNSUPPORTED_IMAGE_FORMAT,
        "The image must be a JPEG, PNG, HEIC, WebP, AVIF, GIF, BMP or TIFF file.",
        field,
    )


def image_too_small(field: str, width: int, height: int) -> ApiError:
    return ApiError(
        422,
        Code.IMAGE_TOO_SMALL,
        f"The image is {width}x{height} px; it must be at least "
        f"{limits.MIN_SIDE_PX}x{limits.MIN_SIDE_PX}.",
        field,
    )


def invalid_image(field: str | None = None) -> ApiError:
    subject = "An image" if field is None else "The image"
    return ApiError(
        400,
        Code.INVALID_IMAGE,
        f"{subject} could not be read; it may be truncated or corrupt.",
        field,
    )


# --- the faces ------------------------------------------------------------------


def no_face(field: str) -> ApiError:
    return ApiError(
        422, Code.NO_FACE, f"No face was found in the {_image_name(field)} image.", field
    )


def too_many_faces(count: int) -> ApiError:
    return ApiError(
        422,
        Code.MULTIPLE_FACES,
        f"The selfie shows {count} faces; it must show only the person verifying.",
        "selfie",
    )


def face_too_small(field: str) -> ApiError:
    return ApiError(
        422,
        Code.FACE_TOO_SMALL,
        "The face is too small to compare; take the photo closer.",
        field,
    )


def face_too_blurry(field: str) -> ApiError:
    return ApiError(
        422,
        Code.FACE_TOO_BLURRY,
        "The face is too blurred to compare; hold the camera still and retake the photo.",
        field,
    )


# --- our side and the engines ----------------------------------------------------


def internal() -> ApiError:
    return ApiError(500, Code.INTERNAL_ERROR, "Something went wrong on our side; retry later.")


def engine_failed() -> ApiError:
    return ApiError(502, Code.ENGINE_ERROR, "The face-comparison service failed; retry later.")


def engine_busy(retry_after_s: int = 2) -> ApiError:
    return ApiError(
        503,
        Code.ENGINE_BUSY,
        "The face-comparison service is busy; retry shortly.",
        headers={"Retry-After": str(retry_after_s)},
    )


def engine_unavailable() -> ApiError:
    return ApiError(
        503,
        Code.ENGINE_UNAVAILABLE,
        "The offline face engine is not installed on this server.",
    )


def engine_timeout() -> ApiError:
    return ApiError(504, Code.ENGINE_TIMEOUT, "The face-comparison service timed out; retry.")


# --- enrolment (chalicelib/enrolment/, docs/enrolment.md) -------------------


def invalid_subject_id() -> ApiError:
    return ApiError(
        400,
        Code.INVALID_SUBJECT_ID,
        "subject_id must be 1-64 characters: letters, digits, '_', '.' or '-', "
        "starting with a letter or digit.",
        "subject_id",
    )


def subject_not_found() -> ApiError:
    return ApiError(
        404, Code.SUBJECT_NOT_FOUND, "No subject is enrolled under this id.", "subject_id"
    )


def store_busy(retry_after_s: int = 1) -> ApiError:
    return ApiError(
        503,
        Code.STORE_BUSY,
        "The enrolment store is busy; retry shortly.",
        headers={"Retry-After": str(retry_after_s)},
    )


def store_unavailable() -> ApiError:
    """The store cannot be written or read (disk full, read-only, I/O error):
    an operator must act; nothing was changed."""
    return ApiError(
        503,
        Code.STORE_UNAVAILABLE,
        "The enrolment store is unavailable; nothing was changed. Retry later.",
    )


# --- HTTP framing and admission (make run: chalicelib/serve/, chalicelib/admission.py)


def length_required() -> ApiError:
    return ApiError(
        411,
        Code.LENGTH_REQUIRED,
        "Send the body with a Content-Length header (chunked bodies are not accepted).",
    )


def malformed_request() -> ApiError:
    # Never says what was wrong in the caller's bytes: that text could quote them.
    return ApiError(
        400,
        Code.MALFORMED_REQUEST,
        "The HTTP request could not be parsed (request line, headers or Content-Length).",
    )


def headers_too_large() -> ApiError:
    return ApiError(431, Code.HEADERS_TOO_LARGE, "The request headers are too large.")


def client_gone() -> ApiError:
    # Never seen by a client (it has gone): logged and counted as 499, as nginx does.
    return ApiError(499, Code.CLIENT_GONE, "The client closed the connection before its turn came.")


# --- tenants, the edge, idempotency keys (issue 17: chalicelib/tenants/, http/, idempotency/)


def scope_missing(scope: str) -> ApiError:
    return ApiError(
        403, Code.SCOPE_MISSING, f'This API key lacks the "{scope}" scope this route needs.'
    )


def host_not_allowed() -> ApiError:
    # Never quotes the Host header: it is the caller's input.
    return ApiError(
        421, Code.HOST_NOT_ALLOWED, "This server does not answer for that Host (IPS_ALLOWED_HOSTS)."
    )


def invalid_idempotency_key() -> ApiError:
    return ApiError(
        400,
        Code.INVALID_IDEMPOTENCY_KEY,
        "Idempotency-Key must be 1-255 printable ASCII characters without spaces.",
        "Idempotency-Key",
    )


def idempotency_key_reused() -> ApiError:
    return ApiError(
        422,
        Code.IDEMPOTENCY_KEY_REUSED,
        "This Idempotency-Key was used with a different request; use a new key for a new request.",
        "Idempotency-Key",
    )


def idempotency_in_progress(retry_after_s: int = 1) -> ApiError:
    return ApiError(
        409,
        Code.IDEMPOTENCY_IN_PROGRESS,
        "A request with this Idempotency-Key is still running; retry shortly.",
        "Idempotency-Key",
        headers={"Retry-After": str(retry_after_s)},
    )


def tenants_unavailable() -> ApiError:
    return ApiError(
        503,
        Code.TENANTS_UNAVAILABLE,
        "The tenant registry cannot be read; retry later.",
        headers={"Retry-After": "5"},
    )
