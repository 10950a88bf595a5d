"""Request bodies in, typed objects out; typed objects in, Kubernetes JSON out."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web
from google.protobuf.message import Message
from shoal import manifest
from shoal.apiserver import decoding
from shoal.manifest import ManifestError
from shoal.plugins.gateway import protowire
from shoal.plugins.gateway.paths import Target
from shoal.plugins.gateway.status import StatusError, bad_request

PROTOBUF = "application/vnd.kubernetes.protobuf"
JSON = "application/json"
YAML = ("application/yaml", "application/x-yaml", "text/yaml")


async def read_json(request: web.Request) -> Any:
    """The body as JSON (or YAML, or Kubernetes protobuf, when the client says
    so); BadRequest if it does not decode, 415 for another media type.
    Decoding is bounded (``shoal.apiserver.decoding``: no YAML aliases,
    nesting, size) and large bodies decode off the event loop."""
    kind = media_type(request)
    raw = await request.read()
    if not raw.strip():
        raise bad_request("the request body is empty")
    return await decoding.off_loop(len(raw), decode, kind, raw)


def decode(kind: str, raw: bytes) -> Any:
    """A body of media type ``kind`` (one ``media_type`` accepted) as JSON data."""
    if kind == PROTOBUF:
        return from_protobuf(raw)
    if kind in YAML:
        return decoding.decode_yaml(raw)
    return decoding.decode_json(raw)


def media_type(request: web.Request) -> str:
    """The body's media type: JSON without a Content-Type, as Kubernetes
    reads it; anything but JSON, YAML and Kubernetes protobuf is 415."""
    if "Content-Type" not in request.headers:
        return JSON
    kind = request.content_type
    if kind not in (JSON, PROTOBUF, *YAML):
        raise StatusError(
            "UnsupportedMediaType",
            f'the body of the request was in an unknown format ("{kind[:100]}") - accepted '
            f"media types include: {JSON}, application/yaml, {PROTOBUF}",
        )
    return kind


def check_media_type(request: web.Request) -> None:
    """415 unless the body is JSON, YAML or Kubernetes protobuf."""
    media_type(request)


def from_protobuf(raw: bytes) -> dict[str, Any]:
    """kubectl's typed clients (``kubectl create deployment`` and friends) send
    protobuf and do not fall back to JSON, so the gateway decodes it."""
    try:
        return protowire.decode_object(raw)
    except protowire.UnsupportedKind as err:
        raise StatusError(
            "UnsupportedMediaType",
            f"the gateway does not decode {err} from {PROTOBUF}; send it as application/json",
        ) from None
    except (ValueError, IndexError, KeyError, TypeError, RecursionError) as err:
        # ProtoError, and whatever else bytes that are not the protobuf we read trip over
        raise bad_request(f"the body of the request was in an unknown format: {err}") from None


def drop_nulls(value: Any) -> Any:
    """Kubernetes reads ``null`` in an object as "not set" (kubectl sends
    ``creationTimestamp: null``); protobuf's JSON parser would refuse it."""
    if isinstance(value, dict):
        return {k: drop_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [drop_nulls(v) for v in value]
    return value


def to_message(body: Any, target: Target) -> Message:
    """The typed object a POST or PUT body holds, checked against the path."""
    if not isinstance(body, dict):
        raise bad_request("the body must be a JSON object")
    body = drop_nulls(body)
    kind = target.kind
    body.setdefault("apiVersion", kind.api_version)
    body.setdefault("kind", kind.kind)
    if (body["apiVersion"], body["kind"]) != (kind.api_version, kind.kind):
        raise bad_request(
            f"the API version in the data ({body['apiVersion']}) does not match the expected "
            f"API version ({kind.api_version}) or kind ({body['kind']} is not {kind.kind})"
        )
    metadata = body.setdefault("metadata", {})
    _check_namespace(metadata, target)
    if target.name and metadata.get("name", target.name) != target.name:
        raise bad_request(
            f"the name of the object ({metadata.get('name')}) does not match the name on "
            f"the URL ({target.name})"
        )
    if target.name:
        metadata["name"] = target.name
    try:
        return manifest.from_dict(body)
    except ManifestError as err:
        message = f'{kind.kind} in version "{kind.api_version}" cannot be handled: {err}'
        raise StatusError("BadRequest", message) from None


def _check_namespace(metadata: dict[str, Any], target: Target) -> None:
    if not target.kind.namespaced:
        return
    given = metadata.get("namespace") or target.namespace
    if target.namespace and given != target.namespace:
        raise bad_request(
            "the namespace of the provided object does not match the namespace sent on the request"
        )
    if not given:
        raise bad_request("a namespace is required for this resource")
    metadata["namespace"] = given


def to_json(obj: Message) -> dict[str, Any]:
    return manifest.to_dict(obj)


def encode(body: Any) -> str:
    return json.dumps(body, separators=(",", ":"))


def respond(body: Any, status: int = 200) -> web.Response:
    return respond_encoded(encode(body), status)


def respond_encoded(text: str, status: int = 200) -> web.Response:
    """A body already encoded (a large one, on a worker thread)."""
    return web.Response(status=status, text=text, content_type="application/json")
