"""Kubernetes ``Status`` objects: what the gateway answers for every error,
with the HTTP code kubectl and client libraries expect for its reason."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web
from shoal import errors, kinds
from shoal.manifest import ManifestError

# reason word -> HTTP code, as the Kubernetes API server answers them
HTTP_CODES: dict[str, int] = {
    "BadRequest": 400,
    "Unauthorized": 401,
    "Forbidden": 403,
    "NotFound": 404,
    "MethodNotAllowed": 405,
    "NotAcceptable": 406,
    "AlreadyExists": 409,
    "Conflict": 409,
    "Gone": 410,
    "Expired": 410,
    "RequestEntityTooLarge": 413,
    "UnsupportedMediaType": 415,
    "Invalid": 422,
    "TooManyRequests": 429,
    "InternalError": 500,
    "ServiceUnavailable": 503,
    "InsufficientStorage": 507,  # the store's disk is full
    "Timeout": 504,
}


# Reasons whose Status names the object in its details (kube-apiserver's
# NewNotFound, NewAlreadyExists, NewConflict, NewForbidden, NewInvalid,
# NewMethodNotSupported); BadRequest, Gone, Expired and the rest have none.
_NAMED_REASONS = frozenset(
    {"NotFound", "AlreadyExists", "Conflict", "Forbidden", "Invalid", "MethodNotAllowed"}
)


def status(
    reason: str, message: str, *, details: dict[str, Any] | None = None, code: int = 0
) -> dict[str, Any]:
    """A Failure Status body."""
    body: dict[str, Any] = {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code or HTTP_CODES.get(reason, 500),
    }
    # Kubernetes' constructors for these reasons always set details (empty
    # for a path no resource matched: NewGenericServerResponse's {}).
    if details or reason in _NAMED_REASONS:
        body["details"] = details or {}
    return body


def success() -> dict[str, Any]:
    return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success"}


# The word a field error's message starts with -> Kubernetes' CauseType
# (field.ErrorType), as field.Error.ErrorBody writes it.
_CAUSE_TYPES = (
    ("Required value", "FieldValueRequired"),
    ("Invalid value", "FieldValueInvalid"),
    ("Unsupported value", "FieldValueNotSupported"),
    ("Duplicate value", "FieldValueDuplicate"),
    ("Not found", "FieldValueNotFound"),
    ("Forbidden", "FieldValueForbidden"),
    ("Too long", "FieldValueTooLong"),
    ("Too many", "FieldValueTooMany"),
    ("Internal error", "InternalError"),
    ("conflict with", "FieldManagerConflict"),
)


def cause_type(message: str) -> str:
    """The CauseType of a field error from its message; FieldValueInvalid
    when the message does not start with one of Kubernetes' words."""
    for word, cause in _CAUSE_TYPES:
        if message.startswith(word):
            return cause
    return "FieldValueInvalid"


def from_api_error(err: errors.APIError, details: dict[str, Any] | None = None) -> dict[str, Any]:
    """The Status for an error the API answered with. ``details`` is what the
    request names (resource plural as kind, group, name), for an error that
    does not carry its own (an older server's), for the reasons whose Status
    has details."""
    if err.reason not in _NAMED_REASONS:
        return status(err.reason, err.message, details=_retry_details(err))
    found: dict[str, Any] = err.details() or dict(details or {})
    if isinstance(err, errors.InvalidError):
        if not err.kind and found.get("kind"):
            found["kind"] = _kind_of(found["kind"])  # Invalid names the Kind, not the resource
        if err.causes:
            found["causes"] = [
                {"reason": cause_type(message), "message": message, "field": path}
                for path, message in err.causes
            ]
        return status(err.reason, _invalid_message(err), details=found)
    if err.causes:  # an apply's conflicts: the fields, no object named
        causes = [
            {"reason": cause_type(message), "message": message, "field": path}
            for path, message in err.causes
        ]
        return status(err.reason, err.message, details={"causes": causes})
    return status(err.reason, err.message, details=found)


def _invalid_message(err: errors.InvalidError) -> str:
    """Kubernetes' NewInvalid wording: the Kind qualified by its group
    (`Deployment.apps "web" is invalid: ...`), several causes in brackets."""
    head = f'{err.kind} "{err.name}" is invalid: '
    if not err.kind or not err.message.startswith(head):
        return err.message
    detail = err.message.removeprefix(head)
    if len(err.causes) > 1:
        detail = f"[{detail}]"
    qualified = f"{err.kind}.{err.group}" if err.group else err.kind
    return f'{qualified} "{err.name}" is invalid: {detail}'


def _kind_of(resource: str) -> str:
    try:
        return kinds.resolve(resource).kind
    except kinds.UnknownKindError:
        return resource


def _retry_details(err: errors.APIError) -> dict[str, Any] | None:
    """What a 429 or a 504 tells the client: when to come back, and why
    (an eviction a disruption budget refuses names the budget's reason)."""
    details: dict[str, Any] = {}
    retry = getattr(err, "retry_after_seconds", 0)
    if retry:
        details["retryAfterSeconds"] = retry
    if isinstance(err, errors.ServerTimeoutError) and err.message.startswith("Too large"):
        details["causes"] = [
            {"reason": "ResourceVersionTooLarge", "message": "Too large resource version"}
        ]
    if isinstance(err, errors.TooManyRequestsError) and err.causes:
        # (reason, message) pairs: an eviction's DisruptionBudget cause
        details["causes"] = [{"reason": reason, "message": text} for reason, text in err.causes]
    return details or None


def from_manifest_error(err: ManifestError, details: dict[str, Any] | None = None) -> dict:
    """A body that does not decode is a BadRequest, as Kubernetes' strict decoding says."""
    return status("BadRequest", str(err), details=details)


def response(body: dict[str, Any]) -> web.Response:
    """The Status as an HTTP answer; a retry hint also as ``Retry-After``."""
    retry = (body.get("details") or {}).get("retryAfterSeconds")
    return web.Response(
        status=int(body.get("code") or 500),
        text=json.dumps(body),
        content_type="application/json",
        headers={"Retry-After": str(retry)} if retry else None,
    )


class StatusError(Exception):
    """Raised anywhere in a handler to answer with this Status."""

    def __init__(self, reason: str, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.body = status(reason, message, details=details)


def not_found(message: str = "the server could not find the requested resource") -> StatusError:
    return StatusError("NotFound", message)


def bad_request(message: str) -> StatusError:
    return StatusError("BadRequest", message)
