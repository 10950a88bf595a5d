"""Kubernetes ``Status`` objects: what the gateway answers for every error,
with the HTTP code kubectl and client libraries expect for its reason."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web
from shoal import errors
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
    "Timeout": 504,
}


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
    if details:
        body["details"] = details
    return body


def success() -> dict[str, Any]:
    return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success"}


def from_api_error(err: errors.APIError, details: dict[str, Any] | None = None) -> dict[str, Any]:
    """The Status for an error the API answered with."""
    details = dict(details or {})
    retry = getattr(err, "retry_after_seconds", 0)
    if retry:
        details["retryAfterSeconds"] = retry
    if isinstance(err, errors.ServerTimeoutError) and err.message.startswith("Too large"):
        details["causes"] = [
            {"reason": "ResourceVersionTooLarge", "message": "Too large resource version"}
        ]
    if isinstance(err, errors.InvalidError) and err.causes:
        details["causes"] = [
            {"reason": "FieldValueInvalid", "message": message, "field": path}
            for path, message in err.causes
        ]
    return status(err.reason, err.message, details=details)


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
