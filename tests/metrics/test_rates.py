"""Usage from cumulative counters (plugins/metrics/rates.py), as
metrics-server computes it, and the fake runtime's modelled usage."""

from __future__ import annotations

from google.protobuf.timestamp_pb2 import Timestamp
from shoal.api.v1 import metrics_pb2
from shoal.plugins.metrics.api import cpu_quantity, memory_quantity
from shoal.plugins.metrics.rates import MetricsStorage, Sample, Series, usage_between
from shoal.plugins.runtimes.engine_stats import docker_usage, libpod_usage
from shoal.plugins.runtimes.fake_usage import container_usage, node_usage
from shoal.runtime import ContainerStatus

SECOND = 1_000_000_000


def test_cpu_rate_is_the_counter_delta_over_the_window() -> None:
    earlier = Sample(100 * SECOND, SECOND, 5 * SECOND, 10)
    later = Sample(102 * SECOND, SECOND, 6 * SECOND, 20)  # 1 s of CPU in 2 s
    usage = usage_between(earlier, later)
    assert usage is not None
    assert (usage.nano_cores, usage.window, usage.timestamp) == (500_000_000, 2.0, 102.0)
    assert usage.memory_bytes == 20  # a gauge: the later reading


def test_no_window_without_time_or_across_a_restart() -> None:
    base = Sample(100 * SECOND, SECOND, 5 * SECOND, 10)
    assert usage_between(base, Sample(100 * SECOND, SECOND, 6 * SECOND, 10)) is None  # no time
    assert usage_between(base, Sample(101 * SECOND, 50 * SECOND, SECOND, 10)) is None  # restarted
    assert usage_between(base, Sample(101 * SECOND, SECOND, SECOND, 10)) is None  # went back


def test_the_rate_is_exact_in_integers() -> None:
    # 250m over 0.3 s at today's clock: floats would make it 250000003n.
    start = 1_795_704_176_887_848_590
    earlier = Sample(start, 0, 0, 0)
    later = Sample(start + 300_000_000, 0, 75_000_000, 0)
    usage = usage_between(earlier, later)
    assert usage is not None and usage.nano_cores == 250_000_000


def test_series_keeps_the_two_newest_and_ignores_a_repeated_reading() -> None:
    series: Series[str] = Series()
    series.add("n", Sample(SECOND, 0, 0, 1))
    assert series.usage("n") is None  # one reading makes no window
    series.add("n", Sample(2 * SECOND, 0, SECOND, 1))
    series.add("n", Sample(2 * SECOND, 0, SECOND, 1))  # the same reading scraped again
    usage = series.usage("n")
    assert usage is not None and usage.nano_cores == SECOND
    series.add("n", Sample(4 * SECOND, 0, 2 * SECOND, 1))
    usage = series.usage("n")
    assert usage is not None and (usage.nano_cores, usage.window) == (SECOND // 2, 2.0)
    series.keep_only([])
    assert series.usage("n") is None


def _stamp(seconds: float) -> Timestamp:
    stamp = Timestamp()
    stamp.FromNanoseconds(int(seconds * SECOND))
    return stamp


def _summary(at: float, node_cpu: int, containers: dict[str, int]) -> metrics_pb2.NodeSummary:
    def cpu(value: int) -> metrics_pb2.CPUStats:
        return metrics_pb2.CPUStats(time=_stamp(at), usage_core_nano_seconds=value)

    memory = metrics_pb2.MemoryStats(time=_stamp(at), working_set_bytes=1024)
    pod = metrics_pb2.PodStats(pod_ref=metrics_pb2.PodReference(name="web", namespace="default"))
    for name, value in containers.items():
        pod.containers.add(name=name, start_time=_stamp(1), cpu=cpu(value), memory=memory)
    node = metrics_pb2.NodeStats(
        node_name="n1", start_time=_stamp(0), cpu=cpu(node_cpu), memory=memory
    )
    return metrics_pb2.NodeSummary(node=node, pods=[pod] if containers else [])


def test_storage_serves_a_pod_only_when_every_container_has_a_window() -> None:
    storage = MetricsStorage()
    storage.store([_summary(10, 0, {"app": 0})])
    assert storage.node_usage("n1") is None and storage.pod_usage("default", "web") is None
    storage.store([_summary(12, 4 * SECOND, {"app": SECOND, "sidecar": 0})])
    node = storage.node_usage("n1")
    assert node is not None and node.nano_cores == 2 * SECOND
    assert storage.pod_usage("default", "web") is None  # sidecar: one reading so far
    storage.store([_summary(14, 4 * SECOND, {"app": 2 * SECOND, "sidecar": SECOND})])
    pod = storage.pod_usage("default", "web")
    assert pod is not None
    assert [(name, u.nano_cores) for name, u in pod.containers] == [
        ("app", SECOND // 2),
        ("sidecar", SECOND // 2),
    ]
    storage.store([_summary(16, 5 * SECOND, {})])  # the pod is gone
    assert storage.pod_usage("default", "web") is None and storage.pods() == []


def test_quantities_are_kubernetes_quantities() -> None:
    assert cpu_quantity(250_000_000) == "250000000n"
    assert memory_quantity(64 * 1024 * 1024) == "65536Ki"
    assert memory_quantity(1000) == "1000"


def test_docker_working_set_is_usage_minus_inactive_file() -> None:
    answer = {
        "read": "2026-11-26T14:42:56.88784859Z",
        "cpu_stats": {"cpu_usage": {"total_usage": 1_036_850_219}},
        "memory_stats": {"usage": 495_616, "stats": {"total_inactive_file": 131_072}},
    }
    usage = docker_usage(answer)
    assert (usage.cpu_usage_core_nanoseconds, usage.memory_working_set_bytes) == (
        1_036_850_219,
        364_544,
    )
    assert usage.timestamp_ns // SECOND == 1795704176
    v2 = {**answer, "memory_stats": {"usage": 1000, "stats": {"inactive_file": 200}}}
    assert docker_usage(v2).memory_working_set_bytes == 800


def test_libpod_stats_are_read_for_the_container_asked() -> None:
    answer = {"Error": None, "Stats": [{"ContainerID": "abc123", "CPUNano": 7, "MemUsage": 9}]}
    usage = libpod_usage(answer, "abc")
    assert (usage.cpu_usage_core_nanoseconds, usage.memory_working_set_bytes) == (7, 9)


class _Modelled:
    def __init__(self, notes: dict[str, str], started: float, state: str = "running") -> None:
        self.notes = notes
        self.status = ContainerStatus("c1", "app", "s1", state, started_at=started)  # type: ignore[arg-type]

    def behaviour(self, key: str) -> str | None:
        return self.notes.get(key)


def test_fake_usage_is_the_rate_set_times_the_time_run() -> None:
    busy = _Modelled({"usage-cpu": "250m", "usage-memory": "64Mi"}, started=100.0)
    usage = container_usage(busy, now=104.0)
    assert usage.cpu_usage_core_nanoseconds == 4 * 250_000_000
    assert usage.memory_working_set_bytes == 64 * 1024 * 1024
    idle = _Modelled({}, started=100.0)
    assert container_usage(idle, now=102.0).cpu_usage_core_nanoseconds == 2 * 1_000_000  # 1m
    node = node_usage([busy, idle], retired_cpu=5, now=104.0)
    assert node.cpu_usage_core_nanoseconds == 4 * 250_000_000 + 4 * 1_000_000 + 5
    assert node.memory_working_set_bytes == 64 * 1024 * 1024 + 4 * 1024 * 1024
