"""The pod status a person reads: phase, conditions, IPs, start time and each
container's state, computed from what the runtime reports (kubelet's
``generateAPIPodStatus``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from google.protobuf.timestamp_pb2 import Timestamp
from shoal import clock
from shoal.api.v1 import core_pb2, meta_pb2
from shoal.runtime import ContainerStatus


@dataclass
class ContainerView:
    """What the agent knows of one spec container."""

    name: str
    image: str
    latest: ContainerStatus | None = None
    previous: ContainerStatus | None = None
    waiting: tuple[str, str] | None = None  # (reason, message) when not running
    ready: bool = False
    started: bool | None = None


def _stamp(seconds: float) -> Timestamp:
    ts = Timestamp()
    ts.FromNanoseconds(int(seconds * 1e9))
    ts.nanos = 0  # Kubernetes times are to the second
    return ts


def terminated(c: ContainerStatus, runtime: str) -> core_pb2.ContainerStateTerminated:
    return core_pb2.ContainerStateTerminated(
        exit_code=c.exit_code,
        reason=c.reason or ("Completed" if c.exit_code == 0 else "Error"),
        message=c.message,
        started_at=_stamp(c.started_at) if c.started_at else None,
        finished_at=_stamp(c.finished_at) if c.finished_at else None,
        container_id=f"{runtime}://{c.id}",
    )


def _state(view: ContainerView, runtime: str) -> core_pb2.ContainerState:
    c = view.latest
    if view.waiting is not None or c is None or c.state == "created":
        reason, message = view.waiting or ("ContainerCreating", "")
        return core_pb2.ContainerState(
            waiting=core_pb2.ContainerStateWaiting(reason=reason, message=message)
        )
    if c.state == "running":
        running = core_pb2.ContainerStateRunning(started_at=_stamp(c.started_at))
        return core_pb2.ContainerState(running=running)
    return core_pb2.ContainerState(terminated=terminated(c, runtime))


def container_status(view: ContainerView, runtime: str) -> core_pb2.ContainerStatus:
    c = view.latest
    status = core_pb2.ContainerStatus(
        name=view.name,
        state=_state(view, runtime),
        ready=view.ready,
        restart_count=c.attempt if c else 0,
        image=view.image,
        image_id=c.image_id if c else "",
        container_id=f"{runtime}://{c.id}" if c else "",
    )
    last = view.previous
    if view.waiting is not None and c is not None and c.state == "exited":
        last = c  # the run that ended is the last state while we wait to restart
    if last is not None and last.state == "exited":
        status.last_state.terminated.CopyFrom(terminated(last, runtime))
    if view.started is not None:
        status.started = view.started
    return status


def phase(spec: Any, statuses: list[core_pb2.ContainerStatus], *, terminal: bool = False) -> str:
    """Kubernetes' getPhase over the containers' states; ``terminal``: the
    pod is being deleted and its containers are stopped, so it ends
    Succeeded if every container exited 0 and Failed otherwise, whatever its
    restart policy (as the kubelet does since Kubernetes 1.27)."""
    waiting = running = stopped = succeeded = 0
    for s in statuses:
        if s.state.HasField("running"):
            running += 1
        elif s.state.HasField("terminated"):
            stopped += 1
            succeeded += s.state.terminated.exit_code == 0
        elif s.last_state.HasField("terminated"):
            stopped += 1  # waiting to restart
        else:
            waiting += 1
    if terminal and not running:
        return "Succeeded" if statuses and not waiting and stopped == succeeded else "Failed"
    if waiting or not statuses:
        return "Pending"
    if running:
        return "Running"
    if spec.restart_policy == "Always":
        return "Running"
    if stopped == succeeded:
        return "Succeeded"
    return "Running" if spec.restart_policy == "OnFailure" else "Failed"


# The conditions the agent writes; any other a pod carries (DisruptionTarget,
# a readiness gate's) belongs to another component and is kept, as the
# kubelet keeps what PodConditionByKubelet does not name.
AGENT_CONDITIONS = frozenset({"PodScheduled", "Initialized", "ContainersReady", "Ready"})


def _condition(kind: str, ok: bool, reason: str = "") -> meta_pb2.Condition:
    return meta_pb2.Condition(type=kind, status="True" if ok else "False", reason=reason)


def conditions(statuses: list[core_pb2.ContainerStatus], phase: str) -> list[meta_pb2.Condition]:
    ready = bool(statuses) and all(s.ready for s in statuses)
    # A finished pod's containers are not ready, but not for a reason to show.
    reason = "" if ready else ("PodCompleted" if phase in ("Succeeded", "Failed") else "")
    if not ready and not reason:
        reason = "ContainersNotReady"
    return [
        _condition("PodScheduled", True),
        _condition("Initialized", True),
        _condition("ContainersReady", ready, reason),
        _condition("Ready", ready, reason),
    ]


def _keep_transition_times(old: Any, new: list[meta_pb2.Condition], now: Timestamp) -> None:
    before = {c.type: c for c in old.conditions}
    for cond in new:
        prior = before.get(cond.type)
        if prior is not None and prior.status == cond.status:
            cond.last_transition_time.CopyFrom(prior.last_transition_time)
        else:
            cond.last_transition_time.CopyFrom(now)


def pod_status(
    pod: Any,
    views: list[ContainerView],
    *,
    old: Any = None,
    pod_ip: str,
    host_ip: str,
    runtime: str,
    terminal: bool = False,
) -> core_pb2.PodStatus:
    """The status to report; times the old status (default: the pod's)
    already holds are kept, so an unchanged pod yields an equal message (and
    no write). ``terminal``: see :func:`phase`."""
    old = pod.status if old is None else old
    now = _stamp(clock.time())
    statuses = [container_status(v, runtime) for v in views]
    status = core_pb2.PodStatus(
        phase=phase(pod.spec, statuses, terminal=terminal),
        host_ip=host_ip,
        pod_ip=pod_ip,
        container_statuses=statuses,
        qos_class=pod.status.qos_class or qos_class(pod.spec),
    )
    if host_ip:
        status.host_ips.add(ip=host_ip)
    if pod_ip:
        status.pod_ips.add(ip=pod_ip)
    new_conditions = conditions(statuses, status.phase)
    _keep_transition_times(old, new_conditions, now)
    status.conditions.extend(new_conditions)
    status.conditions.extend(c for c in pod.status.conditions if c.type not in AGENT_CONDITIONS)
    status.start_time.CopyFrom(old.start_time if old.HasField("start_time") else now)
    return status


def qos_class(spec: Any) -> str:
    """Guaranteed when every container limits cpu and memory equal to its
    requests, BestEffort when none asks for anything, else Burstable."""
    containers = list(spec.containers)
    asks = [dict(c.resources.requests) | dict(c.resources.limits) for c in containers]
    if not any(asks):
        return "BestEffort"
    for c in containers:
        lim, req = c.resources.limits, c.resources.requests
        for res in ("cpu", "memory"):
            if res not in lim or req.get(res, lim[res]) != lim[res]:
                return "Burstable"
    return "Guaranteed"
