"""shoal.metrics: the work queue's client-go metrics, and the plain-HTTP
/metrics listener of components without the gateway."""

from __future__ import annotations

import socket

import aiohttp
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families
from shoal import metrics
from shoal.workqueue import WorkQueue


def value(metric: str, queue: str = "unit-metrics") -> float:
    return REGISTRY.get_sample_value(metric, {"name": queue}) or 0.0


async def test_workqueue_counts_adds_retries_and_times() -> None:
    queue = WorkQueue("unit-metrics")
    adds = value("workqueue_adds_total")
    queue.add("a")
    queue.add("a")  # deduplicated: client-go counts adds that queue a key
    queue.add("b")
    assert value("workqueue_adds_total") == adds + 2
    assert value("workqueue_depth") == 2
    key = await queue.get()
    queue.done(key)
    assert value("workqueue_queue_duration_seconds_count") >= 1
    assert value("workqueue_work_duration_seconds_count") >= 1
    assert value("workqueue_depth") == 1
    retries = value("workqueue_retries_total")
    queue.add_rate_limited("c")
    assert value("workqueue_retries_total") == retries + 1
    queue.shut_down()


async def test_serve_answers_the_text_format_and_falls_back_from_a_taken_default() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        default = taken.getsockname()[1]
        runner, port = await metrics.serve(f"127.0.0.1:{default}", default_port=default)
    try:
        assert port != default
        async with (
            aiohttp.ClientSession() as http,
            http.get(f"http://127.0.0.1:{port}/metrics") as response,
        ):
            assert response.status == 200
            text = await response.text()
        families = {f.name for f in text_string_to_metric_families(text)}
        assert {"process_cpu_seconds", "python_info", "workqueue_adds"} <= families
    finally:
        await runner.cleanup()


async def test_serve_answers_health_checks_as_kubernetes_components() -> None:
    """An agent's and a controller-manager's listener answer /healthz, /livez
    and /readyz beside /metrics, as the kubelet and kube-controller-manager."""
    runner, port = await metrics.serve("127.0.0.1:0")
    try:
        async with aiohttp.ClientSession() as http:
            for path in ("/healthz", "/livez", "/readyz"):
                async with http.get(f"http://127.0.0.1:{port}{path}") as response:
                    assert (response.status, await response.text()) == (200, "ok"), path
    finally:
        await runner.cleanup()
