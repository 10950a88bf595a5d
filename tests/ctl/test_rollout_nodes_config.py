"""``rollout`` against ReplicaSets made by hand, node maintenance, ``config``, completion."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from shoal.client import Client

from tests.ctl.conftest import Shoal
from tests.integration.helpers import obj, pod


async def _revision(client: Client, deploy: object, number: int, image: str, cause: str) -> None:
    meta = deploy.metadata  # type: ignore[attr-defined]
    labels = {"app": "web", "pod-template-hash": f"h{number}"}
    await client.create(
        obj(
            {
                "apiVersion": "apps/v1",
                "kind": "ReplicaSet",
                "metadata": {
                    "name": f"web-h{number}",
                    "labels": labels,
                    "annotations": {
                        "deployment.kubernetes.io/revision": str(number),
                        "kubernetes.io/change-cause": cause,
                    },
                    "ownerReferences": [
                        {
                            "apiVersion": "apps/v1",
                            "kind": "Deployment",
                            "name": meta.name,
                            "uid": meta.uid,
                            "controller": True,
                        }
                    ],
                },
                "spec": {
                    "replicas": 0,
                    "selector": {"matchLabels": labels},
                    "template": {
                        "metadata": {"labels": labels},
                        "spec": {"containers": [{"name": "nginx", "image": image}]},
                    },
                },
            }
        )
    )


async def test_rollout_history_undo_restart_pause(shoal: Shoal, shoal_client: Client) -> None:
    await shoal("create", "deployment", "web", "--image=nginx:1.26")
    deploy = await shoal_client.get("deploy", "web")
    await _revision(shoal_client, deploy, 1, "nginx:1.25", "first")
    await _revision(shoal_client, deploy, 2, "nginx:1.26", "bump")
    history = await shoal("rollout", "history", "deployment/web")
    assert history.out == (
        "deployment.apps/web\nREVISION   CHANGE-CAUSE\n1          first\n2          bump\n"
    )
    detail = await shoal("rollout", "history", "deploy/web", "--revision=1")
    assert "image: nginx:1.25" in detail.out
    undone = await shoal("rollout", "undo", "deploy/web")
    assert undone.out == "deployment.apps/web rolled back\n", undone.err
    template = (await shoal_client.get("deploy", "web")).spec.template
    assert template.spec.containers[0].image == "nginx:1.25"
    assert "pod-template-hash" not in template.metadata.labels
    missing = await shoal("rollout", "undo", "deploy/web", "--to-revision=9")
    assert missing.code == 1 and "unable to find specified revision 9" in missing.err
    assert (await shoal("rollout", "restart", "deploy/web")).code == 0
    template = (await shoal_client.get("deploy", "web")).spec.template
    assert "kubectl.kubernetes.io/restartedAt" in template.metadata.annotations
    assert (await shoal("rollout", "pause", "deploy/web")).out == "deployment.apps/web paused\n"
    assert (await shoal_client.get("deploy", "web")).spec.paused
    again = await shoal("rollout", "pause", "deploy/web")
    assert again.code == 1 and "already paused" in again.err
    assert (await shoal("rollout", "restart", "deploy/web")).code == 1
    assert (await shoal("rollout", "resume", "deploy/web")).out == "deployment.apps/web resumed\n"
    assert (await shoal("rollout", "status", "pod/x")).code == 2


async def test_rollout_status(shoal: Shoal, shoal_client: Client) -> None:
    await shoal("create", "deployment", "web", "--image=nginx", "--replicas=2")
    once = await shoal("rollout", "status", "deploy/web", "--watch=false")
    assert once.code == 1
    assert once.out == "Waiting for deployment spec update to be observed...\n"
    deploy = await shoal_client.get("deploy", "web")
    deploy.status.observed_generation = deploy.metadata.generation
    deploy.status.replicas = deploy.status.updated_replicas = 2
    deploy.status.available_replicas = deploy.status.ready_replicas = 2
    await shoal_client.update_status(deploy)
    done = await shoal("rollout", "status", "deploy/web", "--timeout=10s")
    assert (done.code, done.out) == (0, 'deployment "web" successfully rolled out\n')
    deploy = await shoal_client.get("deploy", "web")
    deploy.status.conditions.add(
        type="Progressing", status="False", reason="ProgressDeadlineExceeded"
    )
    await shoal_client.update_status(deploy)
    failed = await shoal("rollout", "status", "deploy/web")
    assert failed.code == 1 and 'deployment "web" exceeded its progress deadline' in failed.err


async def test_cordon_taint_drain(shoal: Shoal, shoal_client: Client) -> None:
    await shoal_client.create(obj({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n1"}}))
    assert (await shoal("cordon", "n1")).out == "node/n1 cordoned\n"
    assert (await shoal_client.get("node", "n1", "")).spec.unschedulable
    assert (await shoal("uncordon", "n1")).out == "node/n1 uncordoned\n"
    assert (await shoal("taint", "nodes", "n1", "gpu=yes:NoSchedule")).out == "node/n1 tainted\n"
    dup = await shoal("taint", "node/n1", "gpu=no:NoSchedule")
    assert dup.code == 1 and "--overwrite is false" in dup.err
    await shoal("taint", "node", "n1", "gpu-")
    assert not [t for t in (await shoal_client.get("node", "n1", "")).spec.taints if t.key == "gpu"]
    bad = await shoal("taint", "node", "n1", "gpu=yes:Sometimes")
    assert bad.code == 2 and "invalid taint spec" in bad.err
    owned = pod("owned", node="n1")
    owned.metadata.owner_references.add(
        kind="ReplicaSet", name="rs", uid="u1", api_version="apps/v1", controller=True
    )
    await shoal_client.create(owned)
    await shoal_client.create(pod("bare", node="n1"))
    refused = await shoal("drain", "n1")
    assert refused.code == 1 and "default/bare" in refused.err and "--force" in refused.err
    assert (await shoal_client.get("node", "n1", "")).spec.unschedulable
    drained = await shoal("drain", "n1", "--force", "--grace-period=0")
    assert drained.code == 0 and "pod/owned evicted" in drained.out, drained.err
    assert (await shoal_client.list("pod", "default")).items == []


async def test_drain_honours_disruption_budgets(shoal: Shoal, shoal_client: Client) -> None:
    await shoal_client.create(obj({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n1"}}))
    guarded = pod("guarded", node="n1", labels={"app": "db"})
    guarded.metadata.owner_references.add(
        kind="ReplicaSet", name="rs", uid="u1", api_version="apps/v1", controller=True
    )
    await shoal_client.create(guarded)
    await shoal_client.update_status(_running(await shoal_client.get("pod", "guarded")))
    await shoal_client.create(obj({
        "apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": {"name": "db"},
        "spec": {"minAvailable": 1, "selector": {"matchLabels": {"app": "db"}}},
    }))  # fmt: skip
    refused = await shoal("drain", "n1", "--timeout=1s")
    assert refused.code == 1, refused.out
    assert 'error when evicting pods/"guarded" -n "default": global timeout reached' in refused.err
    assert "disruption budget" in refused.err
    assert not (await shoal_client.get("pod", "guarded")).metadata.HasField("deletion_timestamp")
    forced = await shoal("drain", "n1", "--disable-eviction", "--grace-period=0")
    assert forced.code == 0 and "pod/guarded evicted" in forced.out, forced.err
    assert (await shoal_client.list("pod", "default")).items == []


async def test_drain_leaves_daemonset_pods_only_when_asked(
    shoal: Shoal, shoal_client: Client
) -> None:
    await shoal_client.create(obj({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n1"}}))
    daemon = pod("agent-x", node="n1")
    daemon.metadata.owner_references.add(
        kind="DaemonSet", name="agent", uid="u2", api_version="apps/v1", controller=True
    )
    await shoal_client.create(daemon)
    refused = await shoal("drain", "n1")
    assert refused.code == 1
    assert "DaemonSet-managed Pods (use --ignore-daemonsets): default/agent-x" in refused.err
    drained = await shoal("drain", "n1", "--ignore-daemonsets")
    assert drained.code == 0, drained.err
    assert "Warning: ignoring DaemonSet-managed Pods: default/agent-x" in drained.err
    assert "node/n1 drained" in drained.out
    assert [p.metadata.name for p in (await shoal_client.list("pod", "default")).items] == [
        "agent-x"
    ]


def _running(p: Any) -> Any:
    p.status.phase = "Running"
    p.status.conditions.add(type="Ready", status="True")
    return p


async def test_config_commands(shoal: Shoal, tmp_path: Path) -> None:
    config = str(tmp_path / "config")
    Path(config).write_text(
        "apiVersion: v1\nkind: Config\ncurrent-context: a\n"
        "clusters: [{name: a, cluster: {server: '127.0.0.1:1'}}]\n"
        "users: [{name: a, user: {token: secret}}]\n"
        "contexts: [{name: a, context: {cluster: a, user: a, namespace: default}}]\n"
    )
    run = lambda *args: shoal("--config", config, "config", *args, server=False)  # noqa: E731
    assert (await run("current-context")).out == "a\n"
    assert (await run("set-context", "b", "--cluster=a", "--namespace=web")).out == (
        'Context "b" created.\n'
    )
    assert (await run("use-context", "b")).out == 'Switched to context "b".\n'
    listed = await run("get-contexts")
    assert listed.out.splitlines() == [
        "CURRENT   NAME   CLUSTER   AUTHINFO   NAMESPACE",
        "          a      a         a          default",
        "*         b      a                    web",
    ]
    view = await run("view")
    assert "REDACTED" in view.out and "secret" not in view.out
    assert "token: secret" in (await run("view", "--raw")).out
    missing = await run("use-context", "zzz")
    assert missing.code == 1 and 'no context exists with the name: "zzz"' in missing.err
    no_file = await shoal("--config", str(tmp_path / "none"), "get", "pods", server=False)
    assert no_file.code == 1 and no_file.err.startswith("error: no config file at")


async def test_completion_and_help(shoal: Shoal) -> None:
    bash = await shoal("completion", "bash", server=False)
    assert "_SHOAL_COMPLETE" in bash.out and bash.code == 0
    for verb in ("get", "apply", "delete", "rollout", "drain", "wait", "expose"):
        helped = await shoal(verb, "--help", server=False)
        assert helped.code == 0 and "Example" in helped.out, verb
