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


# --- enrolment (chalicelib/enrolment/, docs/enrolment.md) -----------------


def invalid_subject_id() -> ApiError:
    return ApiError(400, "INVALID_SUBJECT_ID",
                    "subject_id must be 1-64 characters: letters, digits, '_', '.' or '-', "
                    "starting with a letter or digit.", "subject_id")


def subject_not_found() -> ApiError:
    return ApiError(404, "SUBJECT_NOT_FOUND", "No subject is enrolled under this id.",
                    "subject_id")


def store_busy(retry_after_s: int = 1) -> ApiError:
    return ApiError(503, "STORE_BUSY", "The enrolment store is busy; retry shortly.",
                    headers={"Retry-After": str(retry_after_s)})


def store_unavailable() -> ApiError:
    """The store cannot be written or read (disk full, read-only, I/O error):
    an operator must act; nothing was changed."""
    return ApiError(503, "STORE_UNAVAILABLE",
                    "The enrolment store is unavailable; nothing was changed. Retry later.")
