"""Service accounts for pods, as Kubernetes' ServiceAccount admission and
TokenRequest: the default account, the refusal of a missing one, the
automounted kube-api-access volume, and tokens a node may get only for the
pods bound to it, which stop working once their pod is gone."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import grpc
import pytest
from shoal import errors
from shoal.agent.agent import Agent, AgentOptions, with_node_identity
from shoal.api.v1 import certificates_pb2 as c
from shoal.api.v1 import certificates_pb2_grpc
from shoal.apiserver.serviceaccounts import MOUNT_PATH
from shoal.client import Client

from tests.agent.conftest import FAST
from tests.integration.helpers import eventually, obj, pod
from tests.security.conftest import SecureServer

NODE = "node-a"


def _account(name: str, namespace: str = "default", **fields: Any) -> Any:
    manifest = {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": name}}
    manifest["metadata"]["namespace"] = namespace
    return obj({**manifest, **fields})


def _token_volume(p: Any) -> Any:
    return next((v for v in p.spec.volumes if v.name.startswith("kube-api-access-")), None)


async def test_pods_run_as_default_and_a_missing_account_is_forbidden(
    secure_server: SecureServer,
) -> None:
    admin = secure_server.admin
    created = await admin.create(pod("plain"))
    assert created.spec.service_account_name == "default"
    assert created.spec.service_account == "default"  # the deprecated alias follows
    with pytest.raises(errors.ForbiddenError) as refused:
        await admin.create(pod("lost", serviceAccountName="ghost"))
    assert str(refused.value) == (
        'pods "lost" is forbidden: error looking up service account default/ghost: '
        'serviceaccount "ghost" not found'
    )
    with pytest.raises(errors.NotFoundError):
        await admin.get("Pod", "lost")
    await admin.create(_account("ghost"))
    assert (await admin.create(pod("found", serviceAccountName="ghost"))).spec.service_account_name


async def test_the_token_volume_is_mounted_read_only_unless_automount_is_off(
    secure_server: SecureServer,
) -> None:
    admin = secure_server.admin
    two = pod("two", containers=[{"name": "a", "image": "x:1"}, {"name": "b", "image": "x:1"}])
    made = await admin.create(two)
    volume = _token_volume(made)
    assert volume is not None
    sources = volume.projected.sources
    assert sources[0].service_account_token.path == "token"
    assert sources[0].service_account_token.expiration_seconds == 3607
    assert sources[1].config_map.name == "kube-root-ca.crt"
    assert sources[2].downward_api.items[0].field_ref.field_path == "metadata.namespace"
    for container in made.spec.containers:
        mounts = [(m.name, m.mount_path, m.read_only) for m in container.volume_mounts]
        assert mounts == [(volume.name, MOUNT_PATH, True)]

    off = await admin.create(pod("off", automountServiceAccountToken=False))
    assert _token_volume(off) is None and not off.spec.containers[0].volume_mounts
    await admin.create(_account("quiet", automountServiceAccountToken=False))
    quiet = await admin.create(pod("quiet", serviceAccountName="quiet"))
    assert _token_volume(quiet) is None
    # the pod's own choice wins over its account's
    loud = await admin.create(
        pod("loud", serviceAccountName="quiet", automountServiceAccountToken=True)
    )
    assert _token_volume(loud) is not None
    ca = await admin.get("ConfigMap", "kube-root-ca.crt", "default")
    assert ca.data["ca.crt"] == secure_server.security.pki.ca_pem.decode()


async def _create_token(client: Client, ns: str, sa: str, pod_name: str, uid: str) -> str:
    stub = certificates_pb2_grpc.TokensStub(client.channel)
    ref = c.BoundObjectReference(kind="Pod", name=pod_name, uid=uid)
    request = c.CreateTokenRequest(namespace=ns, name=sa, bound_object_ref=ref)
    return str((await stub.CreateToken(request)).token)


async def _node_client(server: SecureServer, node: str) -> Client:
    return server.user_client(f"system:node:{node}", ("system:nodes",))


async def test_a_node_gets_tokens_only_for_its_own_pods(secure_server: SecureServer) -> None:
    admin = secure_server.admin
    await admin.create(_account("builder"))
    mine = await admin.create(pod("mine", node=NODE, serviceAccountName="builder"))
    theirs = await admin.create(pod("theirs", node="node-b"))
    async with await _node_client(secure_server, NODE) as node:
        token = await _create_token(node, "default", "builder", "mine", mine.metadata.uid)
        for ask in (
            ("default", "default", "theirs", theirs.metadata.uid),  # bound to another node
            ("default", "default", "mine", mine.metadata.uid),  # not the pod's account
        ):
            with pytest.raises(grpc.aio.AioRpcError) as refused:
                await _create_token(node, *ask)
            assert refused.value.code() == grpc.StatusCode.PERMISSION_DENIED
            assert "no relationship found between node" in str(refused.value.details())
        with pytest.raises(grpc.aio.AioRpcError) as stale:  # an old pod of that name
            await _create_token(node, "default", "builder", "mine", "not-its-uid")
        assert stale.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    async with secure_server.client(token=token) as workload:
        with pytest.raises(errors.ForbiddenError, match="system:serviceaccount:default:builder"):
            await workload.list("Secret", "default")  # authenticated; RBAC gives it nothing
        await admin.delete("Pod", "mine", grace_period_seconds=0)

        async def refused() -> bool:
            try:
                await workload.list("ConfigMap", "default")
            except errors.UnauthorizedError:
                return True
            except errors.APIError:
                return False
            return False

        await eventually(refused)  # a bound token dies with its pod


async def test_the_agent_writes_the_service_account_files(
    secure_server: SecureServer, tmp_path: Path
) -> None:
    pair = secure_server.security.pki.ensure("admin")
    options = AgentOptions(
        server=secure_server.address,
        name=NODE,
        runtime="fake",
        data_dir=tmp_path / "agent",
        node_ip="127.0.0.1",
        stream_listen="127.0.0.1:0",
        credentials=secure_server.config(cert_data=pair.cert_pem, key_data=pair.key_pem),
        timing=FAST,
    )
    agent = Agent(await with_node_identity(options))
    await agent.start()
    try:
        made = await secure_server.admin.create(pod("app", node=NODE))
        volume = _token_volume(made)
        root = tmp_path / "agent" / "pods" / made.metadata.uid / "volumes" / volume.name
        await eventually(lambda: (root / "token").exists(), timeout=10)
        assert (root / "namespace").read_text() == "default"
        assert (root / "ca.crt").read_bytes() == secure_server.security.pki.ca_pem
        async with secure_server.client(token=(root / "token").read_text()) as workload:
            with pytest.raises(
                errors.ForbiddenError, match="system:serviceaccount:default:default"
            ):
                await workload.list("Secret", "default")  # known, and RBAC gives it nothing
    finally:
        await agent.stop()
