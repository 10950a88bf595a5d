"""What an in-cluster program needs, on Docker and Podman: a real
``shoal server`` (with its REST gateway and control plane) and a real agent
with its node identity and the iptables proxy. Inside a busybox pod the
service-account files are there with the right content, read-only, the
``KUBERNETES_SERVICE_*`` variables point at the ``kubernetes`` Service's
ClusterIP, and client-go's in-cluster config works: the host's kubectl (a
static Go binary, mounted into the pod with hostPath) lists pods with no
kubeconfig, verifying the gateway with the mounted ca.crt at the ClusterIP.
On the host, the official Python client's in-cluster loader, given the
files the pod got, does the same at the address the Service forwards to.

busybox's own ``wget`` cannot be the client: its TLS sends no
signature_algorithms, so it can only take SHA-1 handshake signatures,
which OpenSSL 3 (the gateway's TLS) refuses ("no shared cipher").

Traffic goes only to the test's own containers and to loopback: the
ClusterIP is reached from inside the pod (the proxy's NAT rule sends it to
the gateway on 127.0.0.1)."""

from __future__ import annotations

import asyncio
import base64
import json
import random
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from shoal import config
from shoal.agent.agent import Agent, AgentOptions, with_node_identity
from shoal.api.v1 import streams_pb2_grpc
from shoal.client import Client
from shoal.manifest import from_dict
from shoal.plugins.proxy.rules import unavailable_reason

from tests.e2e.agents import E2E_TIMING, busybox_pod, exec_in, watch_pod
from tests.e2e.engines import remove_node_objects
from tests.e2e.test_agent_engines import SLEEP, running
from tests.integration.helpers import eventually
from tests.requirements import require, require_binary, require_module
from tests.security.server_process import ServerProcess

pytestmark = pytest.mark.e2e

SA_DIR = "/var/run/secrets/kubernetes.io/serviceaccount"
# client-go's rest.InClusterConfig: no kubeconfig, the env and the files.
KUBECTL = "/opt/kubectl/kubectl get --raw /api/v1/namespaces/default/pods"


@dataclass
class Cluster:
    server: ServerProcess
    admin: Client
    agent: Agent
    cluster_ip: str
    data_dir: Path


@pytest_asyncio.fixture
async def cluster(engine: str, node_name: str, tmp_path: Path) -> AsyncIterator[Cluster]:
    require("iptables", unavailable_reason())  # ClusterIPs reachable from containers
    # A range of its own, so rules of another cluster on this machine (another
    # test's) never catch this one's 10.x.y.1.
    service_range = f"10.{random.randint(200, 250)}.{random.randint(0, 255)}.0/24"
    data_dir = tmp_path / "server"
    data_dir.mkdir()
    server = ServerProcess(
        data_dir, "--http-listen", "127.0.0.1:0", "--service-cluster-ip-range", service_range
    )
    agent: Agent | None = None
    admin: Client | None = None
    try:
        await server.http_url()
        admin = Client.from_config(str(server.admin_conf))
        credentials = config.load(str(server.admin_conf))
        options = AgentOptions(
            server=await server.address(),
            name=node_name,
            runtime=engine,
            data_dir=tmp_path / "agent",
            node_ip="127.0.0.1",
            stream_listen="127.0.0.1:0",
            credentials=credentials,
            proxy_mode="iptables",
            timing=E2E_TIMING,
        )
        agent = Agent(await with_node_identity(options))
        await agent.start()
        ip = service_range.replace(".0/24", ".1")
        yield Cluster(server, admin, agent, ip, data_dir)
    finally:
        if agent is not None:
            await agent.stop()
        if admin is not None:
            await admin.close()
        server.stop()
        await asyncio.to_thread(remove_node_objects, engine, node_name)


async def _exec(cluster: Cluster, pod: str, script: str) -> tuple[int, str]:
    stub = streams_pb2_grpc.StreamsStub(cluster.admin.channel)
    code, out, err = await exec_in(stub, pod, "main", ["sh", "-c", script])
    return code, (out + err).decode(errors="replace")


def _env(text: str) -> dict[str, str]:
    return dict(line.split("=", 1) for line in text.splitlines() if "=" in line)


def _claims(token: str) -> dict[str, Any]:
    body = token.split(".")[1]
    return dict(json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))))


async def _let_default_view(admin: Client) -> None:
    binding = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "RoleBinding",
        "metadata": {"name": "default-view", "namespace": "default"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "view"},
        "subjects": [{"kind": "ServiceAccount", "name": "default", "namespace": "default"}],
    }
    await admin.create(from_dict(binding))


async def test_a_pod_reaches_the_api_with_its_service_account(cluster: Cluster) -> None:
    admin = cluster.admin
    endpoints = await eventually(lambda: _endpoints(admin), timeout=30)
    await _let_default_view(admin)
    await admin.create(_pod_with_kubectl(cluster.agent.options.name))
    pod, _ = await watch_pod(admin, "incluster", running, timeout=60)
    assert pod.spec.service_account_name == "default"

    code, env = await _exec(cluster, "incluster", "env")
    variables = _env(env)
    assert variables["KUBERNETES_SERVICE_HOST"] == cluster.cluster_ip
    assert variables["KUBERNETES_SERVICE_PORT"] == "443"
    assert variables["KUBERNETES_SERVICE_PORT_HTTPS"] == "443"
    assert variables["KUBERNETES_PORT"] == f"tcp://{cluster.cluster_ip}:443"

    files = {}
    for name in ("token", "ca.crt", "namespace"):
        code, files[name] = await _exec(cluster, "incluster", f"cat {SA_DIR}/{name}")
        assert code == 0, files[name]
    assert files["namespace"] == "default"
    ca_pem = (cluster.data_dir / "pki" / "ca.crt").read_text()
    assert files["ca.crt"] == ca_pem
    claims = _claims(files["token"])
    assert claims["sub"] == "system:serviceaccount:default:default"
    assert claims["kubernetes.io"]["pod"] == {"name": "incluster", "uid": pod.metadata.uid}
    code, out = await _exec(cluster, "incluster", f"touch {SA_DIR}/x")
    assert code != 0 and "Read-only file system" in out

    tries: list[str] = []

    async def listed() -> str | None:  # the proxy's rules follow the Service
        code, out = await _exec(cluster, "incluster", KUBECTL)
        tries.append(out)
        return out if code == 0 else None

    try:
        answer = json.loads(await eventually(listed, timeout=30, interval=0.5))
    except AssertionError:
        raise AssertionError(f"kubectl in the pod failed: {tries[-1:]}") from None
    assert answer["kind"] == "PodList"
    assert "incluster" in [p["metadata"]["name"] for p in answer["items"]]

    await _client_in_cluster_config(files, endpoints, cluster.data_dir)


def _pod_with_kubectl(node: str) -> Any:
    pod = busybox_pod("incluster", node, {"main": SLEEP})
    volume = pod.spec.volumes.add(name="kubectl")
    volume.host_path.path, volume.host_path.type = require_binary("kubectl"), "File"
    pod.spec.containers[0].volume_mounts.add(
        name="kubectl", mount_path="/opt/kubectl/kubectl", read_only=True
    )
    return pod


async def _endpoints(admin: Client) -> tuple[str, int] | None:
    try:
        svc = await admin.get("Service", "kubernetes", "default")
        ep = await admin.get("Endpoints", "kubernetes", "default")
    except Exception:
        return None
    assert svc.spec.ports[0].port == 443 and svc.spec.ports[0].name == "https"
    if not ep.subsets:
        return None
    return ep.subsets[0].addresses[0].ip, ep.subsets[0].ports[0].port


async def _client_in_cluster_config(
    files: dict[str, str], endpoint: tuple[str, int], tmp: Path
) -> None:
    """The official client's loader, with the pod's files and the address
    the Service forwards to (loopback here), verifying TLS with ca.crt."""
    require_module("kubernetes")
    from kubernetes import client as k8s
    from kubernetes.config.incluster_config import InClusterConfigLoader

    token, ca = tmp / "token", tmp / "ca.crt"
    token.write_text(files["token"])
    ca.write_text(files["ca.crt"])
    environ = {"KUBERNETES_SERVICE_HOST": endpoint[0], "KUBERNETES_SERVICE_PORT": str(endpoint[1])}
    configuration = k8s.Configuration()
    InClusterConfigLoader(str(token), str(ca), environ=environ).load_and_set(configuration)
    assert configuration.verify_ssl and configuration.ssl_ca_cert == str(ca)

    def list_pods() -> list[str]:
        with k8s.ApiClient(configuration) as api:
            pods = k8s.CoreV1Api(api).list_namespaced_pod("default", _request_timeout=10)
            return [p.metadata.name for p in pods.items]

    assert "incluster" in await asyncio.to_thread(list_pods)
