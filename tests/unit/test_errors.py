"""The error catalogue: every constructor answers with its code's status,
and no message quotes what it was given beyond the field name."""
import inspect

import pytest

from chalicelib.core import errors
from chalicelib.core.errors import STATUS, ApiError, Code

SAMPLE_ARGS = {"field": "dl", "count": 2, "width": 10, "height": 20, "message": "m",
               "challenge": "ApiKey", "path": "/ips", "allowed": "POST, OPTIONS",
               "retry_after_s": 3, "expected": "a string",
               "scope": "verify"}
CONSTRUCTORS = [f for name, f in inspect.getmembers(errors, inspect.isfunction)
                if f.__module__ == errors.__name__ and not name.startswith("_")]


def test_every_code_has_a_status():
    assert set(STATUS) == set(Code)


@pytest.mark.parametrize("constructor", CONSTRUCTORS, ids=lambda f: f.__name__)
def test_constructor_uses_the_catalogue_status(constructor):
    params = inspect.signature(constructor).parameters
    error = constructor(**{name: SAMPLE_ARGS[name] for name in params
                           if params[name].default is inspect.Parameter.empty})
    assert isinstance(error, ApiError)
    assert error.status == STATUS[error.code]
    assert error.body()["code"] == str(error.code)


def test_every_code_has_a_constructor():
    made = set()
    for constructor in CONSTRUCTORS:
        params = inspect.signature(constructor).parameters
        made.add(constructor(**{name: SAMPLE_ARGS[name] for name in params
                                if params[name].default is inspect.Parameter.empty}).code)
    assert made == set(Code)


def test_busy_carries_retry_after():
    assert errors.engine_busy(7).headers == {"Retry-After": "7"}


def test_method_not_allowed_names_the_methods():
    error = errors.method_not_allowed("/ips", "POST, OPTIONS")
    assert error.message == "Use POST for /ips."
    assert error.headers == {"Allow": "POST, OPTIONS"}
