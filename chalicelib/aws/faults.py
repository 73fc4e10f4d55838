"""How an AWS call failed, the same way for every adapter: throttled (retry
later), timed out, or failed. Each adapter turns the fault into its own
answer (503 ENGINE_BUSY, a document `read: false` with reason `throttled`,
503 STORE_BUSY, ...)."""

from __future__ import annotations

from botocore.exceptions import ClientError, ConnectTimeoutError, ReadTimeoutError

# The AWS error codes that mean "too many requests: retry later".
THROTTLED = frozenset(
    {
        "ThrottlingException",
        "ProvisionedThroughputExceededException",
        "LimitExceededException",
        "TooManyRequestsException",
    }
)
# The call did not complete in time (botocore's connect or read timeout).
TIMEOUTS = (ConnectTimeoutError, ReadTimeoutError)


def error_code(exc: ClientError) -> str:
    """The AWS error code of a failed call ("" when it has none)."""
    return str(exc.response.get("Error", {}).get("Code", ""))


def throttled(exc: ClientError, also: frozenset[str] = frozenset()) -> bool:
    """Whether the call was refused for its rate (or for a code in `also`
    that the adapter treats the same way)."""
    return error_code(exc) in THROTTLED | also
