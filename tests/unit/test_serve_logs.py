"""The `make run` server's log formatter (chalicelib/serve/): a
third-party log record becomes one JSON line that never carries its message
text or its exception's text, which can quote a request."""

import json
import logging
import sys

from chalicelib.serve.logs import SafeJsonFormatter

SECRET = "U2VjcmV0U2VsZmll"


def _record(msg, args=(), exc_info=None, name="waitress"):
    return logging.LogRecord(name, logging.ERROR, __file__, 1, msg, args, exc_info)


def test_a_message_quoting_the_request_is_reduced_to_a_fixed_kind():
    line = SafeJsonFormatter().format(_record("Exception while serving /" + SECRET))
    assert SECRET not in line
    assert json.loads(line) == {"event": "server_log", "logger": "waitress", "level": "ERROR",
                                "kind": "exception_while_serving"}


def test_an_exception_is_logged_as_type_and_frames_only():
    try:
        raise ValueError(f"bad input {SECRET}")
    except ValueError:
        record = _record("Caught exception for %s", ("view",), sys.exc_info(), name="ips")
    line = SafeJsonFormatter().format(record)
    event = json.loads(line)
    assert SECRET not in line and "bad input" not in line
    assert event["kind"] == "app_exception" and event["error"] == "ValueError"
    assert event["frames"] and all(":" in frame for frame in event["frames"])


def test_queue_depth_keeps_its_number_and_unknown_messages_say_nothing():
    depth = json.loads(SafeJsonFormatter().format(_record("Task queue depth is %d", (7,))))
    assert depth["kind"] == "task_queue_depth" and depth["depth"] == 7
    other = SafeJsonFormatter().format(_record(f"something new: {SECRET}"))
    assert SECRET not in other and json.loads(other)["kind"] == "other"
