"""API errors shared by the server and the client library.

The server raises these; the gRPC adapter turns each into its status code, and
the client library turns the code back into the same class, so callers on both
sides catch ``NotFoundError`` rather than parse messages. Messages read like
kubectl's: ``pods "web" not found``.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterable
from typing import Any

import grpc


class APIError(Exception):
    """An error the API answers with; ``code`` is its gRPC status code."""

    code: grpc.StatusCode = grpc.StatusCode.UNKNOWN
    reason: str = "Unknown"  # Kubernetes' StatusReason, for `Error from server (Reason)`

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFoundError(APIError):
    code = grpc.StatusCode.NOT_FOUND
    reason = "NotFound"


class AlreadyExistsError(APIError):
    code = grpc.StatusCode.ALREADY_EXISTS
    reason = "AlreadyExists"


class ConflictError(APIError):
    """A stale resourceVersion: read the object again and retry."""

    code = grpc.StatusCode.ABORTED
    reason = "Conflict"


class InvalidError(APIError):
    """The object breaks a rule; ``causes`` holds one ``(field path, message)``
    per problem."""

    code = grpc.StatusCode.INVALID_ARGUMENT
    reason = "Invalid"

    def __init__(self, message: str, causes: list[tuple[str, str]] | None = None) -> None:
        super().__init__(message)
        self.causes = causes or []


class BadRequestError(APIError):
    code = grpc.StatusCode.INVALID_ARGUMENT
    reason = "BadRequest"


class GoneError(APIError):
    """A watch or list from a resourceVersion that was compacted away."""

    code = grpc.StatusCode.OUT_OF_RANGE
    reason = "Expired"


class PreconditionFailedError(APIError):
    code = grpc.StatusCode.FAILED_PRECONDITION
    reason = "Conflict"


class ForbiddenError(APIError):
    code = grpc.StatusCode.PERMISSION_DENIED
    reason = "Forbidden"


class UnauthorizedError(APIError):
    code = grpc.StatusCode.UNAUTHENTICATED
    reason = "Unauthorized"


class UnavailableError(APIError):
    code = grpc.StatusCode.UNAVAILABLE
    reason = "ServiceUnavailable"


class TooManyRequestsError(APIError):
    """The server shed this request or stream (a user over their share of
    the server, a watch that fell too far behind); retry after
    ``retry_after_seconds``, a watch from the last resourceVersion it delivered."""

    code = grpc.StatusCode.RESOURCE_EXHAUSTED
    reason = "TooManyRequests"

    def __init__(self, message: str, retry_after_seconds: int = 0) -> None:
        super().__init__(message)
        self.retry_after_seconds = retry_after_seconds


class RequestEntityTooLargeError(APIError):
    """A request body (or what a patch would make of it) over a limit: HTTP 413."""

    code = grpc.StatusCode.RESOURCE_EXHAUSTED
    reason = "RequestEntityTooLarge"


class ServerTimeoutError(APIError):
    """Kubernetes' 504 Timeout: e.g. a list at a resourceVersion the server
    has not reached ("Too large resource version"); retry after
    ``retry_after_seconds``."""

    code = grpc.StatusCode.DEADLINE_EXCEEDED
    reason = "Timeout"

    def __init__(self, message: str, retry_after_seconds: int = 1) -> None:
        super().__init__(message)
        self.retry_after_seconds = retry_after_seconds


class InternalError(APIError):
    code = grpc.StatusCode.INTERNAL
    reason = "InternalError"


# The client maps a status code back to a class; INVALID_ARGUMENT maps to
# InvalidError (its BadRequest twin differs only in the reason word).
_CLASSES: tuple[type[APIError], ...] = (
    NotFoundError,
    AlreadyExistsError,
    ConflictError,
    BadRequestError,
    InvalidError,
    GoneError,
    PreconditionFailedError,
    ForbiddenError,
    UnauthorizedError,
    UnavailableError,
    RequestEntityTooLargeError,  # before its RESOURCE_EXHAUSTED twin, the code's default
    TooManyRequestsError,
    ServerTimeoutError,
    InternalError,
)
_BY_CODE: dict[grpc.StatusCode, type[APIError]] = {cls.code: cls for cls in _CLASSES}


_BY_REASON: dict[tuple[str, grpc.StatusCode], type[APIError]] = {
    (cls.reason, cls.code): cls for cls in _CLASSES
}

REASON_KEY = "shoal-reason"
CAUSES_KEY = "shoal-causes-bin"
RETRY_AFTER_KEY = "shoal-retry-after"  # seconds, as HTTP's Retry-After


def trailing_metadata(err: APIError) -> tuple[tuple[str, str | bytes], ...]:
    """What the server sends beside the status, so the client rebuilds the
    same error: its reason word and, for InvalidError, the field causes."""
    pairs: list[tuple[str, str | bytes]] = [(REASON_KEY, err.reason)]
    if isinstance(err, InvalidError) and err.causes:
        pairs.append((CAUSES_KEY, json.dumps(err.causes).encode()))
    retry = getattr(err, "retry_after_seconds", 0)
    if retry:
        pairs.append((RETRY_AFTER_KEY, str(retry)))
    return tuple(pairs)


def from_status(
    code: grpc.StatusCode, message: str, metadata: Iterable[tuple[str, Any]] = ()
) -> APIError:
    """The APIError for a gRPC status (and trailing metadata) a client received."""
    extra = dict(metadata or ())
    cls = _BY_REASON.get((str(extra.get(REASON_KEY, "")), code)) or _BY_CODE.get(code, APIError)
    if cls is TooManyRequestsError and REASON_KEY not in extra and "larger than max" in message:
        cls = RequestEntityTooLargeError  # gRPC's own message size check, not a shed request
    err = cls(message)
    if cls is APIError:
        err.code = code
    if isinstance(err, InvalidError) and CAUSES_KEY in extra:
        with contextlib.suppress(ValueError, TypeError):
            err.causes = [(str(p), str(m)) for p, m in json.loads(extra[CAUSES_KEY])]
    if hasattr(err, "retry_after_seconds"):
        with contextlib.suppress(ValueError, TypeError):
            err.retry_after_seconds = int(extra.get(RETRY_AFTER_KEY, 0))
    return err


def not_found(plural: str, name: str) -> NotFoundError:
    return NotFoundError(f'{plural} "{name}" not found')


def already_exists(plural: str, name: str) -> AlreadyExistsError:
    return AlreadyExistsError(f'{plural} "{name}" already exists')


def conflict(plural: str, name: str) -> ConflictError:
    return ConflictError(
        f'Operation cannot be fulfilled on {plural} "{name}": the object has been modified; '
        "please apply your changes to the latest version and try again"
    )


def invalid(kind: str, name: str, causes: list[tuple[str, str]]) -> InvalidError:
    detail = ", ".join(f"{path}: {msg}" if path else msg for path, msg in causes)
    return InvalidError(f'{kind} "{name}" is invalid: {detail}', causes)
