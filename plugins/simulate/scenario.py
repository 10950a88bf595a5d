"""What a simulation is given: nodes, workloads, timed actions, a span.

Everything arrives as YAML documents (``shoal simulate -f``): Node objects
become hollow nodes with their capacity, labels and taints; a document of
``kind: Scenario`` (``apiVersion: simulate.shoal.dev/v1``) lists timed
actions under ``events``; every other object is a workload applied at time
0. :class:`ScenarioError` (a ``ValueError``) names what is wrong; callers
turn it into INVALID_ARGUMENT / 400 / a usage error.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from shoal.manifest import ManifestError, load_documents

ACTIONS = ("kill-node", "drain-node", "scale", "apply", "delete")
SCENARIO_KIND = "Scenario"
MAX_NODES = 5000
MAX_SPAN = 7 * 86400.0


class ScenarioError(ValueError):
    pass


def parse_time(text: Any, where: str) -> float:
    """``3m``, ``90s``, ``1h30m`` or a number of seconds -> seconds."""
    from shoal.ctl.duration import DurationError, parse_duration

    if isinstance(text, bool) or text is None:
        raise ScenarioError(f"{where}: a time is needed, such as 3m or 90s")
    if isinstance(text, (int, float)):
        if text < 0:
            raise ScenarioError(f"{where}: a time cannot be negative")
        return float(text)
    try:
        return parse_duration(str(text))
    except DurationError as err:
        raise ScenarioError(f"{where}: {err}") from None


@dataclass
class NodeSpec:
    name: str
    cpu: str = "4"
    memory: str = "8Gi"
    max_pods: int = 110
    labels: dict[str, str] = field(default_factory=dict)
    taints: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class Action:
    at: float
    action: str
    node: str = ""  # kill-node, drain-node: a name, or "" for the busiest node
    kind: str = ""
    name: str = ""
    namespace: str = "default"
    replicas: int = 0
    manifest: dict[str, Any] = field(default_factory=dict)

    def describe(self) -> str:
        what = self.node or self.name or self.manifest.get("metadata", {}).get("name", "")
        return f"{self.action} {what}".strip()


@dataclass
class Simulation:
    nodes: list[NodeSpec] = field(default_factory=list)
    workloads: list[dict[str, Any]] = field(default_factory=list)
    actions: list[Action] = field(default_factory=list)
    duration: float = 600.0
    sample: float = 0.0  # seconds between utilisation samples; 0: duration/60

    def validate(self) -> None:
        if not self.nodes:
            raise ScenarioError("no nodes: give --nodes N, Node objects in -f, or --from-cluster")
        if len(self.nodes) > MAX_NODES:
            raise ScenarioError(f"at most {MAX_NODES} nodes, not {len(self.nodes)}")
        if not 0 < self.duration <= MAX_SPAN:
            raise ScenarioError("--for must be more than 0 and at most 7d")
        names = {n.name for n in self.nodes}
        for action in self.actions:
            if action.at > self.duration:
                raise ScenarioError(
                    f"{action.describe()} at {action.at:g}s is after the end ({self.duration:g}s)"
                )
            if action.node and action.node not in names:
                raise ScenarioError(f"{action.describe()}: no node {action.node!r}")
        self.actions.sort(key=lambda a: a.at)

    def sample_every(self) -> float:
        return self.sample or max(1.0, self.duration / 60)


def hollow_nodes(count: int, cpu: str = "4", memory: str = "8Gi") -> list[NodeSpec]:
    if not 0 < count <= MAX_NODES:
        raise ScenarioError(f"--nodes must be between 1 and {MAX_NODES}")
    width = max(4, len(str(count - 1)))
    return [NodeSpec(f"hollow-{i:0{width}d}", cpu, memory) for i in range(count)]


def node_from_object(doc: dict[str, Any]) -> NodeSpec:
    meta, spec, status = doc.get("metadata") or {}, doc.get("spec") or {}, doc.get("status") or {}
    name = meta.get("name")
    if not name or not isinstance(name, str):
        raise ScenarioError("a Node needs metadata.name")
    room = status.get("allocatable") or status.get("capacity") or {}
    try:
        max_pods = int(room.get("pods", 110))
    except (TypeError, ValueError):
        raise ScenarioError(f"node {name}: pods must be a whole number") from None
    return NodeSpec(
        name,
        str(room.get("cpu", "4")),
        str(room.get("memory", "8Gi")),
        max_pods,
        {str(k): str(v) for k, v in (meta.get("labels") or {}).items()},
        [dict(t) for t in spec.get("taints") or []],
    )


def parse_action(raw: Any, index: int) -> Action:
    where = f"events[{index}]"
    if not isinstance(raw, dict):
        raise ScenarioError(f"{where}: expected a mapping with at and action")
    action = raw.get("action")
    if action not in ACTIONS:
        raise ScenarioError(f"{where}: action must be one of {', '.join(ACTIONS)}, not {action!r}")
    result = Action(at=parse_time(raw.get("at"), f"{where}.at"), action=str(action))
    result.node = str(raw.get("node") or "")
    result.kind = str(raw.get("kind") or "Deployment")
    result.name = str(raw.get("name") or "")
    result.namespace = str(raw.get("namespace") or "default")
    if action == "scale":
        replicas = raw.get("replicas")
        if not isinstance(replicas, int) or isinstance(replicas, bool) or replicas < 0:
            raise ScenarioError(f"{where}.replicas: a whole number of at least 0 is needed")
        result.replicas = replicas
    if action in ("scale", "delete") and not result.name:
        raise ScenarioError(f"{where}.name: {action} needs the object's name")
    if action == "apply":
        manifest = raw.get("manifest")
        if not isinstance(manifest, dict) or not manifest.get("kind"):
            raise ScenarioError(f"{where}.manifest: apply needs an object with a kind")
        result.manifest = manifest
    return result


def add_documents(sim: Simulation, text: str, source: str) -> None:
    """Sort the documents of one -f file into nodes, workloads and actions."""
    try:
        documents = load_documents(text, source)
    except ManifestError as err:
        raise ScenarioError(str(err)) from None
    for doc in documents:
        kind = doc.get("kind")
        if kind == SCENARIO_KIND:
            events = doc.get("events")
            if not isinstance(events, list):
                raise ScenarioError(f"{source}: a Scenario needs a list of events")
            sim.actions.extend(parse_action(e, i) for i, e in enumerate(events))
        elif kind == "Node":
            sim.nodes.append(node_from_object(doc))
        elif not kind:
            raise ScenarioError(f"{source}: every document needs a kind")
        else:
            sim.workloads.append(doc)


def parse_node_action(text: str, action: str) -> Action:
    """``--kill-node 3m`` (the busiest node) or ``--kill-node NAME@3m``."""
    name, _, at = text.rpartition("@")
    return Action(at=parse_time(at, f"--{action}"), action=action, node=name)
