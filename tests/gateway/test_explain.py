"""Real ``kubectl explain`` through the gateway: the OpenAPI v3 documents
(kubectl's default) and v2 (``--output=plaintext-openapiv2``), with the
descriptions written as comments in proto/. Also ``apply`` and
``create --validate=strict`` of every test manifest, which fetch the same
documents."""

from __future__ import annotations

import re

import pytest

from tests.gateway.conftest import MANIFESTS, GatewayServer

pytestmark = pytest.mark.usefixtures("needs_kubectl")

POD_DESCRIPTION = (
    "Pod is a group of containers that share a network namespace and volumes, "
    "scheduled together onto one node."
)


def words(text: str) -> str:
    """kubectl wraps descriptions at 76 columns and indents them: compare words."""
    return " ".join(text.split())


async def test_explain_pods(gateway_server: GatewayServer) -> None:
    run = await gateway_server.kubectl("explain", "pods")
    assert run.code == 0, run.err
    assert re.search(r"^KIND:\s+Pod$", run.out, re.M), run.out
    assert re.search(r"^VERSION:\s+v1$", run.out, re.M), run.out
    assert "DESCRIPTION:" in run.out and POD_DESCRIPTION in words(run.out), run.out
    fields = run.out.partition("FIELDS:")[2]
    assert re.search(r"^  spec\t<PodSpec>$", fields, re.M), run.out
    assert re.search(r"^  metadata\t<ObjectMeta>$", fields, re.M), run.out
    assert "APIVersion defines the versioned schema" in words(fields)


async def test_explain_a_field_shows_its_comment(gateway_server: GatewayServer) -> None:
    run = await gateway_server.kubectl("explain", "pods.spec.containers.image")
    assert run.code == 0, run.err
    assert re.search(r"^FIELD: image <string>$", run.out, re.M), run.out
    assert "The container image to run" in words(run.out), run.out
    ports = await gateway_server.kubectl("explain", "pods.spec.containers.ports")
    assert re.search(r"^  containerPort\t<integer> -required-$", ports.out, re.M), ports.out
    labels = await gateway_server.kubectl("explain", "pods.metadata.labels")
    assert re.search(r"^FIELD: labels <map\[string\]string>$", labels.out, re.M), labels.out
    missing = await gateway_server.kubectl("explain", "pods.spec.nosuchfield")
    assert missing.code != 0 and 'field "nosuchfield" does not exist' in missing.err


WORKLOAD_FIELDS = [
    "job", "job.spec", "job.status", "cronjob", "cronjob.spec", "cronjob.status",
    "daemonset", "daemonset.spec", "daemonset.status", "statefulset", "statefulset.spec",
    "statefulset.status", "pv", "pv.spec", "pv.status", "pvc", "pvc.spec", "pvc.status",
    "storageclass", "priorityclass", "pdb", "pdb.spec", "pdb.status",
]  # fmt: skip


@pytest.mark.parametrize("path", WORKLOAD_FIELDS)
async def test_explain_workload_kinds_describes_every_field(
    gateway_server: GatewayServer, path: str
) -> None:
    """A Kubernetes user reading ``kubectl explain job.status`` finds every
    field described, as Kubernetes' documents do."""
    run = await gateway_server.kubectl("explain", path)
    assert run.code == 0, run.err
    fields = run.out.partition("FIELDS:")[2]
    assert fields.strip(), run.out
    undocumented = re.findall(r"^  (\w+)\t.*\n    <no description>$", fields, re.M)
    assert undocumented == [], run.out


async def test_explain_recursive_with_int_or_string(gateway_server: GatewayServer) -> None:
    run = await gateway_server.kubectl("explain", "deployment.spec", "--recursive")
    assert run.code == 0, run.err
    assert re.search(r"^GROUP:\s+apps$", run.out, re.M), run.out
    assert re.search(r"^  strategy\t<DeploymentStrategy>$", run.out, re.M), run.out
    assert re.search(r"^      maxSurge\t<IntOrString>$", run.out, re.M), run.out
    assert re.search(r"^        resources\t<ResourceRequirements>$", run.out, re.M), run.out
    assert re.search(r"^          limits\t<map\[string\]Quantity>$", run.out, re.M), run.out
    strategy = await gateway_server.kubectl("explain", "deployment.spec.strategy", "--recursive")
    assert strategy.code == 0 and "rollingUpdate\t<RollingUpdateDeployment>" in strategy.out


async def test_explain_openapi_v2(gateway_server: GatewayServer) -> None:
    run = await gateway_server.kubectl("explain", "--output=plaintext-openapiv2", "pods")
    assert run.code == 0, run.err
    assert re.search(r"^KIND:\s+Pod$", run.out, re.M), run.out
    assert re.search(r"^VERSION:\s+v1$", run.out, re.M), run.out
    assert POD_DESCRIPTION in words(run.out), run.out
    assert re.search(r"^   spec\t<Object>$", run.out, re.M), run.out
    field = await gateway_server.kubectl(
        "explain", "--output=plaintext-openapiv2", "deployments.spec.strategy.rollingUpdate"
    )
    assert field.code == 0, field.err
    assert re.search(r"^   maxSurge\t<string>$", field.out, re.M), field.out


async def test_apply_and_strict_create_of_every_manifest(gateway_server: GatewayServer) -> None:
    """kubectl fetches the OpenAPI documents to validate and patch: a valid
    manifest must never be refused because of them."""
    k = gateway_server.kubectl
    for namespace in ("cache", "kube-system"):  # where some manifests live
        assert (await k("create", "namespace", namespace)).code == 0
    manifests = sorted(MANIFESTS.glob("*.yaml"))
    created = await k(
        "create",
        "--validate=strict",
        "--save-config",
        *(a for m in manifests for a in ("-f", str(m))),
    )
    assert created.code == 0, created.err
    for manifest in manifests:
        applied = await k("apply", "--validate=strict", "-f", str(manifest))
        assert applied.code == 0, f"{manifest.name}: {applied.err}"
        assert "Warning" not in applied.err, applied.err


BAD_LIST = """
apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: Pod
  metadata: {name: two}
  spec:
    containers:
    - image: busybox
      ports: [{containerPort: http}]
"""


async def test_a_list_is_validated_against_the_schemas(gateway_server: GatewayServer) -> None:
    """kubectl checks the items of a ``kind: List`` itself, against the v2
    schemas, and says what is wrong in Kubernetes' words."""
    run = await gateway_server.kubectl("create", "--validate=strict", "-f", "-", input=BAD_LIST)
    assert run.code == 1
    assert (
        "invalid type for io.k8s.api.core.v1.ContainerPort.containerPort: "
        'got "string", expected "integer"'
    ) in run.err, run.err
    assert 'missing required field "name" in io.k8s.api.core.v1.Container' in run.err
