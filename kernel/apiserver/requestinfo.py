"""What a request asks to do, as authorization attributes: each RPC of the
API (and each HTTP request of the REST gateway) becomes (verb, API group,
resource, subresource, namespace, name), the way Kubernetes' RequestInfo
reads a URL."""

from __future__ import annotations

from typing import Any

from shoal import errors, kinds
from shoal.apiserver.authz import Attributes
from shoal.auth import UserInfo
from shoal.kinds import Kind

OBJECT_VERBS = {
    "Create": "create",
    "Get": "get",
    "List": "list",
    "Update": "update",
    "UpdateStatus": "update",
    "Patch": "patch",
    "Delete": "delete",
    "Watch": "watch",
    "History": "get",  # an object's history: `get` on the object
    "ListDeleted": "list",  # a kind's deleted objects: `list` on the kind
}
STREAM_ATTRIBUTES = {  # method -> (verb, resource, subresource)
    "Logs": ("get", "pods", "log"),
    "Exec": ("create", "pods", "exec"),
    "Attach": ("create", "pods", "attach"),
    "PortForward": ("create", "pods", "portforward"),
    "ListImages": ("get", "nodes", "proxy"),
    "LoadImage": ("create", "nodes", "proxy"),
    "Summary": ("get", "nodes", "stats"),
}

METRICS_GROUP = "metrics.k8s.io"
METRICS_ATTRIBUTES = {  # method -> (verb, resource), in metrics.k8s.io
    "GetNodeMetrics": ("get", "nodes"),
    "ListNodeMetrics": ("list", "nodes"),
    "GetPodMetrics": ("get", "pods"),
    "ListPodMetrics": ("list", "pods"),
}


def _kind(name: str) -> Kind:
    try:
        return kinds.resolve(name)
    except kinds.UnknownKindError as err:
        raise errors.NotFoundError(str(err)) from None


def _namespace(kind: Kind, namespace: str) -> str:
    return (namespace or "default") if kind.namespaced else ""


def _resource(
    user: UserInfo, verb: str, kind: Kind, namespace: str, name: str, **kw: Any
) -> Attributes:
    return Attributes(
        user=user,
        verb=verb,
        api_group=kind.group,
        resource=kind.plural,
        namespace=_namespace(kind, namespace),
        name=name,
        **kw,
    )


def object_attributes(user: UserInfo, method: str, request: Any) -> Attributes:
    """Attributes of a ``shoal.v1.Objects`` call."""
    from shoal.apiserver.service import unpack  # the service's own reading of an Any

    verb = OBJECT_VERBS[method]
    if method in ("Create", "Update", "UpdateStatus"):
        obj = unpack(request.object)
        kind, meta = kinds.for_message(obj), obj.metadata
        parent = kind.strategy.subresource_of
        if parent is not None:  # a Binding is pods/binding, named after its pod
            resource, subresource = parent
            return Attributes(
                user,
                "create",
                kinds.resolve(resource).group,
                resource,
                subresource,
                _namespace(kind, meta.namespace),
                meta.name,
                obj=obj,
            )
        sub = "status" if method == "UpdateStatus" else ""
        name = "" if method == "Create" else meta.name  # create names no object, as a POST
        return _resource(user, verb, kind, meta.namespace, name, subresource=sub, obj=obj)
    if method in ("List", "Watch", "ListDeleted"):  # no namespace: every namespace, cluster scope
        kind = _kind(request.kind)
        namespace = request.namespace if kind.namespaced else ""
        return Attributes(user, verb, kind.group, kind.plural, "", namespace, "")
    key = request.key
    sub = "status" if method == "Patch" and request.status else ""
    return _resource(user, verb, _kind(key.kind), key.namespace, key.name, subresource=sub)


def stream_attributes(user: UserInfo, method: str, first: Any) -> Attributes:
    """Attributes of a ``shoal.v1.Streams`` call from its (first) message."""
    verb, resource, sub = STREAM_ATTRIBUTES[method]
    if resource == "nodes":
        return Attributes(user, verb, "", "nodes", sub, "", first.node)
    start = first.ref if method == "Logs" else first.start
    ref = start.ref if method != "Logs" else start
    return Attributes(user, verb, "", "pods", sub, ref.namespace or "default", ref.pod)


def metrics_attributes(user: UserInfo, method: str, request: Any) -> Attributes:
    """Attributes of a ``shoal.v1.Metrics`` call: get or list on nodes or
    pods of ``metrics.k8s.io``, as kube-apiserver authorizes metrics-server's
    aggregated API."""
    verb, resource = METRICS_ATTRIBUTES[method]
    namespace = (
        (request.namespace or ("default" if verb == "get" else "")) if resource == "pods" else ""
    )
    name = request.name if verb == "get" else ""
    return Attributes(user, verb, METRICS_GROUP, resource, "", namespace, name)


# -- HTTP (the REST gateway) ---------------------------------------------------

HTTP_VERBS = {"POST": "create", "PUT": "update", "PATCH": "patch", "DELETE": "delete"}


def http_attributes(user: UserInfo, method: str, path: str, query: dict[str, str]) -> Attributes:
    """Kubernetes' RequestInfo: ``/api/v1/namespaces/ns/pods/web/log`` is
    get pods/log "web" in ns; paths outside /api and /apis are non-resource."""
    parts = [p for p in path.split("/") if p]
    if parts[:1] == ["api"] and len(parts) >= 2:
        group, rest = "", parts[2:]
    elif parts[:1] == ["apis"] and len(parts) >= 3:
        group, rest = parts[1], parts[3:]
    else:
        return Attributes(
            user, method.lower().replace("head", "get"), path=path, resource_request=False
        )
    if not rest:  # /api/v1, /apis/apps/v1: discovery
        return Attributes(user, "get", path=path, resource_request=False)
    watching = rest[0] == "watch"
    if watching:
        rest = rest[1:]
    namespace = ""
    if rest[:1] == ["namespaces"] and len(rest) >= 2:
        namespace = rest[1]  # a namespace's own requests are "in" it, as in Kubernetes
        if len(rest) >= 3 and not (len(rest) == 3 and rest[2] in ("status", "finalize")):
            rest = rest[2:]
    resource, name, sub = [*rest, "", "", ""][:3]
    verb = _http_verb(method, bool(name), watching or query.get("watch") in ("true", "1"))
    return Attributes(user, verb, group, resource, sub, namespace, name)


def _http_verb(method: str, named: bool, watching: bool) -> str:
    if method in ("GET", "HEAD"):
        if watching:
            return "watch"
        return "get" if named else "list"
    if method == "DELETE" and not named:
        return "deletecollection"
    return HTTP_VERBS.get(method, method.lower())
