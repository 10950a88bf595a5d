"""An eviction whose deleteOptions say dryRun (what `kubectl drain
--dry-run=server` sends) deletes nothing, as Kubernetes' propagateDryRun."""

from __future__ import annotations

from shoal import errors
from shoal.api.v1 import core_pb2, policy_pb2
from shoal.client import Client


async def test_dry_run_in_the_eviction_body_deletes_nothing(shoal_client: Client) -> None:
    pod = core_pb2.Pod()
    pod.metadata.name, pod.metadata.namespace = "p", "default"
    pod.spec.containers.add(name="c", image="busybox")
    await shoal_client.create(pod)
    ev = policy_pb2.Eviction()
    ev.metadata.name, ev.metadata.namespace = "p", "default"
    ev.delete_options.dry_run.append("All")
    await shoal_client.create(ev)
    assert (await shoal_client.get("Pod", "p", "default")).metadata.name == "p"
    ev.delete_options.dry_run[:] = ["Some"]
    try:
        await shoal_client.create(ev)
    except errors.InvalidError as err:
        assert err.causes == [
            ("deleteOptions.dryRun", 'Unsupported value: "Some": supported values: "All"')
        ]
    else:
        raise AssertionError("an unknown dryRun value was accepted")
    assert (await shoal_client.get("Pod", "p", "default")).metadata.name == "p"


async def test_an_eviction_says_why_before_it_deletes(shoal_client: Client) -> None:
    """As Kubernetes' eviction subresource: the pod gets DisruptionTarget
    (EvictionByEvictionAPI) and then the delete (a finalizer keeps it here
    to be read)."""
    pod = core_pb2.Pod()
    pod.metadata.name, pod.metadata.namespace = "held", "default"
    pod.metadata.finalizers.append("example.com/hold")
    pod.spec.containers.add(name="c", image="busybox")
    await shoal_client.create(pod)
    ev = policy_pb2.Eviction()
    ev.metadata.name, ev.metadata.namespace = "held", "default"
    await shoal_client.create(ev)
    evicted = await shoal_client.get("Pod", "held", "default")
    assert evicted.metadata.HasField("deletion_timestamp")
    [why] = [c for c in evicted.status.conditions if c.type == "DisruptionTarget"]
    assert (why.status, why.reason, why.message) == (
        "True",
        "EvictionByEvictionAPI",
        "Eviction API: evicting",
    )
    assert why.last_transition_time.seconds > 0
