"""The metrics API on a secure server: the scraper reaches a joined agent's
stream port over mutual TLS, and calls are authorized as metrics.k8s.io
resources: the built-in view role reads pod metrics in its namespace (as
metrics-server's aggregated-metrics-reader grants), and nothing beyond."""

from __future__ import annotations

from pathlib import Path

import grpc
import pytest
from shoal.agent.agent import Agent, AgentOptions, with_node_identity
from shoal.api.v1 import metrics_pb2, metrics_pb2_grpc
from shoal.plugins.metrics import MetricsServer

from tests.agent.conftest import FAST
from tests.integration.helpers import eventually, pod
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


async def test_the_scraper_reaches_a_joined_agent_over_mutual_tls(
    secure_server: SecureServer,  # noqa: F811
    tmp_path: Path,
) -> None:
    token = str(secure_server.security.ensure_join_token(tmp_path / "join-token"))
    options = AgentOptions(
        server=secure_server.address,
        name="node-a",
        runtime="fake",
        data_dir=tmp_path / "agent",
        node_ip="127.0.0.1",
        stream_listen="127.0.0.1:0",
        join_token=token,
        timing=FAST,
    )
    agent = Agent(await with_node_identity(options))
    await agent.start()
    try:
        busy = pod("busy", node="node-a")
        busy.metadata.annotations["fake.shoal.io/usage-cpu"] = "250m"
        await secure_server.admin.create(busy)

        async def running() -> bool:
            found = await secure_server.admin.get("pods", "busy")
            return found.status.phase == "Running"

        await eventually(running, timeout=15)
        (metrics,) = [s for s in secure_server.server.api_services if isinstance(s, MetricsServer)]
        stub = metrics_pb2_grpc.MetricsStub(secure_server.admin.channel)

        async def scraped() -> metrics_pb2.PodMetrics | None:
            await metrics.scraper.scrape_once()  # now, not at the next resolution
            listed = await stub.ListPodMetrics(metrics_pb2.ListMetricsRequest())
            return listed.items[0] if listed.items else None

        found = await eventually(scraped, timeout=15)
        assert found.containers[0].usage["cpu"] == "250000000n"
    finally:
        await agent.stop()
