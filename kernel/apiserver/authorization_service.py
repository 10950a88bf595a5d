"""``shoal.v1.Authorization``: may I (or may the user I impersonate) do
this, and what may I do in a namespace? Kubernetes' SelfSubjectAccessReview
and SelfSubjectRulesReview. Reviewing as another user takes the
``impersonate`` verb on ``users`` (and ``groups``), as ``kubectl --as`` does."""

from __future__ import annotations

from typing import Any

import grpc
from shoal import auth, errors
from shoal.api.v1 import authorization_pb2 as pb
from shoal.api.v1 import authorization_pb2_grpc
from shoal.apiserver.authz import Attributes, Authorizer
from shoal.apiserver.impersonation import ImpersonationRequest, Impersonator
from shoal.apiserver.rbac import RBACAuthorizer

AUTHORIZATION = "shoal.v1.Authorization"
EVERYTHING = pb.ReviewRule(verbs=["*"], api_groups=["*"], resources=["*"])
EVERY_PATH = pb.ReviewRule(verbs=["*"], non_resource_urls=["*"])


class AccessReviewer:
    """The plain logic; the gRPC servicer below only adapts it."""

    def __init__(
        self, authorizer: Authorizer, rbac: RBACAuthorizer, impersonator: Impersonator
    ) -> None:
        self.authorizer = authorizer
        self.rbac = rbac
        self.impersonator = impersonator

    async def subject(self, caller: auth.UserInfo, impersonate: Any) -> auth.UserInfo:
        """The caller, or the user it may impersonate (the same check as a
        request's impersonation metadata)."""
        if not impersonate.user:
            return caller
        request = ImpersonationRequest(impersonate.user, tuple(impersonate.groups))
        return await self.impersonator.impersonate(caller, request)

    async def review(self, caller: auth.UserInfo, request: Any) -> pb.AccessReviewResponse:
        user = await self.subject(caller, request.impersonate)
        if request.WhichOneof("attributes") == "non_resource_attributes":
            n = request.non_resource_attributes
            attrs = Attributes(user, n.verb, path=n.path, resource_request=False)
        else:
            r = request.resource_attributes
            if not r.verb:
                raise errors.BadRequestError("resourceAttributes.verb: Required value")
            attrs = Attributes(
                user, r.verb, r.group, r.resource, r.subresource, r.namespace, r.name
            )
        decision = await self.authorizer.authorize(attrs)
        return pb.AccessReviewResponse(
            allowed=decision.allowed, reason=decision.reason, user=user.name
        )

    async def rules(self, caller: auth.UserInfo, request: Any) -> pb.RulesReviewResponse:
        user = await self.subject(caller, request.impersonate)
        response = pb.RulesReviewResponse(user=user.name)
        if auth.ADMIN_GROUP in user.groups:
            response.rules.extend([EVERYTHING, EVERY_PATH])
        for rule in self.rbac.rules_for(user, request.namespace):
            response.rules.add(
                verbs=rule.verbs,
                api_groups=rule.api_groups,
                resources=rule.resources,
                resource_names=rule.resource_names,
                non_resource_urls=rule.non_resource_urls,
            )
        return response


class AuthorizationService(authorization_pb2_grpc.AuthorizationServicer):
    def __init__(self, reviewer: AccessReviewer) -> None:
        self.reviewer = reviewer

    async def Review(self, request: Any, context: Any) -> Any:
        return await self._answer(context, self.reviewer.review, request)

    async def Rules(self, request: Any, context: Any) -> Any:
        return await self._answer(context, self.reviewer.rules, request)

    async def _answer(self, context: Any, method: Any, request: Any) -> Any:
        caller = auth.current_user() or auth.INSECURE_ADMIN
        try:
            return await method(caller, request)
        except errors.APIError as err:
            await context.abort(err.code, err.message, errors.trailing_metadata(err))


def add_authorization(server: grpc.aio.Server, reviewer: AccessReviewer) -> None:
    authorization_pb2_grpc.add_AuthorizationServicer_to_server(
        AuthorizationService(reviewer), server
    )
