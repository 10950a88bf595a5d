"""The table columns of Kubernetes' own kinds, as kubectl prints them:
each kind's strategy carries its :class:`shoal.strategy.Table`, which
``shoal get`` and the gateway's Table responses (``kubectl get``) print.

A Table has a function ``(object dict, now) -> cells`` for the normal
columns and, optionally, one for the extra ``-o wide`` columns.
"""

from __future__ import annotations

from typing import Any

from shoal.age import age, human_duration, parse_time
from shoal.strategy import Table

Obj = dict[str, Any]
Cells = list[str]


def _meta(obj: Obj) -> Obj:
    return obj.get("metadata") or {}


def _age(obj: Obj, now: float) -> str:
    return age(_meta(obj).get("creationTimestamp", ""), now)


def labels_selector(selector: Any) -> str:
    """A selector as kubectl prints it (metav1.FormatLabelSelector): a
    LabelSelector's ``matchLabels`` and ``matchExpressions`` (``k in (a,b)``,
    ``k notin (a)``, ``k``, ``!k``), or a plain map (a ReplicationController's)."""
    if not selector or not isinstance(selector, dict):
        return "<none>"
    labels = selector.get("matchLabels", selector)
    parts = [f"{k}={v}" for k, v in sorted(labels.items()) if isinstance(v, str)]
    for expr in selector.get("matchExpressions") or []:
        key, op = expr.get("key", ""), expr.get("operator", "")
        values = ",".join(expr.get("values") or [])
        if op == "Exists":
            parts.append(key)
        elif op == "DoesNotExist":
            parts.append(f"!{key}")
        else:
            parts.append(f"{key} {op.lower()} ({values})")
    return ",".join(parts) or "<none>"


def pod_status(pod: Obj) -> str:
    """kubectl's STATUS column: Terminating (until a deleted pod's node has
    written it Succeeded or Failed, as Kubernetes 1.27+ prints it), a
    container's waiting or terminated reason, else the phase."""
    status = pod.get("status") or {}
    reason = status.get("reason") or status.get("phase") or "Pending"
    init = _init_reason(pod)
    reason = init or _container_reason(status.get("containerStatuses") or [], reason)
    if _meta(pod).get("deletionTimestamp"):
        if status.get("reason") == "NodeLost":
            return "Unknown"
        if status.get("phase") not in ("Succeeded", "Failed"):
            return "Terminating"
    return reason


def _init_reason(pod: Obj) -> str:
    statuses = (pod.get("status") or {}).get("initContainerStatuses") or []
    total = len((pod.get("spec") or {}).get("initContainers") or [])
    for i, cs in enumerate(statuses):
        state = cs.get("state") or {}
        term, wait = state.get("terminated"), state.get("waiting")
        if term and term.get("exitCode", 0) == 0:
            continue
        if term:
            return "Init:" + (term.get("reason") or _exit(term))
        if wait and wait.get("reason") not in (None, "", "PodInitializing"):
            return "Init:" + wait["reason"]
        return f"Init:{i}/{total}"
    return ""


def _exit(term: Obj) -> str:
    if term.get("signal"):
        return f"Signal:{term['signal']}"
    return f"ExitCode:{term.get('exitCode', 0)}"


def _container_reason(statuses: list[Obj], reason: str) -> str:
    running = False
    for cs in reversed(statuses):
        state = cs.get("state") or {}
        wait, term = state.get("waiting") or {}, state.get("terminated")
        if wait.get("reason"):
            reason = wait["reason"]
        elif term is not None:
            reason = term.get("reason") or _exit(term)
        elif cs.get("ready") and "running" in state:
            running = True
    if reason == "Completed" and running:
        return "Running"
    return reason


def _restarts(pod: Obj, now: float) -> str:
    statuses = (pod.get("status") or {}).get("containerStatuses") or []
    count = sum(int(cs.get("restartCount", 0)) for cs in statuses)
    finished = [
        parse_time((cs.get("lastState") or {}).get("terminated", {}).get("finishedAt", ""))
        for cs in statuses
    ]
    latest = max((f for f in finished if f is not None), default=None)
    if count and latest is not None:
        return f"{count} ({human_duration(now - latest)} ago)"
    return str(count)


def pod(obj: Obj, now: float) -> Cells:
    statuses = (obj.get("status") or {}).get("containerStatuses") or []
    total = len((obj.get("spec") or {}).get("containers") or [])
    ready = sum(1 for cs in statuses if cs.get("ready"))
    return [f"{ready}/{total}", pod_status(obj), _restarts(obj, now), _age(obj, now)]


def pod_wide(obj: Obj, now: float) -> Cells:
    status, spec = obj.get("status") or {}, obj.get("spec") or {}
    gates = spec.get("readinessGates") or []
    return [
        status.get("podIP") or "<none>",
        spec.get("nodeName") or "<none>",
        status.get("nominatedNodeName") or "<none>",
        f"{len(gates)}" if gates else "<none>",
    ]


def _template_wide(obj: Obj, now: float) -> Cells:
    spec = obj.get("spec") or {}
    containers = ((spec.get("template") or {}).get("spec") or {}).get("containers") or []
    return [
        ",".join(c.get("name", "") for c in containers),
        ",".join(c.get("image", "") for c in containers),
        labels_selector(spec.get("selector")),
    ]


def deployment(obj: Obj, now: float) -> Cells:
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    return [
        f"{status.get('readyReplicas', 0)}/{spec.get('replicas', 0)}",
        str(status.get("updatedReplicas", 0)),
        str(status.get("availableReplicas", 0)),
        _age(obj, now),
    ]


def replicas(obj: Obj, now: float) -> Cells:
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    return [
        str(spec.get("replicas", 0)),
        str(status.get("replicas", 0)),
        str(status.get("readyReplicas", 0)),
        _age(obj, now),
    ]


def service(obj: Obj, now: float) -> Cells:
    spec = obj.get("spec") or {}
    external = spec.get("externalIPs") or []
    ingress = ((obj.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []
    external = external + [i.get("ip") or i.get("hostname", "") for i in ingress]
    kind = spec.get("type") or "ClusterIP"
    default_external = "<pending>" if kind == "LoadBalancer" else "<none>"
    if kind == "ExternalName":
        external = [spec.get("externalName", "")]
    return [
        kind,
        spec.get("clusterIP") or "<none>",
        ",".join(external) or default_external,
        _ports(spec.get("ports") or []),
        _age(obj, now),
    ]


def _ports(ports: list[Obj]) -> str:
    out = []
    for p in ports:
        node = f":{p['nodePort']}" if p.get("nodePort") else ""
        out.append(f"{p.get('port', 0)}{node}/{p.get('protocol') or 'TCP'}")
    return ",".join(out) or "<none>"


def service_wide(obj: Obj, now: float) -> Cells:
    return [labels_selector((obj.get("spec") or {}).get("selector"))]


def endpoints(obj: Obj, now: float) -> Cells:
    found = []
    for subset in obj.get("subsets") or []:
        ports = [p.get("port", 0) for p in subset.get("ports") or []] or [None]
        for address in subset.get("addresses") or []:
            found += [f"{address.get('ip')}:{p}" if p else address.get("ip", "") for p in ports]
    shown = ",".join(found[:3]) + (f" + {len(found) - 3} more..." if len(found) > 3 else "")
    return [shown or "<none>", _age(obj, now)]


def node(obj: Obj, now: float) -> Cells:
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    ready = next((c for c in status.get("conditions") or [] if c.get("type") == "Ready"), None)
    state = (
        "Unknown" if ready is None else ("Ready" if ready.get("status") == "True" else "NotReady")
    )
    if spec.get("unschedulable"):
        state += ",SchedulingDisabled"
    prefix = "node-role.kubernetes.io/"
    roles = sorted(k[len(prefix) :] for k in _meta(obj).get("labels") or {} if k.startswith(prefix))
    version = (status.get("nodeInfo") or {}).get("kubeletVersion") or ""
    return [state, ",".join(roles) or "<none>", _age(obj, now), version]


def node_wide(obj: Obj, now: float) -> Cells:
    status = obj.get("status") or {}
    addresses = {a.get("type"): a.get("address") for a in status.get("addresses") or []}
    info = status.get("nodeInfo") or {}
    return [
        addresses.get("InternalIP") or "<none>",
        addresses.get("ExternalIP") or "<none>",
        info.get("osImage") or "<unknown>",
        info.get("kernelVersion") or "<unknown>",
        info.get("containerRuntimeVersion") or "<unknown>",
    ]


def namespace(obj: Obj, now: float) -> Cells:
    return [(obj.get("status") or {}).get("phase") or "Active", _age(obj, now)]


def configmap(obj: Obj, now: float) -> Cells:
    count = len(obj.get("data") or {}) + len(obj.get("binaryData") or {})
    return [str(count), _age(obj, now)]


def secret(obj: Obj, now: float) -> Cells:
    return [obj.get("type") or "Opaque", str(len(obj.get("data") or {})), _age(obj, now)]


def event(obj: Obj, now: float) -> Cells:
    inv = obj.get("involvedObject") or {}
    last = obj.get("lastTimestamp") or obj.get("eventTime") or _meta(obj).get("creationTimestamp")
    return [
        age(last or "", now),
        obj.get("type", ""),
        obj.get("reason", ""),
        f"{(inv.get('kind') or '').lower()}/{inv.get('name', '')}",
        obj.get("message", ""),
    ]


def lease(obj: Obj, now: float) -> Cells:
    return [(obj.get("spec") or {}).get("holderIdentity") or "", _age(obj, now)]


POD = Table(
    ["READY", "STATUS", "RESTARTS", "AGE"],
    pod,
    ["IP", "NODE", "NOMINATED NODE", "READINESS GATES"],
    pod_wide,
)
_TEMPLATE_WIDE = ["CONTAINERS", "IMAGES", "SELECTOR"]
DEPLOYMENT = Table(
    ["READY", "UP-TO-DATE", "AVAILABLE", "AGE"], deployment, _TEMPLATE_WIDE, _template_wide
)
REPLICAS = Table(["DESIRED", "CURRENT", "READY", "AGE"], replicas, _TEMPLATE_WIDE, _template_wide)
SERVICE = Table(
    ["TYPE", "CLUSTER-IP", "EXTERNAL-IP", "PORT(S)", "AGE"], service, ["SELECTOR"], service_wide
)
ENDPOINTS = Table(["ENDPOINTS", "AGE"], endpoints)
NODE = Table(
    ["STATUS", "ROLES", "AGE", "VERSION"],
    node,
    ["INTERNAL-IP", "EXTERNAL-IP", "OS-IMAGE", "KERNEL-VERSION", "CONTAINER-RUNTIME"],
    node_wide,
)
NAMESPACE = Table(["STATUS", "AGE"], namespace)
CONFIG_MAP = Table(["DATA", "AGE"], configmap)
SECRET = Table(["TYPE", "DATA", "AGE"], secret)
LEASE = Table(["HOLDER", "AGE"], lease)
# kubectl shows an event's NAME only with -o wide: events are read by their object
EVENT = Table(["LAST SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"], event, name_wide=True)
