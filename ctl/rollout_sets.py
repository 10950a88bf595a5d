"""``shoal rollout`` for DaemonSets and StatefulSets, as kubectl's history
viewers, rollbackers and status viewers for them: their history is the
ControllerRevisions they own (``revision``, ``data`` holding the pod template),
not ReplicaSets."""

from __future__ import annotations

from typing import Any

import click
from google.protobuf import json_format
from shoal import errors, kinds
from shoal.api.v1 import core_pb2
from shoal.manifest_always import canonicalize

SETS = ("DaemonSet", "StatefulSet")
CHANGE_CAUSE = "kubernetes.io/change-cause"
CONFLICT_RETRIES = 5


async def revisions(client: Any, owner: Any) -> dict[int, Any]:
    """The set's ControllerRevisions by revision number."""
    listed = await client.list("ControllerRevision", owner.metadata.namespace)
    return {
        r.revision: r
        for r in listed.items
        if any(o.uid == owner.metadata.uid and o.controller for o in r.metadata.owner_references)
    }


def change_cause(revision: Any) -> str:
    return str(revision.metadata.annotations.get(CHANGE_CAUSE, "<none>"))


def template_of(revision: Any) -> Any:
    """The pod template a revision records (its ``data``, less ``$patch``)."""
    data = json_format.MessageToDict(revision.data)
    template = dict((data.get("spec") or {}).get("template") or {})
    template.pop("$patch", None)
    parsed = core_pb2.PodTemplateSpec()
    json_format.ParseDict(template, parsed, ignore_unknown_fields=True)
    canonicalize(parsed)
    return parsed


async def undo(client: Any, owner: Any, to_revision: int) -> str:
    """Put the template of ``to_revision`` (0: the one before the newest)
    back in the set; the controller then renumbers that revision."""
    found = await revisions(client, owner)
    if to_revision:
        if to_revision not in found:
            raise click.ClickException(
                f"unable to find specified revision {to_revision} in history"
            )
        number = to_revision
    else:
        numbers = sorted(found)
        if len(numbers) < 2:
            raise click.ClickException("no rollout history found: there is no previous revision")
        number = numbers[-2]
    template = template_of(found[number])
    for _attempt in range(CONFLICT_RETRIES):
        if template == owner.spec.template:
            return f"skipped rollback (current template already matches revision {number})"
        owner.spec.template.CopyFrom(template)
        try:
            await client.update(owner)
        except errors.ConflictError:  # its controller wrote status meanwhile
            owner = await client.get(
                kinds.for_message(owner), owner.metadata.name, owner.metadata.namespace
            )
            continue
        return "rolled back"
    raise click.ClickException(f"{owner.metadata.name} kept changing; undo it again")


def daemon_set_state(ds: Any) -> tuple[bool, str]:
    """kubectl's DaemonSetStatusViewer: (done, message)."""
    name, status = ds.metadata.name, ds.status
    if ds.spec.update_strategy.type != "RollingUpdate":
        raise click.ClickException(
            "rollout status is only available for RollingUpdate strategy type"
        )
    if ds.metadata.generation > status.observed_generation:
        return False, "Waiting for daemon set spec update to be observed..."
    waiting = f'Waiting for daemon set "{name}" rollout to finish: '
    desired = status.desired_number_scheduled
    if status.updated_number_scheduled < desired:
        return (
            False,
            waiting
            + f"{status.updated_number_scheduled} out of {desired} new pods have been updated...",
        )
    if status.number_available < desired:
        return (
            False,
            waiting + f"{status.number_available} of {desired} updated pods are available...",
        )
    return True, f'daemon set "{name}" successfully rolled out'


def stateful_set_state(sts: Any) -> tuple[bool, str]:
    """kubectl's StatefulSetStatusViewer: (done, message)."""
    status, spec = sts.status, sts.spec
    if spec.update_strategy.type != "RollingUpdate":
        raise click.ClickException(
            "rollout status is only available for RollingUpdate strategy type"
        )
    if status.observed_generation == 0 or sts.metadata.generation > status.observed_generation:
        return False, "Waiting for statefulset spec update to be observed..."
    if status.ready_replicas < spec.replicas:
        return False, f"Waiting for {spec.replicas - status.ready_replicas} pods to be ready..."
    # As kubectl: a rollingUpdate block (defaulted, partition 0) reports
    # the rollout as partitioned.
    rolling = spec.update_strategy.rolling_update
    if spec.update_strategy.HasField("rolling_update"):
        if rolling.HasField("partition"):
            want = spec.replicas - rolling.partition
            if status.updated_replicas < want:
                return (
                    False,
                    "Waiting for partitioned roll out to finish: "
                    f"{status.updated_replicas} out of {want} new pods have been updated...",
                )
        return (
            True,
            f"partitioned roll out complete: {status.updated_replicas} new pods "
            "have been updated...",
        )
    if status.update_revision != status.current_revision:
        return (
            False,
            f"waiting for statefulset rolling update to complete {status.updated_replicas} pods "
            f"at revision {status.update_revision}...",
        )
    return (
        True,
        f"statefulset rolling update complete {status.current_replicas} pods at revision "
        f"{status.current_revision}...",
    )


STATES = {"DaemonSet": daemon_set_state, "StatefulSet": stateful_set_state}
