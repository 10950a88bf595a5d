"""Request metrics of the API server: one gRPC interceptor, outermost, so it
times every call and sees every answer (a 401 or 403 too).

Each call is counted in ``apiserver_request_total`` and timed in
``apiserver_request_duration_seconds`` with Kubernetes' labels: a gRPC
method and the kind it names become the verb, group, version, resource,
subresource and scope kube-apiserver would report for the same REST request
(``Create`` of a ConfigMap is ``POST configmaps``, ``List`` is ``LIST``,
``Exec`` is ``CONNECT pods/exec``), and the gRPC status the HTTP code the
gateway would answer. Watches and stream connections are long-running: they
count in ``apiserver_longrunning_requests`` while open, not in the inflight
gauge, and their duration is not observed, as in Kubernetes.

Calls the REST gateway makes (``shoal-via: gateway`` in their metadata) are
not counted here: the gateway counts the REST request itself, once, with the
HTTP code it answered.

Labels are resolved once per (method, kind, scope) and kept, so a call costs
two dict lookups and the library's own increments."""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import grpc
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from shoal import kinds, metrics
from shoal.apiserver.handlers import AnswerHook, HandlerInterceptor, WrappedHandlers, rewrap

VIA_KEY, VIA_GATEWAY = "shoal-via", "gateway"
GATEWAY_MARK = (VIA_KEY, VIA_GATEWAY)
OBJECTS = "/shoal.v1.Objects/"
STREAMS = "/shoal.v1.Streams/"
NOT_COUNTED = ("/grpc.reflection.",)

# The HTTP verb kube-apiserver's metrics report for each method.
OBJECT_VERBS = {
    "Create": "POST",
    "Get": "GET",
    "List": "LIST",
    "Update": "PUT",
    "UpdateStatus": "PUT",
    "Patch": "PATCH",
    "Delete": "DELETE",
    "Watch": "WATCH",
}
STREAM_LABELS = {  # method -> (verb, resource, subresource)
    "Logs": ("GET", "pods", "log"),
    "Exec": ("CONNECT", "pods", "exec"),
    "Attach": ("CONNECT", "pods", "attach"),
    "PortForward": ("CONNECT", "pods", "portforward"),
    "ListImages": ("CONNECT", "nodes", "proxy"),
    "LoadImage": ("CONNECT", "nodes", "proxy"),
    "Summary": ("GET", "nodes", "stats"),
}
METRICS = "/shoal.v1.Metrics/"
METRICS_VERBS = {  # method -> (verb, resource), in metrics.k8s.io/v1beta1
    "GetNodeMetrics": ("GET", "nodes"),
    "ListNodeMetrics": ("LIST", "nodes"),
    "GetPodMetrics": ("GET", "pods"),
    "ListPodMetrics": ("LIST", "pods"),
}
LONG_RUNNING = ("WATCH", "CONNECT")
MUTATING = ("POST", "PUT", "PATCH", "DELETE")
C = grpc.StatusCode
HTTP_CODES = {
    C.OK: "200",
    C.CANCELLED: "499",
    C.UNKNOWN: "500",
    C.INVALID_ARGUMENT: "400",
    C.DEADLINE_EXCEEDED: "504",
    C.NOT_FOUND: "404",
    C.ALREADY_EXISTS: "409",
    C.PERMISSION_DENIED: "403",
    C.RESOURCE_EXHAUSTED: "429",
    C.FAILED_PRECONDITION: "409",
    C.ABORTED: "409",
    C.OUT_OF_RANGE: "400",
    C.UNIMPLEMENTED: "405",
    C.INTERNAL: "500",
    C.UNAVAILABLE: "503",
    C.DATA_LOSS: "500",
    C.UNAUTHENTICATED: "401",
}


def http_code(code: Any, verb: str) -> str:
    """The HTTP code of a gRPC status; a create answers 201, as a POST does."""
    if code is None or code == C.OK:
        return "201" if verb == "POST" else "200"
    return HTTP_CODES.get(code, "500")


class Series:
    """The label children of one (verb, group, version, resource,
    subresource, scope): resolved once, then reused by every call."""

    def __init__(self, labels: tuple[str, ...]) -> None:
        self.labels = labels
        self.verb = labels[0]
        self.long_running = self.verb in LONG_RUNNING
        self.request_kind = "mutating" if self.verb in MUTATING else "readOnly"
        self.duration = metrics.apiserver_request_duration_seconds.labels(*labels)
        self.open = 0  # requests being served: the gauges read it at scrape time
        self._codes: dict[Any, Any] = {}

    def start(self) -> float:
        self.open += 1
        return time.perf_counter()

    def finish(self, code: Any, started: float) -> None:
        """The end of a gRPC call with status ``code``."""
        counter = self._codes.get(code)
        if counter is None:
            counter = self._count(code, http_code(code, self.verb))
        self._end(counter, started)

    def finish_http(self, status: int, started: float) -> None:
        """The end of a REST request answered with ``status``."""
        counter = self._codes.get(status)
        if counter is None:
            counter = self._count(status, str(status))
        self._end(counter, started)

    def _count(self, key: Any, code: str) -> Any:
        counter = metrics.apiserver_request_total.labels(*self.labels, code)
        self._codes[key] = counter
        return counter

    def _end(self, counter: Any, started: float) -> None:
        counter.inc()
        self.open -= 1
        if not self.long_running:
            self.duration.observe(time.perf_counter() - started)


_series: dict[Any, Series] = {}


class _OpenRequests(Collector):
    """``apiserver_current_inflight_requests{request_kind}`` and
    ``apiserver_longrunning_requests``, summed from the series' open counts
    (the event loop's own ints: no lock per request)."""

    def describe(self) -> Iterator[GaugeMetricFamily]:
        return iter(())

    def collect(self) -> Iterator[GaugeMetricFamily]:
        inflight = GaugeMetricFamily(
            "apiserver_current_inflight_requests",
            "Maximal number of currently used inflight request limit of this apiserver "
            "per request kind in last second.",
            labels=["request_kind"],
        )
        longrunning = GaugeMetricFamily(
            "apiserver_longrunning_requests",
            "Gauge of all active long-running apiserver requests broken out by verb, "
            "group, version, resource, scope and component. Not all requests are "
            "tracked this way.",
            labels=list(metrics.REQUEST_LABELS),
        )
        kinds_open = {"mutating": 0, "readOnly": 0}
        for found in list(_series.values()):
            if found.long_running:
                longrunning.add_metric(list(found.labels), found.open)
            else:
                kinds_open[found.request_kind] += found.open
        for kind, count in kinds_open.items():
            inflight.add_metric([kind], count)
        yield inflight
        yield longrunning


metrics.REGISTRY.register(_OpenRequests())


def series(verb: str, group: str, version: str, resource: str, sub: str, scope: str) -> Series:
    key = (verb, group, version, resource, sub, scope)
    found = _series.get(key)
    if found is None:
        found = _series[key] = Series((*key, "apiserver"))
    return found


def _kind_series(verb: str, kind_name: str, sub: str, scope: str, by_message: bool) -> Series:
    key = (verb, kind_name, sub, scope, by_message)
    found = _by_kind.get(key)
    if found is not None:
        return found
    try:
        kind = kinds.for_message(kind_name) if by_message else kinds.resolve(kind_name)
        labels = (kind.group, kind.version, kind.plural)
    except kinds.UnknownKindError:
        labels = ("", "", "")  # an unknown kind: its NOT_FOUND still counts
    if labels[2] == "bindings":  # pods/binding, as Kubernetes' POST .../pods/NAME/binding
        labels, sub = ("", "v1", "pods"), "binding"
    found = series(verb, *labels, sub, scope)
    if len(_by_kind) < 4096:  # bounded: kind names come from callers
        _by_kind[key] = found
    return found


_by_kind: dict[Any, Series] = {}


def object_series(short: str, request: Any) -> Series:
    """The series of one ``shoal.v1.Objects`` call, from its request."""
    verb = OBJECT_VERBS[short]
    if short in ("Create", "Update", "UpdateStatus"):
        sub = "status" if short == "UpdateStatus" else ""
        return _kind_series(verb, request.object.type_url, sub, "resource", True)
    if short in ("List", "Watch"):
        scope = "namespace" if request.namespace else "cluster"
        return _kind_series(verb, request.kind, "", scope, False)
    sub = "status" if short == "Patch" and request.status else ""
    return _kind_series(verb, request.key.kind, sub, "resource", False)


class MetricsInterceptor(HandlerInterceptor):
    def __init__(self) -> None:
        self._wrapped = WrappedHandlers()

    def intercept_handler(self, handler: Any, details: Any) -> Any:
        if handler is None or GATEWAY_MARK in (details.invocation_metadata or ()):
            return handler
        method = details.method
        return self._wrapped.get(method, handler, lambda: _counted(handler, method))


def _counted(handler: Any, method: str) -> Any:
    resolve = _resolver(method)
    return _wrap(handler, resolve) if resolve is not _SKIP else handler


def _skip(request: Any) -> Series:
    raise AssertionError("never called")


_SKIP: Callable[[Any], Series] = _skip


def _resolver(method: str) -> Callable[[Any], Series]:
    """How a call of ``method`` finds its series; built once per method."""
    if method.startswith(NOT_COUNTED):
        return _SKIP
    short = method.rsplit("/", 1)[-1]
    if method.startswith(OBJECTS) and short in OBJECT_VERBS:
        unread = series(OBJECT_VERBS[short], "", "", "", "", "")

        def resolve(request: Any) -> Series:
            try:
                return object_series(short, request)
            except AttributeError:  # bytes that did not parse: refused further in
                return unread

        return resolve
    if method.startswith(STREAMS) and short in STREAM_LABELS:
        verb, resource, sub = STREAM_LABELS[short]
        fixed = series(verb, "", "v1", resource, sub, "resource")
    elif method.startswith(METRICS) and short in METRICS_VERBS:
        return _metrics_resolver(*METRICS_VERBS[short])
    else:  # discovery, health, access reviews, joining: not resources
        fixed = series("POST", "", "", "", "", "")
    return lambda request: fixed


def _metrics_resolver(verb: str, resource: str) -> Callable[[Any], Series]:
    """The resource metrics API (the metrics plugin), labelled as
    kube-apiserver labels metrics-server's aggregated requests."""
    group, version = "metrics.k8s.io", "v1beta1"
    one = series(verb, group, version, resource, "", "resource")
    every = series(verb, group, version, resource, "", "cluster")
    namespaced = series(verb, group, version, resource, "", "namespace")

    def resolve(request: Any) -> Series:
        if verb == "GET":
            return one
        return namespaced if getattr(request, "namespace", "") and resource == "pods" else every

    return resolve


def _wrap(handler: Any, resolve: Callable[[Any], Series]) -> Any:
    return rewrap(
        handler,
        lambda kind, behavior: (_streaming if kind.endswith("stream") else _unary)(
            behavior, resolve
        ),
    )


def _code(context: Any, failed: BaseException | None) -> Any:
    code = context.code()
    if code is not None:
        return code
    if failed is None:
        return C.OK
    return C.CANCELLED if isinstance(failed, asyncio.CancelledError) else C.UNKNOWN


class _Call:
    """One call, counted once: when the handler aborts, before gRPC sends
    that answer (so a scrape after an error answer sees it), else when the
    handler ends."""

    def __init__(self, found: Series, context: Any) -> None:
        self.found: Series | None = found
        self.started = found.start()
        self.context = AnswerHook(context, self.finish)  # what the handler gets

    def finish(self, code: Any) -> None:
        found, self.found = self.found, None
        if found is not None:
            found.finish(code, self.started)


def _unary(behavior: Any, resolve: Callable[[Any], Series]) -> Any:
    async def call(request: Any, context: Any) -> Any:
        counted = _Call(resolve(request), context)
        failed: BaseException | None = None
        try:
            result = behavior(request, counted.context)
            return await result if inspect.isawaitable(result) else result
        except BaseException as err:
            failed = err
            raise
        finally:
            counted.finish(_code(context, failed))

    return call


def _streaming(behavior: Any, resolve: Callable[[Any], Series]) -> Any:
    async def call(request: Any, context: Any) -> AsyncIterator[Any]:
        counted = _Call(resolve(request), context)
        failed: BaseException | None = None
        try:
            async for item in behavior(request, counted.context):
                yield item
        except BaseException as err:
            failed = err
            raise
        finally:
            counted.finish(_code(context, failed))

    return call
