"""``shoal rollout`` and ``shoal scale`` for StatefulSets and DaemonSets,
whose history is ControllerRevisions, with their controllers running."""

from __future__ import annotations

from shoal.client import Client
from shoal.plugins.controllers.daemonset import DaemonSetController
from shoal.plugins.controllers.statefulset import StatefulSetController

from tests.controllers.helpers import running
from tests.controllers.test_daemonset import daemonset
from tests.controllers.test_statefulset import kubelet, names, statefulset
from tests.ctl.conftest import Shoal
from tests.integration.helpers import eventually


async def image_of(client: Client, kind: str, name: str) -> str:
    return str((await client.get(kind, name)).spec.template.spec.containers[0].image)


async def test_statefulset_rollout_status_scale_history_undo(
    shoal: Shoal, shoal_client: Client
) -> None:
    client = shoal_client
    async with kubelet(client, auto=True), running(StatefulSetController(client)):
        await client.create(statefulset(3))
        status = await shoal("rollout", "status", "sts/web", "--timeout", "30s")
        assert status.code == 0, status.err
        # kubectl's words for a defaulted rollingUpdate (partition 0).
        assert status.out.endswith(
            "partitioned roll out complete: 3 new pods have been updated...\n"
        )

        scaled = await shoal("scale", "sts", "web", "--replicas=1")
        assert scaled.out == "statefulset.apps/web scaled\n"
        await eventually(lambda: _is(names(client), ["web-0"]), timeout=20)

        template = {"spec": {"containers": [{"name": "nginx", "image": "web:2"}]}}
        await client.patch("StatefulSet", "web", {"spec": {"template": template}})
        done = await shoal("rollout", "status", "statefulset/web", "--timeout", "30s")
        assert done.code == 0 and "roll out complete: 1 new pods" in done.out
        history = await shoal("rollout", "history", "sts/web")
        assert [line.split() for line in history.out.splitlines()] == [
            ["statefulset.apps/web"],
            ["REVISION", "CHANGE-CAUSE"],
            ["1", "<none>"],
            ["2", "<none>"],
        ]
        detail = await shoal("rollout", "history", "sts/web", "--revision=1")
        assert "image: web:1" in detail.out

        undone = await shoal("rollout", "undo", "sts/web")
        assert undone.out == "statefulset.apps/web rolled back\n"
        assert await image_of(client, "StatefulSet", "web") == "web:1"
        # The old revision is renumbered, not copied.
        await eventually(lambda: _revisions(shoal, "sts/web", ["2", "3"]), timeout=20)
        again = await shoal("rollout", "undo", "sts/web", "--to-revision=3")
        assert "skipped rollback (current template already matches revision 3)" in again.out
        missing = await shoal("rollout", "undo", "sts/web", "--to-revision=9")
        assert missing.code == 1 and "unable to find specified revision 9" in missing.err


async def test_daemonset_rollout_history_undo_restart(shoal: Shoal, shoal_client: Client) -> None:
    client = shoal_client
    async with running(DaemonSetController(client)):
        await client.create(daemonset())
        status = await shoal("rollout", "status", "ds/agent", "--timeout", "30s")
        assert status.out.endswith('daemon set "agent" successfully rolled out\n'), status.err
        template = {"spec": {"containers": [{"name": "main", "image": "shoal.local/hello:v1"}]}}
        await client.patch("DaemonSet", "agent", {"spec": {"template": template}})
        await eventually(lambda: _revisions(shoal, "ds/agent", ["1", "2"]), timeout=20)
        undone = await shoal("rollout", "undo", "daemonset/agent", "--to-revision=1")
        assert undone.out == "daemonset.apps/agent rolled back\n", undone.err
        assert await image_of(client, "DaemonSet", "agent") == "shoal.local/busybox"
        restarted = await shoal("rollout", "restart", "ds/agent")
        assert restarted.out == "daemonset.apps/agent restarted\n"
        ds = await client.get("DaemonSet", "agent")
        assert "kubectl.kubernetes.io/restartedAt" in ds.spec.template.metadata.annotations
        paused = await shoal("rollout", "pause", "ds/agent")
        assert paused.code == 2 and "rollout works on deployments" in paused.err


async def test_rollout_status_refuses_on_delete(shoal: Shoal, shoal_client: Client) -> None:
    await shoal_client.create(statefulset(1, updateStrategy={"type": "OnDelete"}))
    result = await shoal("rollout", "status", "sts/web", "--watch=false")
    assert result.code == 1
    assert "only available for RollingUpdate strategy type" in result.err


async def _is(got: object, want: object) -> bool:
    return bool(await got == want)  # type: ignore[misc]


async def _revisions(shoal: Shoal, target: str, want: list[str]) -> bool:
    out = (await shoal("rollout", "history", target)).out
    return [line.split()[0] for line in out.splitlines()[2:] if line.strip()] == want


async def test_get_all_includes_the_sets(shoal: Shoal, shoal_client: Client) -> None:
    await shoal_client.create(statefulset(1))
    await shoal_client.create(daemonset())
    listed = await shoal("get", "all", "-o", "name")
    assert listed.code == 0, listed.err
    assert listed.out.splitlines() == ["daemonset.apps/agent", "statefulset.apps/web"]


async def test_get_columns_as_kubectl(shoal: Shoal, shoal_client: Client) -> None:
    ds = daemonset()
    ds.spec.template.spec.node_selector["logs"] = "yes"
    async with running(DaemonSetController(shoal_client)):
        await shoal_client.create(ds)
        await eventually(lambda: _listed(shoal_client, "ControllerRevision"))
    await shoal_client.create(statefulset(2))
    got = await shoal("get", "ds")
    assert got.out.splitlines()[0].split() == [
        "NAME", "DESIRED", "CURRENT", "READY", "UP-TO-DATE", "AVAILABLE", "NODE", "SELECTOR", "AGE",
    ]  # fmt: skip
    assert got.out.splitlines()[1].split()[:7] == ["agent", "0", "0", "0", "0", "0", "logs=yes"]
    wide = await shoal("get", "ds", "-o", "wide")
    assert wide.out.splitlines()[0].split()[-3:] == ["CONTAINERS", "IMAGES", "SELECTOR"]
    assert wide.out.splitlines()[1].split()[-3:] == ["main", "shoal.local/busybox", "app=agent"]
    sts = await shoal("get", "sts", "-o", "wide")
    assert sts.out.splitlines()[0].split() == ["NAME", "READY", "AGE", "CONTAINERS", "IMAGES"]
    assert sts.out.splitlines()[1].split()[:2] == ["web", "0/2"]
    revisions = await shoal("get", "controllerrevisions")
    assert revisions.out.splitlines()[0].split() == ["NAME", "CONTROLLER", "REVISION", "AGE"]
    assert revisions.out.splitlines()[1].split()[1:3] == ["daemonset.apps/agent", "1"]


async def _listed(client: Client, kind: str) -> bool:
    return bool((await client.list(kind)).items)
