"""API errors shared by the server and the client library.

The server raises these; the gRPC adapter turns each into its status code, and
the client library turns the code back into the same class, so callers on both
sides catch ``NotFoundError`` rather than parse messages. Messages read like
kubectl's: ``pods "web" not found``.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Iterable
from typing import Any

import grpc


class APIError(Exception):
    """An error the API answers with; ``code`` is its gRPC status code.

    ``name``, ``group`` and ``kind`` are Kubernetes' StatusDetails of the
    error, empty when unknown: the object's name, its API group, and (as
    Kubernetes fills them) the resource's plural ("pods") for NotFound,
    AlreadyExists, Conflict and Forbidden, the Kind ("Pod") for Invalid.
    They travel to clients in the trailing metadata, so the HTTP gateway
    answers with the same Status body kube-apiserver does."""

    code: grpc.StatusCode = grpc.StatusCode.UNKNOWN
    reason: str = "Unknown"  # Kubernetes' StatusReason, for `Error from server (Reason)`
    # False for a failure the client met on its own (no server answered it):
    # "the API server is not answering" rather than "Error from server".
    from_server: bool = True

    def __init__(self, message: str, *, name: str = "", group: str = "", kind: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.name, self.group, self.kind = name, group, kind
        # (field path, message) pairs: an invalid object's field errors, an
        # apply's conflicting fields
        self.causes: list[tuple[str, str]] = []

    def details(self) -> dict[str, str]:
        """The StatusDetails fields that are set."""
        found = {"name": self.name, "group": self.group, "kind": self.kind}
        return {key: value for key, value in found.items() if value}


class NotFoundError(APIError):
    code = grpc.StatusCode.NOT_FOUND
    reason = "NotFound"


class AlreadyExistsError(APIError):
    code = grpc.StatusCode.ALREADY_EXISTS
    reason = "AlreadyExists"


class ConflictError(APIError):
    """A stale resourceVersion: read the object again and retry. Also a
    server-side apply that would change fields another manager owns:
    ``causes`` then names them (Kubernetes' FieldManagerConflict)."""

    code = grpc.StatusCode.ABORTED
    reason = "Conflict"

    def __init__(
        self,
        message: str,
        *,
        causes: list[tuple[str, str]] | None = None,
        name: str = "",
        group: str = "",
        kind: str = "",
    ) -> None:
        super().__init__(message, name=name, group=group, kind=kind)
        self.causes = causes or []


class InvalidError(APIError):
    """The object breaks a rule; ``causes`` holds one ``(field path, message)``
    per problem."""

    code = grpc.StatusCode.INVALID_ARGUMENT
    reason = "Invalid"

    def __init__(
        self,
        message: str,
        causes: list[tuple[str, str]] | None = None,
        *,
        name: str = "",
        group: str = "",
        kind: str = "",
    ) -> None:
        super().__init__(message, name=name, group=group, kind=kind)
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


class InsufficientStorageError(APIError):
    """The store's disk is full: writes are refused (HTTP 507); reads and
    deletes still work."""

    code = grpc.StatusCode.RESOURCE_EXHAUSTED
    reason = "InsufficientStorage"


class TooManyRequestsError(APIError):
    """The server shed this request or stream (a user over their share of
    the server, a watch that fell too far behind); retry after
    ``retry_after_seconds``, a watch from the last resourceVersion it delivered.
    ``causes`` holds ``(reason, message)`` pairs here, not field paths: an
    eviction a disruption budget refuses says why (Kubernetes' DisruptionBudget
    cause)."""

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
    InsufficientStorageError,  # these two before their RESOURCE_EXHAUSTED twin,
    RequestEntityTooLargeError,  # TooManyRequestsError, the code's default
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
DETAILS_KEY = "shoal-details-bin"  # JSON {"name", "group", "kind"}: StatusDetails
# gRPC's rich error model: a google.rpc.Status with typed details, which the
# grpc libraries of most languages decode (grpc-status in Python, Go's
# status.FromError, grpc-js' @grpc/grpc-js + google-protobuf).
STATUS_DETAILS_KEY = "grpc-status-details-bin"
ERROR_DOMAIN = "shoal.io"


# The receiving gRPC library refuses trailing metadata past 8 KiB, its soft
# limit, counting each header as name + value + 32 bytes (-bin values
# base64-encoded), grpc-status and grpc-message included. An invalid object's
# causes travel four times (in grpc-message, shoal-causes-bin, the rich
# status's message and its BadRequest), so when they would not fit, the rich
# status goes without a message and only the first causes travel separately:
# grpc-message still lists them all.
METADATA_BUDGET = 7 * 1024
_HEADER_OVERHEAD = 32
_FIXED_HEADERS = 256  # :status, content-type, grpc-status
RETRY_AFTER_KEY = "shoal-retry-after"  # seconds, as HTTP's Retry-After


def trailing_metadata(err: APIError) -> tuple[tuple[str, str | bytes], ...]:
    """What the server sends beside the status, so the client rebuilds the
    same error: its reason word, its details (name, group, kind) and, for
    InvalidError, the field causes, also as the standard ``google.rpc.Status``
    details; within METADATA_BUDGET."""
    causes = err.causes
    pairs = _metadata(err, causes, with_message=True)
    keep = len(causes)
    # Over budget: first leave the message (grpc-message has it) out of the
    # rich status, then halve the causes sent separately.
    while metadata_size(pairs, err.message) > METADATA_BUDGET:
        pairs = _metadata(err, causes[:keep], with_message=False)
        if keep == 0:
            break
        keep //= 2
    return pairs


def metadata_size(pairs: Iterable[tuple[str, str | bytes]], message: str = "") -> int:
    """Bytes the trailing metadata counts against gRPC's limit, as HTTP/2
    does (RFC 7541, 4.1), with grpc-message carrying `message`."""
    size = _FIXED_HEADERS + len("grpc-message") + len(message.encode()) + _HEADER_OVERHEAD
    for key, value in pairs:
        length = len(value.encode() if isinstance(value, str) else value)
        if key.endswith("-bin"):
            length = (length + 2) // 3 * 4
        size += len(key) + length + _HEADER_OVERHEAD
    return size


def _metadata(
    err: APIError, causes: list[tuple[str, str]], *, with_message: bool
) -> tuple[tuple[str, str | bytes], ...]:
    pairs: list[tuple[str, str | bytes]] = [(REASON_KEY, err.reason)]
    if causes:
        pairs.append((CAUSES_KEY, json.dumps(causes).encode()))
    if err.details():
        pairs.append((DETAILS_KEY, json.dumps(err.details()).encode()))
    status = rich_status(err, causes, with_message=with_message)
    pairs.append((STATUS_DETAILS_KEY, status.SerializeToString()))
    retry = getattr(err, "retry_after_seconds", 0)
    if retry:
        pairs.append((RETRY_AFTER_KEY, str(retry)))
    return tuple(pairs)


def rich_status(
    err: APIError, causes: list[tuple[str, str]] | None = None, *, with_message: bool = True
) -> Any:
    """The google.rpc.Status of an error: ErrorInfo carries Kubernetes'
    reason (in AIP-193's UPPER_SNAKE form, the CamelCase word in its
    metadata, beside the name, group and kind of the details), BadRequest
    the field causes of an InvalidError (``causes``, when given, instead)."""
    # Imported when first needed: the command line imports this module on
    # every start and never sends an error.
    from google.rpc import error_details_pb2, status_pb2

    if causes is None:
        causes = err.causes
    status = status_pb2.Status(code=err.code.value[0], message=err.message if with_message else "")
    info = error_details_pb2.ErrorInfo(
        reason=_upper_snake(err.reason),
        domain=ERROR_DOMAIN,
        metadata={"reason": err.reason, **err.details()},
    )
    status.details.add().Pack(info)
    if causes:
        bad = error_details_pb2.BadRequest()
        for field, description in causes:
            bad.field_violations.add(field=field, description=description)
        status.details.add().Pack(bad)
    return status


def _upper_snake(word: str) -> str:
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", word).upper() or "UNKNOWN"


def from_status(
    code: grpc.StatusCode, message: str, metadata: Iterable[tuple[str, Any]] = ()
) -> APIError:
    """The APIError for a gRPC status (and trailing metadata) a client received."""
    extra = dict(metadata or ())
    cls = _BY_REASON.get((str(extra.get(REASON_KEY, "")), code)) or _BY_CODE.get(code, APIError)
    if cls is TooManyRequestsError and REASON_KEY not in extra and "larger than max" in message:
        cls = RequestEntityTooLargeError  # gRPC's own message size check, not a shed request
    err = cls(message)
    err.from_server = REASON_KEY in extra  # every answer of the server carries it
    if cls is APIError:
        err.code = code
    if CAUSES_KEY in extra:
        with contextlib.suppress(ValueError, TypeError):
            err.causes = [(str(p), str(m)) for p, m in json.loads(extra[CAUSES_KEY])]
    if DETAILS_KEY in extra:
        with contextlib.suppress(ValueError, TypeError, AttributeError):
            details = json.loads(extra[DETAILS_KEY])
            err.name, err.group, err.kind = (
                str(details.get(k, "")) for k in ("name", "group", "kind")
            )
    if hasattr(err, "retry_after_seconds"):
        with contextlib.suppress(ValueError, TypeError):
            err.retry_after_seconds = int(extra.get(RETRY_AFTER_KEY, 0))
    return err


def not_found(plural: str, name: str, group: str = "") -> NotFoundError:
    return NotFoundError(f'{plural} "{name}" not found', name=name, group=group, kind=plural)


def already_exists(plural: str, name: str, group: str = "") -> AlreadyExistsError:
    return AlreadyExistsError(
        f'{plural} "{name}" already exists', name=name, group=group, kind=plural
    )


def conflict(plural: str, name: str, group: str = "") -> ConflictError:
    return ConflictError(
        f'Operation cannot be fulfilled on {plural} "{name}": the object has been modified; '
        "please apply your changes to the latest version and try again",
        name=name,
        group=group,
        kind=plural,
    )


def invalid(kind: str, name: str, causes: list[tuple[str, str]], group: str = "") -> InvalidError:
    detail = ", ".join(f"{path}: {msg}" if path else msg for path, msg in causes)
    return InvalidError(
        f'{kind} "{name}" is invalid: {detail}', causes, name=name, group=group, kind=kind
    )
