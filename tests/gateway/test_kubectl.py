"""Real kubectl against a shoal cluster through the gateway: the verbs of
the tutorial, with the output a Kubernetes user knows."""

from __future__ import annotations

import asyncio
import json
import re

import pytest
import yaml
from shoal import config

from tests.ctl.conftest import invoke
from tests.gateway.conftest import (
    KUBECTL,
    MANIFESTS,
    GatewayCluster,
    GatewayServer,
)
from tests.integration.helpers import eventually

pytestmark = pytest.mark.usefixtures("needs_kubectl")


async def test_get_table_yaml_and_describe(gateway_cluster: GatewayCluster) -> None:
    k = gateway_cluster.kubectl
    nodes = await k("get", "nodes")
    assert nodes.code == 0, nodes.err
    assert re.match(r"NAME\s+STATUS\s+ROLES\s+AGE\s+VERSION\n", nodes.out)
    assert re.search(r"hollow-0000\s+Ready\s+<none>", nodes.out)
    applied = await k("apply", "-f", str(MANIFESTS / "pod-multi-container.yaml"))
    assert applied.code == 0 and "created" in applied.out, applied.err
    name = yaml.safe_load((MANIFESTS / "pod-multi-container.yaml").read_text())["metadata"]["name"]
    pods = await k("get", "pods")
    assert re.match(r"NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE\n", pods.out), pods.out
    assert name in pods.out
    as_yaml = yaml.safe_load((await k("get", "pod", name, "-o", "yaml")).out)
    assert as_yaml["kind"] == "Pod" and as_yaml["metadata"]["name"] == name
    described = await k("describe", "pod", name)
    assert described.code == 0, described.err
    assert re.search(rf"Name:\s+{name}", described.out) and "Containers:" in described.out
    wide = await k("get", "pods", "-o", "wide")
    assert "NODE" in wide.out.splitlines()[0]


async def test_apply_scale_rollout_delete(gateway_cluster: GatewayCluster) -> None:
    k = gateway_cluster.kubectl
    manifest = yaml.safe_load((MANIFESTS / "deployment-nginx.yaml").read_text())
    manifest.pop("status", None)  # a status in a manifest always differs from the live one
    first = await k("apply", "-f", "-", input=yaml.safe_dump(manifest))
    assert first.code == 0 and "deployment.apps/nginx-deployment created" in first.out, first.err
    changed = yaml.safe_dump(manifest).replace("nginx:1.14.2", "nginx:1.16.1")
    second = await k("apply", "-f", "-", input=changed)
    assert second.code == 0 and "configured" in second.out, second.err
    same = await k("apply", "-f", "-", input=changed)
    assert "unchanged" in same.out, same.out + same.err
    rollout = await k("rollout", "status", "deployment/nginx-deployment", "--timeout=60s")
    assert rollout.code == 0 and "successfully rolled out" in rollout.out, rollout.err
    scaled = await k("scale", "deployment/nginx-deployment", "--replicas=1")
    assert scaled.code == 0 and "scaled" in scaled.out, scaled.err
    client = gateway_cluster.cluster.client

    async def one_pod() -> bool:
        pods = await client.list("Pod", "default", label_selector="app=nginx")
        return len([p for p in pods.items if not p.metadata.HasField("deletion_timestamp")]) == 1

    await eventually(one_pod, timeout=30)
    images = await k("get", "deploy", "nginx-deployment", "-o",
                     "jsonpath={.spec.template.spec.containers[0].image}")  # fmt: skip
    assert images.out == "nginx:1.16.1"
    deleted = await k("delete", "deployment", "nginx-deployment")
    assert deleted.code == 0 and 'deployment.apps "nginx-deployment" deleted' in deleted.out
    gone = await k("get", "deployment", "nginx-deployment")
    assert gone.code != 0
    assert 'Error from server (NotFound): deployments.apps "nginx-deployment" not found' in gone.err


async def test_create_deployment(gateway_cluster: GatewayCluster) -> None:
    """kubectl's typed generators post Kubernetes protobuf, which the gateway decodes."""
    k = gateway_cluster.kubectl
    created = await k("create", "deployment", "web", "--image=shoal.local/busybox:latest",
                      "--replicas=2", "--", "sleep", "3600")  # fmt: skip
    assert created.code == 0 and "deployment.apps/web created" in created.out, created.err
    deployment = await gateway_cluster.cluster.client.get("Deployment", "web", "default")
    assert deployment.spec.replicas == 2
    assert dict(deployment.spec.selector.match_labels) == {"app": "web"}
    container = deployment.spec.template.spec.containers[0]
    assert (container.name, container.image) == ("busybox", "shoal.local/busybox:latest")
    assert list(container.command) == ["sleep", "3600"]
    rollout = await k("rollout", "status", "deployment/web", "--timeout=60s")
    assert rollout.code == 0, rollout.err
    listed = await k("get", "deployments")
    assert re.search(r"web\s+2/2\s+2\s+2", listed.out), listed.out


async def test_create_generators(gateway_server: GatewayServer) -> None:
    k, client = gateway_server.kubectl, gateway_server.client
    made = await k("create", "namespace", "team")
    assert made.code == 0 and "namespace/team created" in made.out, made.err
    assert (await client.get("Namespace", "team")).metadata.name == "team"
    made = await k("create", "configmap", "cfg", "-n", "team", "--from-literal=a=1",
                   "--from-literal=b=two")  # fmt: skip
    assert made.code == 0 and "configmap/cfg created" in made.out, made.err
    assert dict((await client.get("ConfigMap", "cfg", "team")).data) == {"a": "1", "b": "two"}
    made = await k("create", "secret", "generic", "pw", "--from-literal=password=s3cret")
    assert made.code == 0 and "secret/pw created" in made.out, made.err
    secret = await client.get("Secret", "pw", "default")
    assert dict(secret.data) == {"password": b"s3cret"} and secret.type == "Opaque"
    made = await k("create", "service", "nodeport", "web", "--tcp=80:8080", "--node-port=30080")
    assert made.code == 0 and "service/web created" in made.out, made.err
    service = await client.get("Service", "web", "default")
    assert service.spec.type == "NodePort" and dict(service.spec.selector) == {"app": "web"}
    port = service.spec.ports[0]
    assert (port.port, port.node_port, port.protocol) == (80, 30080, "TCP")
    assert port.target_port.number_value == 8080, port
    again = await k("create", "namespace", "team")
    assert "Error from server (AlreadyExists)" in again.err, again.err


async def test_logs_and_exec(gateway_cluster: GatewayCluster) -> None:
    k = gateway_cluster.kubectl
    run = await k("run", "echo", "--image=busybox", "--", "sh", "-c", "echo hello; echo world")
    assert run.code == 0, run.err
    client = gateway_cluster.cluster.client

    async def running() -> bool:
        pod = await client.get("Pod", "echo", "default")
        return pod.status.phase in ("Running", "Succeeded")

    await eventually(running, timeout=30)
    logs = await eventually(lambda: _nonempty(k("logs", "echo")), timeout=15)
    assert logs.out == "hello\nworld\n"
    tail = await k("logs", "echo", "--tail=1")
    assert tail.out == "world\n"
    missing = await k("logs", "nope")
    assert 'pods "nope" not found' in missing.err


async def _nonempty(run: object) -> object:
    result = await run  # type: ignore[misc]
    return result if result.out else None


async def test_exec(gateway_cluster: GatewayCluster) -> None:
    k = gateway_cluster.kubectl
    await k("run", "box", "--image=busybox", "--", "sleep", "3600")
    client = gateway_cluster.cluster.client

    async def running() -> bool:
        return (await client.get("Pod", "box", "default")).status.phase == "Running"

    await eventually(running, timeout=30)
    said = await k("exec", "box", "--", "echo", "hi", "there")
    assert said.code == 0 and said.out == "hi there\n", said.err
    failed = await k("exec", "box", "--", "sh", "-c", "exit 3")
    assert failed.code == 3 and "command terminated with exit code 3" in failed.err


async def test_get_watch(gateway_cluster: GatewayCluster) -> None:
    env_home = gateway_cluster.home
    proc = await asyncio.create_subprocess_exec(
        str(KUBECTL), "--server", gateway_cluster.url, "get", "pods", "-w",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        env={"HOME": str(env_home), "KUBECONFIG": str(env_home / "none"), "PATH": "/usr/bin:/bin"},
    )  # fmt: skip
    assert proc.stdout is not None
    try:
        run = await gateway_cluster.kubectl("run", "watched", "--image=busybox")
        assert run.code == 0, run.err
        seen = []
        while not any("watched" in line and "Running" in line for line in seen):
            seen.append((await asyncio.wait_for(proc.stdout.readline(), 30)).decode())
        assert any(re.match(r"NAME\s+READY\s+STATUS", line) for line in seen)
    finally:
        proc.kill()
        await proc.wait()


async def test_errors_read_as_kubernetes(gateway_cluster: GatewayCluster) -> None:
    k = gateway_cluster.kubectl
    unknown = await k("get", "widgets")
    assert unknown.code != 0 and 'the server doesn\'t have a resource type "widgets"' in unknown.err
    typo = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "x"},
        "spec": {"containerz": []},
    }
    bad = await k("apply", "-f", "-", input=json.dumps(typo))
    assert bad.code != 0 and "containerz" in bad.err, bad.err
    pod = (MANIFESTS / "pod-web.yaml").read_text()
    priority_class = (MANIFESTS / "00-priorityclass.yaml").read_text()
    assert (await k("create", "-f", "-", input=priority_class)).code == 0
    missing = await k("create", "-f", "-", input=pod)  # its service account is not there yet
    assert "Error from server (Forbidden)" in missing.err, missing.err
    assert 'error looking up service account default/web: serviceaccount "web" not found' in (
        missing.err
    )
    account = (MANIFESTS / "account-web.yaml").read_text()
    assert (await k("create", "-f", "-", input=account)).code == 0
    assert (await k("create", "-f", "-", input=pod)).code == 0
    again = await k("create", "-f", "-", input=pod)
    assert "Error from server (AlreadyExists)" in again.err and "already exists" in again.err


async def test_kubeconfig_from_shoal_config(gateway_cluster: GatewayCluster) -> None:
    home = gateway_cluster.home
    shoal_config = home / "shoal.conf"
    target = gateway_cluster.cluster.client.target
    config.write(shoal_config, config.set_context(config.empty_config(), "dev", target))
    args = ["--config", str(shoal_config), "config", "view", "--kubeconfig"]
    made = await asyncio.to_thread(invoke, [*args, "--http-server", gateway_cluster.url])
    assert made.code == 0, made.err
    (home / "kubeconfig").write_text(made.out)
    proc = await asyncio.create_subprocess_exec(
        str(KUBECTL), "--kubeconfig", str(home / "kubeconfig"), "get", "nodes",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 0, err.decode()
    assert re.search(r"hollow-0001\s+Ready", out.decode())


async def test_auth_can_i(gateway_cluster: GatewayCluster) -> None:
    """kubectl posts SelfSubjectAccessReview / SelfSubjectRulesReview in
    Kubernetes protobuf."""
    k = gateway_cluster.kubectl
    can = await k("auth", "can-i", "create", "deployments")
    assert (can.code, can.out) == (0, "yes\n"), can.err
    listed = await k("auth", "can-i", "--list")
    assert listed.code == 0, listed.err
    assert re.match(r"Resources\s+Non-Resource URLs\s+Resource Names\s+Verbs\n", listed.out)
    resources = await k("api-resources", "--api-group=authorization.k8s.io")
    assert "selfsubjectaccessreviews" in resources.out, resources.err


async def test_get_componentstatuses(gateway_cluster: GatewayCluster) -> None:
    """kubectl get cs: the same health checks as shoal get cs, as a Table."""
    k = gateway_cluster.kubectl
    listed = await k("get", "cs")
    assert listed.code == 0, listed.err
    assert re.match(r"NAME\s+STATUS\s+MESSAGE\s+ERROR\n", listed.out)
    assert re.search(r"^store\s+Healthy\s+ok", listed.out, re.M)
    one = yaml.safe_load((await k("get", "componentstatus", "store", "-o", "yaml")).out)
    assert one["conditions"][0] == {"type": "Healthy", "status": "True", "message": "ok"}
    missing = await k("get", "cs", "nope")
    assert 'componentstatuses "nope" not found' in missing.err


async def test_get_flags_events_and_debug(gateway_cluster: GatewayCluster) -> None:
    """The next things kubectl users type after `get pods`."""
    k = gateway_cluster.kubectl
    for name, tier in (("b-pod", "back"), ("a-pod", "front")):
        made = await k("run", name, "--image=busybox", f"--labels=app=demo,tier={tier}")
        assert made.code == 0, made.err
    labels = await k("get", "pods", "--show-labels")
    assert re.search(r"a-pod\s.*app=demo,tier=front", labels.out), labels.out
    column = await k("get", "pods", "-L", "tier")
    assert re.search(r"TIER\n", column.out) and re.search(r"b-pod\s.*back", column.out)
    by_name = await k("get", "pods", "--sort-by=.metadata.name", "-o", "name")
    assert by_name.out.splitlines()[:2] == ["pod/a-pod", "pod/b-pod"], by_name.err
    chunks = await k("get", "pods", "--chunk-size=1", "-o", "name")
    assert sorted(chunks.out.split()) == ["pod/a-pod", "pod/b-pod"], chunks.err
    events = await k("events")
    assert events.code == 0 and "LAST SEEN" in events.out, events.err
    debug = await k("debug", "a-pod", "--image=busybox", "--profile=general")
    assert debug.code != 0
    assert "ephemeral containers are disabled for this cluster" in debug.err, debug.err


async def test_get_watch_only(gateway_cluster: GatewayCluster) -> None:
    """Only changes after kubectl listed are printed: the pod is created
    once kubectl says (-v=6 logs each request) that its watch is open, or a
    pod that was created, scheduled and running before kubectl's list would
    never show."""
    env_home = gateway_cluster.home
    proc = await asyncio.create_subprocess_exec(
        str(KUBECTL), "--server", gateway_cluster.url, "get", "pods", "--watch-only", "-v=6",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        env={"HOME": str(env_home), "KUBECONFIG": str(env_home / "none"), "PATH": "/usr/bin:/bin"},
    )  # fmt: skip
    assert proc.stdout is not None and proc.stderr is not None
    try:
        await _answered(proc.stderr, "watch=true", timeout=60)
        run = await gateway_cluster.kubectl("run", "later", "--image=busybox")
        assert run.code == 0, run.err
        line = (await asyncio.wait_for(proc.stdout.readline(), 30)).decode()
        while "later" not in line:
            line = (await asyncio.wait_for(proc.stdout.readline(), 30)).decode()
    finally:
        proc.kill()
        await proc.wait()


async def _answered(stderr: asyncio.StreamReader, fragment: str, timeout: float) -> None:
    """Read kubectl's -v=6 log until it says a GET whose URL has ``fragment``
    was answered 200 (``round_trippers.go] GET URL 200 OK in N milliseconds``)."""
    async with asyncio.timeout(timeout):
        while True:
            line = (await stderr.readline()).decode()
            assert line, "kubectl ended before its request was answered"
            if "] GET " in line and fragment in line and " 200 OK " in line:
                return
