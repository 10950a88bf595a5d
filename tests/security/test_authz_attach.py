"""Attach is authorized as Kubernetes does it: ``create`` on ``pods/attach``
(the right to exec is not enough), refused alike over gRPC and REST."""

from __future__ import annotations

import grpc
import pytest
from shoal.api.v1 import streams_pb2 as s
from shoal.api.v1 import streams_pb2_grpc
from shoal.client import Client

from tests.integration.helpers import eventually
from tests.security.authz_helpers import binding, role
from tests.security.conftest import SecureGateway, SecureServer

START = s.ExecInput(
    start=s.ExecStart(ref=s.ContainerRef(namespace="default", pod="web"), stdin=True)
)
FORBIDDEN = (
    'pods "web" is forbidden: User "bob" cannot create resource "pods/attach" '
    'in API group "" in the namespace "default"'
)


async def _attach(client: Client, method: str = "Attach") -> grpc.aio.AioRpcError:
    stub = streams_pb2_grpc.StreamsStub(client.channel)
    first = START
    if method == "Exec":
        first = s.ExecInput()
        first.CopyFrom(START)
        first.start.command.append("true")
    with pytest.raises(grpc.aio.AioRpcError) as err:
        [out async for out in getattr(stub, method)(iter([first]))]
    return err.value


async def _grant(server: SecureServer, name: str, resources: list[str]) -> None:
    rules = [{"apiGroups": [""], "resources": resources, "verbs": ["create", "get"]}]
    await server.admin.create(role(name, "default", rules))
    await server.admin.create(
        binding(name, name, user="bob", namespace="default", role_kind="Role")
    )


async def test_attach_needs_create_on_pods_attach(
    secure_server: SecureServer, secure_gateway: SecureGateway
) -> None:
    await _grant(secure_server, "exec-only", ["pods", "pods/exec"])
    bob = secure_server.user_client("bob")
    try:

        async def may_exec() -> bool:  # past authorization: there is no pod "web"
            return (await _attach(bob, "Exec")).code() == grpc.StatusCode.NOT_FOUND

        await eventually(may_exec, timeout=10)  # the grant reached the policy cache
        err = await _attach(bob)
        assert err.code() == grpc.StatusCode.PERMISSION_DENIED
        assert err.details() == FORBIDDEN
        rest = await secure_gateway.call(
            "POST", "/api/v1/namespaces/default/pods/web/attach?stdin=true", user="bob", groups=()
        )
        assert rest.code == 403 and rest.body["message"] == FORBIDDEN, rest.body

        await _grant(secure_server, "attach", ["pods/attach"])

        async def allowed() -> grpc.aio.AioRpcError | None:
            err = await _attach(bob)
            return err if err.code() != grpc.StatusCode.PERMISSION_DENIED else None

        # past authorization now: there is no pod "web"
        assert (await eventually(allowed, timeout=10)).code() == grpc.StatusCode.NOT_FOUND
    finally:
        await bob.close()


async def test_attach_without_an_upgrade_is_a_bad_request(secure_gateway: SecureGateway) -> None:
    answer = await secure_gateway.call("POST", "/api/v1/namespaces/default/pods/web/attach")
    assert answer.code == 400 and answer.body["reason"] == "BadRequest", answer.body
    assert answer.body["message"].startswith("attach needs a WebSocket upgrade")
