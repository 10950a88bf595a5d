"""``authorization.k8s.io/v1`` over REST: SelfSubjectAccessReview,
SubjectAccessReview, LocalSubjectAccessReview and SelfSubjectRulesReview,
what ``kubectl auth can-i [--list] [--as]`` and in-cluster programs post.

Nothing is stored (Kubernetes does not store them either): each body is
turned into a call of the API server's ``shoal.v1.Authorization`` service,
made as the caller, and the answer comes back as the posted object with its
``status`` filled in. Reviewing another user (SubjectAccessReview) asks the
service to impersonate that user, so the caller needs the ``impersonate``
verb on them, where Kubernetes asks for ``create`` on subjectaccessreviews;
masters and cluster-admins have both.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web
from shoal.api.v1 import authorization_pb2 as pb
from shoal.api.v1 import authorization_pb2_grpc
from shoal.client import Client
from shoal.plugins.gateway.bodies import read_json, respond
from shoal.plugins.gateway.podstreams import rpc_error
from shoal.plugins.gateway.status import bad_request

GROUP_VERSION = "authorization.k8s.io/v1"
BASE = f"/apis/{GROUP_VERSION}"
# resource -> (kind, namespaced)
RESOURCES = {
    "selfsubjectaccessreviews": ("SelfSubjectAccessReview", False),
    "subjectaccessreviews": ("SubjectAccessReview", False),
    "localsubjectaccessreviews": ("LocalSubjectAccessReview", True),
    "selfsubjectrulesreviews": ("SelfSubjectRulesReview", False),
}


def add_routes(app: web.Application, client: Client) -> None:
    reviews = AccessReviews(client)
    for resource, (_, namespaced) in RESOURCES.items():
        path = f"{BASE}/namespaces/{{namespace}}/{resource}" if namespaced else f"{BASE}/{resource}"
        app.router.add_post(path, reviews.handler(resource))


def discovery_resources() -> list[dict[str, Any]]:
    """The group's APIResourceList entries: create is the only verb."""
    return [
        {"name": r, "singularName": "", "namespaced": ns, "kind": kind, "verbs": ["create"]}
        for r, (kind, ns) in RESOURCES.items()
    ]


class AccessReviews:
    def __init__(self, client: Client) -> None:
        self.client = client

    def handler(self, resource: str) -> Any:
        kind, _ = RESOURCES[resource]

        async def review(request: web.Request) -> web.Response:
            body = await read_json(request)
            if not isinstance(body, dict) or body.get("kind", kind) != kind:
                raise bad_request(f"the body must be a {kind}")
            spec = body.get("spec") or {}
            if not isinstance(spec, dict):
                raise bad_request("spec: must be an object")
            if kind == "SelfSubjectRulesReview":
                result = await self._rules(spec)
            else:
                result = await self._access(kind, spec, request.match_info.get("namespace"))
            answer = {"kind": kind, "apiVersion": GROUP_VERSION, **body, "status": result}
            answer.setdefault("metadata", {})
            return respond(answer, status=201)

        return review

    async def _access(self, kind: str, spec: dict[str, Any], namespace: str | None) -> Any:
        request = pb.AccessReviewRequest(impersonate=_impersonation(kind, spec))
        if isinstance(spec.get("nonResourceAttributes"), dict):
            n = spec["nonResourceAttributes"]
            request.non_resource_attributes.CopyFrom(
                pb.NonResourceAttributes(verb=_text(n, "verb"), path=_text(n, "path"))
            )
        elif isinstance(spec.get("resourceAttributes"), dict):
            request.resource_attributes.CopyFrom(_resource_attributes(spec, namespace))
        else:
            raise bad_request("spec: resourceAttributes or nonResourceAttributes is required")
        answer = await self._call("Review", request)
        status: dict[str, Any] = {"allowed": answer.allowed}
        if answer.reason:
            status["reason"] = answer.reason
        return status

    async def _rules(self, spec: dict[str, Any]) -> Any:
        namespace = _text(spec, "namespace")
        answer = await self._call("Rules", pb.RulesReviewRequest(namespace=namespace))
        resource_rules, path_rules = [], []
        for rule in answer.rules:
            if rule.non_resource_urls:
                path_rules.append(
                    {"verbs": list(rule.verbs), "nonResourceURLs": list(rule.non_resource_urls)}
                )
            else:
                resource_rules.append(_resource_rule(rule))
        return {
            "resourceRules": resource_rules,
            "nonResourceRules": path_rules,
            "incomplete": False,
        }

    async def _call(self, method: str, request: Any) -> Any:
        stub = authorization_pb2_grpc.AuthorizationStub(self.client.channel)
        try:
            return await getattr(stub, method)(request)
        except Exception as err:  # grpc.aio.AioRpcError, as the API's own error
            raise rpc_error(err) from None


def _resource_attributes(spec: dict[str, Any], namespace: str | None) -> pb.ResourceAttributes:
    r = spec["resourceAttributes"]
    if namespace is not None and r.get("namespace", namespace) != namespace:
        raise bad_request("spec.resourceAttributes.namespace must match the namespace on the URL")
    return pb.ResourceAttributes(
        verb=_text(r, "verb"),
        group=_text(r, "group"),
        resource=_text(r, "resource"),
        subresource=_text(r, "subresource"),
        namespace=namespace if namespace is not None else _text(r, "namespace"),
        name=_text(r, "name"),
    )


def _impersonation(kind: str, spec: dict[str, Any]) -> pb.Impersonation:
    if kind == "SelfSubjectAccessReview":
        return pb.Impersonation()
    user = _text(spec, "user")
    groups = spec.get("groups") or []
    if not user and not groups:
        raise bad_request("spec.user or spec.groups is required")
    if not isinstance(groups, list) or not all(isinstance(g, str) for g in groups):
        raise bad_request("spec.groups: must be a list of strings")
    return pb.Impersonation(user=user, groups=groups)


def _resource_rule(rule: Any) -> dict[str, Any]:
    out = {
        "verbs": list(rule.verbs),
        "apiGroups": list(rule.api_groups),
        "resources": list(rule.resources),
    }
    if rule.resource_names:
        out["resourceNames"] = list(rule.resource_names)
    return out


def _text(fields: dict[str, Any], name: str) -> str:
    value = fields.get(name, "")
    if not isinstance(value, str):
        raise bad_request(f"{name}: must be a string")
    return value
