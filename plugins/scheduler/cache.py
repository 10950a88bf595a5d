"""The scheduler's view of the cluster: one :class:`NodeInfo` per node with
what its pods already request, kept up to date from informers, plus the
pods the scheduler has *assumed* onto nodes but not yet seen bound.

Everything a filter or score reads on the hot path is computed here once,
when a node or pod changes, never per scheduling decision: allocatable as
integers, requested sums, used host ports, taints by effect.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import structlog
from shoal import clock
from shoal.client import object_key
from shoal.quantity import QuantityError, cpu_millis, parse_quantity, to_bytes

log = structlog.get_logger("scheduler")

DEFAULT_MAX_PODS = 110
# Pods that request nothing still weigh this much when scoring, as in
# Kubernetes, so best-effort pods spread instead of piling onto one node.
NONZERO_CPU_MILLIS = 100
NONZERO_MEMORY_BYTES = 200 * 1024 * 1024
ASSUMED_POD_TTL = 30.0

HostPort = tuple[str, str, int]  # (hostIP, protocol, port)


def _quantity(resource: str, text: str) -> int:
    try:
        if resource == "cpu":
            return cpu_millis(text)
        if resource == "memory":
            return to_bytes(text)
        return int(parse_quantity(text))
    except QuantityError:
        return 0  # validation rejects bad quantities; never fail scheduling on one


def pod_requests(spec: Any) -> dict[str, int]:
    """What a pod asks for: the sum over its containers, or the largest init
    container if that is more (init containers run one at a time)."""
    total: Counter[str] = Counter()
    for container in spec.containers:
        for resource, text in container.resources.requests.items():
            total[resource] += _quantity(resource, text)
    for container in spec.init_containers:
        for resource, text in container.resources.requests.items():
            total[resource] = max(total[resource], _quantity(resource, text))
    return dict(total)


def pod_priority(pod: Any) -> int:
    """``spec.priority`` as the Priority admission resolved it; 0 if unset."""
    return pod.spec.priority if pod.spec.HasField("priority") else 0


def host_ports(spec: Any) -> list[HostPort]:
    return [
        (port.host_ip or "0.0.0.0", port.protocol or "TCP", port.host_port)
        for containers in (spec.containers, spec.init_containers)
        for container in containers
        for port in container.ports
        if port.host_port > 0
    ]


@dataclass(slots=True)
class PodInfo:
    """A pod with what the scheduler needs from it, computed once."""

    key: str
    pod: Any
    requests: dict[str, int]
    cpu: int
    memory: int
    nonzero_cpu: int
    nonzero_memory: int
    host_ports: list[HostPort]
    owner_uid: str
    has_required_anti_affinity: bool
    priority: int = 0
    extended: tuple[tuple[str, int], ...] = ()  # nonzero requests other than cpu and memory

    @classmethod
    def of(cls, pod: Any) -> PodInfo:
        requests = pod_requests(pod.spec)
        owner = next((o.uid for o in pod.metadata.owner_references if o.controller), "")
        affinity = pod.spec.affinity
        anti = bool(affinity.pod_anti_affinity.required_during_scheduling_ignored_during_execution)
        return cls(
            key=object_key(pod),
            pod=pod,
            requests=requests,
            cpu=requests.get("cpu", 0),
            memory=requests.get("memory", 0),
            nonzero_cpu=requests.get("cpu", 0) or NONZERO_CPU_MILLIS,
            nonzero_memory=requests.get("memory", 0) or NONZERO_MEMORY_BYTES,
            host_ports=host_ports(pod.spec),
            owner_uid=owner,
            has_required_anti_affinity=anti,
            priority=pod_priority(pod),
            extended=tuple((r, v) for r, v in requests.items() if v and r not in ("cpu", "memory")),
        )


def _allocatable(node: Any) -> dict[str, int]:
    source = node.status.allocatable or node.status.capacity
    values = {resource: _quantity(resource, text) for resource, text in source.items()}
    values.setdefault("pods", DEFAULT_MAX_PODS)
    return values


def _ready(node: Any) -> bool:
    return any(c.type == "Ready" and c.status == "True" for c in node.status.conditions)


@dataclass(slots=True)
class NodeInfo:
    """A node and the pods bound (or assumed) to it. Filters and scores get
    this where the hook says ``node``: ``metadata``, ``spec`` and ``status``
    are the Node's own, so a plugin written for a Node message works."""

    name: str
    node: Any
    labels: Any = None
    allocatable: dict[str, int] = field(default_factory=dict)
    alloc_cpu: int = 0
    alloc_memory: int = 0
    alloc_pods: int = DEFAULT_MAX_PODS
    ready: bool = False
    unschedulable: bool = False
    taints: list[Any] = field(default_factory=list)
    prefer_no_schedule: list[Any] = field(default_factory=list)
    pods: dict[str, PodInfo] = field(default_factory=dict)
    requested: Counter[str] = field(default_factory=Counter)
    req_cpu: int = 0
    req_memory: int = 0
    nonzero_cpu: int = 0
    nonzero_memory: int = 0
    used_ports: Counter[HostPort] = field(default_factory=Counter)
    owner_counts: Counter[str] = field(default_factory=Counter)
    # the resource scores last worked out here, for a pod asking (cpu,
    # memory): ((cpu, memory), least allocated, balanced); forgotten when
    # the node or its pods change. Replicas ask alike, and one pod's
    # placement changes one node: the others' scores stand.
    resource_memo: tuple[tuple[int, int], int, int] | None = None

    @property
    def metadata(self) -> Any:
        return self.node.metadata

    @property
    def spec(self) -> Any:
        return self.node.spec

    @property
    def status(self) -> Any:
        return self.node.status

    def set_node(self, node: Any) -> None:
        self.node, self.labels = node, node.metadata.labels
        self.allocatable = _allocatable(node)
        self.alloc_cpu = self.allocatable.get("cpu", 0)
        self.alloc_memory = self.allocatable.get("memory", 0)
        self.alloc_pods = self.allocatable["pods"]
        self.ready = _ready(node)
        self.unschedulable = node.spec.unschedulable
        self.taints = list(node.spec.taints)
        self.prefer_no_schedule = [t for t in self.taints if t.effect == "PreferNoSchedule"]
        self.resource_memo = None

    def clone(self) -> NodeInfo:
        """A copy whose pods can be added and removed without touching this
        one (preemption's dry runs, nominated pods' held room)."""
        return dataclasses.replace(
            self,
            pods=dict(self.pods),
            requested=Counter(self.requested),
            used_ports=Counter(self.used_ports),
            owner_counts=Counter(self.owner_counts),
        )

    def add_pod(self, info: PodInfo) -> None:
        self.pods[info.key] = info
        self._account(info, 1)

    def remove_pod(self, key: str) -> None:
        info = self.pods.pop(key, None)
        if info is not None:
            self._account(info, -1)

    def _account(self, info: PodInfo, sign: int) -> None:
        self.resource_memo = None
        requested = self.requested
        for resource, amount in info.requests.items():
            requested[resource] += sign * amount
        self.req_cpu += sign * info.cpu
        self.req_memory += sign * info.memory
        self.nonzero_cpu += sign * info.nonzero_cpu
        self.nonzero_memory += sign * info.nonzero_memory
        for port in info.host_ports:
            self.used_ports[port] += sign
            if self.used_ports[port] <= 0:
                del self.used_ports[port]
        if info.owner_uid:
            self.owner_counts[info.owner_uid] += sign


def is_terminated(pod: Any) -> bool:
    return pod.status.phase in ("Succeeded", "Failed")


class SchedulerCache:
    """Nodes and bound pods by name, plus assumed pods."""

    def __init__(self, assumed_ttl: float = ASSUMED_POD_TTL) -> None:
        self.nodes: dict[str, NodeInfo] = {}
        self.node_list: list[NodeInfo] = []  # stable order for rotation
        self._pod_node: dict[str, str] = {}
        self._assumed: dict[str, float] = {}  # key -> expiry (inf while binding)
        self._assumed_ttl = assumed_ttl
        self._orphans: dict[str, dict[str, PodInfo]] = {}  # pods seen before their node
        # Pods with required anti-affinity, which every placement must respect.
        self.anti_affinity_pods: dict[str, PodInfo] = {}
        # Pending pods that preemption made room for: node -> {key: PodInfo}.
        self.nominated: dict[str, dict[str, PodInfo]] = {}
        self._nominated_node: dict[str, str] = {}
        # PodDisruptionBudgets by namespace/name, for preemption to weigh.
        self.pdbs: dict[str, Any] = {}
        self.pdb_generation = 0  # bumped on every change, for derived indexes
        # Nodes a filter or score could tell apart, so that its pre-filter
        # (pre-score) lets it sit out in the common cluster where none is:
        self.unfit_nodes: set[str] = set()  # not Ready, or cordoned
        self.tainted_nodes: set[str] = set()  # with any taint
        self.preferring_nodes: set[str] = set()  # with a PreferNoSchedule taint

    # -- nodes ---------------------------------------------------------------

    def set_node(self, node: Any) -> NodeInfo:
        name = node.metadata.name
        info = self.nodes.get(name)
        if info is None:
            info = NodeInfo(name, node)
            self.nodes[name] = info
            self.node_list.append(info)
            for pod in self._orphans.pop(name, {}).values():
                info.add_pod(pod)
        info.set_node(node)
        self._mark(name, info)
        return info

    def _mark(self, name: str, info: NodeInfo | None) -> None:
        for marked, flag in (
            (self.unfit_nodes, info is not None and (not info.ready or info.unschedulable)),
            (self.tainted_nodes, info is not None and bool(info.taints)),
            (self.preferring_nodes, info is not None and bool(info.prefer_no_schedule)),
        ):
            if flag:
                marked.add(name)
            else:
                marked.discard(name)

    def remove_node(self, name: str) -> None:
        info = self.nodes.pop(name, None)
        self._mark(name, None)
        if info is not None:
            self.node_list.remove(info)
            if info.pods:
                self._orphans[name] = info.pods  # pods outlive their node until deleted

    # -- pods ----------------------------------------------------------------

    def set_pod(self, pod: Any) -> None:
        """A bound pod was added or changed (confirms an assumed pod)."""
        key = object_key(pod)
        if is_terminated(pod):
            self.remove_pod(key)
            return
        self._assumed.pop(key, None)
        self._place(PodInfo.of(pod), pod.spec.node_name)

    def remove_pod(self, key: str) -> None:
        self._assumed.pop(key, None)
        self.remove_pod_quietly(key)

    def node_of(self, key: str) -> str | None:
        return self._pod_node.get(key)

    def _place(self, info: PodInfo, node_name: str) -> None:
        self.remove_pod_quietly(info.key)
        self._pod_node[info.key] = node_name
        if info.has_required_anti_affinity:
            self.anti_affinity_pods[info.key] = info
        node = self.nodes.get(node_name)
        if node is not None:
            node.add_pod(info)
        else:
            self._orphans.setdefault(node_name, {})[info.key] = info

    def remove_pod_quietly(self, key: str) -> None:
        self.anti_affinity_pods.pop(key, None)
        node_name = self._pod_node.pop(key, None)
        if node_name is not None and node_name in self.nodes:
            self.nodes[node_name].remove_pod(key)
        elif node_name is not None:
            self._orphans.get(node_name, {}).pop(key, None)

    # -- nominated pods (room held for a preemptor) ------------------------------

    def nominate(self, pod: Any, node_name: str) -> None:
        """``pod`` (pending) waits for room on ``node_name``; "" forgets it."""
        key = object_key(pod)
        self.unnominate(key)
        if node_name:
            self.nominated.setdefault(node_name, {})[key] = PodInfo.of(pod)
            self._nominated_node[key] = node_name

    def unnominate(self, key: str) -> None:
        node_name = self._nominated_node.pop(key, None)
        if node_name is not None:
            held = self.nominated.get(node_name, {})
            held.pop(key, None)
            if not held:
                self.nominated.pop(node_name, None)

    def nominated_node(self, key: str) -> str:
        return self._nominated_node.get(key, "")

    # -- PodDisruptionBudgets ------------------------------------------------------

    def set_pdb(self, pdb: Any) -> None:
        self.pdbs[object_key(pdb)] = pdb
        self.pdb_generation += 1

    def remove_pdb(self, pdb: Any) -> None:
        self.pdbs.pop(object_key(pdb), None)
        self.pdb_generation += 1

    # -- assumed pods ----------------------------------------------------------

    def assume_pod(self, info: PodInfo, node_name: str) -> None:
        """Count ``info`` on ``node_name`` before the bind is seen, so the
        next decision does not hand out the same room twice."""
        self._place(info, node_name)
        self._assumed[info.key] = float("inf")

    def finish_binding(self, key: str) -> None:
        if key in self._assumed:
            self._assumed[key] = clock.monotonic() + self._assumed_ttl

    def forget_pod(self, key: str) -> None:
        """The bind failed: take the assumed pod back off its node."""
        if self._assumed.pop(key, None) is not None:
            self.remove_pod_quietly(key)

    def is_assumed(self, key: str) -> bool:
        return key in self._assumed

    def expire_assumed(self) -> None:
        """Drop assumed pods whose bind the informer never confirmed."""
        now = clock.monotonic()
        for key in [k for k, expiry in self._assumed.items() if expiry < now]:
            log.warning("assumed pod expired", pod=key)
            self.forget_pod(key)
