"""The API's error type: every rejection carries a stable code, a message,
the field it concerns and an HTTP status, and nothing internal."""
from __future__ import annotations

from typing import Mapping, Optional


class ApiError(Exception):
    """An error the caller sees as JSON. Messages must never contain image
    data, AWS error text or internal names."""

    def __init__(self, status: int, code: str, message: str,
                 field: Optional[str] = None,
                 headers: Optional[Mapping[str, str]] = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.field = field
        self.headers = dict(headers or {})

    def body(self) -> dict:
        body = {"code": self.code, "message": self.message}
        if self.field is not None:
            body["field"] = self.field
        return body


def no_face(field: str) -> ApiError:
    what = "identity document" if field == "dl" else "selfie"
    return ApiError(422, "NO_FACE", f"No face was found in the {what} image.", field)


def too_many_faces(count: int) -> ApiError:
    return ApiError(422, "MULTIPLE_FACES",
                    f"The selfie shows {count} faces; it must show only the person verifying.",
                    "selfie")


def face_too_small(field: str) -> ApiError:
    return ApiError(422, "FACE_TOO_SMALL",
                    "The face is too small to compare; take the photo closer.", field)


def face_too_blurry(field: str) -> ApiError:
    return ApiError(422, "FACE_TOO_BLURRY",
                    "The face is too blurred to compare; hold the camera still and retake the photo.",
                    field)


def engine_busy(retry_after_s: int = 2) -> ApiError:
    return ApiError(503, "ENGINE_BUSY", "The face-comparison service is busy; retry shortly.",
                    headers={"Retry-After": str(retry_after_s)})


def engine_failed() -> ApiError:
    return ApiError(502, "ENGINE_ERROR", "The face-comparison service failed; retry later.")


def invalid_image(field: str) -> ApiError:
    return ApiError(400, "INVALID_IMAGE",
                    "The image could not be read; it may be truncated or corrupt.", field)


# --- server and admission (chalicelib/serve.py, chalicelib/admission.py) -----

def body_too_large(limit: int) -> ApiError:
    return ApiError(413, "BODY_TOO_LARGE",
                    f"The request body is over {limit} bytes; "
                    "downscale the images (2 MB each is plenty).")


def length_required() -> ApiError:
    return ApiError(411, "LENGTH_REQUIRED",
                    "Send the body with a Content-Length header (chunked bodies are not accepted).")


def malformed_request() -> ApiError:
    # Never says what was wrong in the caller's bytes: that text could quote them.
    return ApiError(400, "MALFORMED_REQUEST",
                    "The HTTP request could not be parsed (request line, headers or "
                    "Content-Length).")


def headers_too_large() -> ApiError:
    return ApiError(431, "HEADERS_TOO_LARGE", "The request headers are too large.")


def client_gone() -> ApiError:
    # Never seen by a client (it has gone); logged and counted as 499, as nginx does.
    return ApiError(499, "CLIENT_GONE", "The client closed the connection before its turn.")
