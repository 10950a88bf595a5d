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
