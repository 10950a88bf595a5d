"""Authorization before the body is read: a request that carries a body
(POST, PUT, PATCH, a DELETE with options) is first put to the API's access
review (``shoal.v1.Authorization/Review``, as the caller), so a caller with
no right to the verb never makes the server decode, patch or encode
anything — as Kubernetes authorizes on the URL and verb before it decodes.
The API authorizes the real call again; this check only orders the work.

Allowed answers are kept a few seconds per caller and attributes (the API
re-checks every call, so a revoked grant costs at most some decoding);
refusals are not kept, so a new binding counts at once."""

from __future__ import annotations

import time
from typing import Any

import grpc
from aiohttp import web
from shoal import auth, errors
from shoal.api.v1 import authorization_pb2 as pb
from shoal.api.v1 import authorization_pb2_grpc
from shoal.apiserver import requestinfo
from shoal.apiserver.authn import IMPERSONATE_GROUP
from shoal.apiserver.authz import Attributes, forbidden
from shoal.client import Client, call_metadata

BODY_METHODS = ("POST", "PUT", "PATCH")
ALLOWED_TTL = 5.0
_CACHE_LIMIT = 4096
_NOBODY = auth.UserInfo("")
NODES_GROUP = "system:nodes"


def _carries_body(request: web.Request) -> bool:
    return request.method in BODY_METHODS or (request.method == "DELETE" and request.can_read_body)


class AccessCheck:
    def __init__(self, client: Client) -> None:
        self.client = client
        self._allowed: dict[tuple[Any, ...], float] = {}

    async def require(self, request: web.Request) -> None:
        """Raise ForbiddenError unless the caller may do what the request asks."""
        caller = call_metadata.get()
        # The node authorizer decides on the object itself: the API checks nodes.
        if not _carries_body(request) or (IMPERSONATE_GROUP, NODES_GROUP) in caller:
            return
        attrs = requestinfo.http_attributes(
            _NOBODY, request.method, request.path, dict(request.query)
        )
        key = (
            caller,
            attrs.verb,
            attrs.api_group,
            attrs.resource,
            attrs.subresource,
            attrs.namespace,
            attrs.name,
        )
        now = time.monotonic()
        if self._allowed.get(key, 0.0) > now:
            return
        answer = await self._review(attrs)
        if not answer.allowed:
            who = Attributes(
                auth.UserInfo(answer.user),
                attrs.verb,
                attrs.api_group,
                attrs.resource,
                attrs.subresource,
                attrs.namespace,
                attrs.name,
                path=attrs.path,
                resource_request=attrs.resource_request,
            )
            raise forbidden(who, answer.reason)
        if len(self._allowed) >= _CACHE_LIMIT:
            self._allowed.clear()
        self._allowed[key] = now + ALLOWED_TTL

    async def _review(self, attrs: Attributes) -> Any:
        stub = authorization_pb2_grpc.AuthorizationStub(self.client.channel)
        if attrs.resource_request:
            request = pb.AccessReviewRequest(
                resource_attributes=pb.ResourceAttributes(
                    verb=attrs.verb,
                    group=attrs.api_group,
                    resource=attrs.resource,
                    subresource=attrs.subresource,
                    namespace=attrs.namespace,
                    name=attrs.name,
                )
            )
        else:
            request = pb.AccessReviewRequest(
                non_resource_attributes=pb.NonResourceAttributes(verb=attrs.verb, path=attrs.path)
            )
        try:
            return await stub.Review(request)
        except grpc.aio.AioRpcError as err:
            raise errors.from_status(
                err.code(), err.details() or "", err.trailing_metadata() or ()
            ) from None
