"""The metrics API is authorized as metrics.k8s.io resources: the built-in
view role reads pod metrics in its namespace (as metrics-server's
aggregated-metrics-reader grants), and nothing beyond."""

from __future__ import annotations

import grpc
import pytest
from shoal.api.v1 import metrics_pb2, metrics_pb2_grpc

from tests.security.authz_helpers import binding, until_allowed
from tests.security.conftest import SecureServer, secure_server  # noqa: F401 (a fixture)

GROUP = "metrics.k8s.io"


async def test_viewers_read_pod_metrics_of_their_namespace_only(
    secure_server: SecureServer,  # noqa: F811
) -> None:
    await secure_server.admin.create(binding("v", "view", user="viewer", namespace="default"))
    viewer = secure_server.user_client("viewer")
    try:
        await until_allowed(viewer, "list", "pods", "default", group=GROUP)
        stub = metrics_pb2_grpc.MetricsStub(viewer.channel)
        listed = await stub.ListPodMetrics(metrics_pb2.ListMetricsRequest(namespace="default"))
        assert list(listed.items) == []  # allowed; no agent has reported yet
        for call, request in (
            (stub.ListPodMetrics, metrics_pb2.ListMetricsRequest(namespace="kube-system")),
            (stub.ListPodMetrics, metrics_pb2.ListMetricsRequest()),  # every namespace
            (stub.ListNodeMetrics, metrics_pb2.ListMetricsRequest()),
            (stub.GetPodMetrics, metrics_pb2.GetMetricsRequest(namespace="other", name="x")),
        ):
            with pytest.raises(grpc.aio.AioRpcError) as refused:
                await call(request)
            assert refused.value.code() == grpc.StatusCode.PERMISSION_DENIED
            assert GROUP in (refused.value.details() or "")
    finally:
        await viewer.close()
