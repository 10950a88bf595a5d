"""The in-process channel of a secure server authenticates and authorizes
each call as the network does: the control plane calls it as
system:shoal-controlplane, no credentials are refused, a user is held to
its RBAC."""

from __future__ import annotations

import pytest
from shoal import errors, pki
from shoal.api.v1 import core_pb2
from shoal.apiserver.server import _controlplane_client
from shoal.client import Client
from shoal.client.channel import auth_metadata
from shoal.manifest import from_dict

from tests.integration.helpers import eventually
from tests.security.conftest import SecureServer


def config_map(name: str) -> core_pb2.ConfigMap:
    cm = core_pb2.ConfigMap()
    cm.metadata.name, cm.metadata.namespace = name, "default"
    return cm


def in_process_user(s: SecureServer, name: str) -> Client:
    """A client of ``name`` (a certificate from the cluster CA) in process."""
    key = pki.new_key()
    cert = s.security.pki.ca.issue(
        name, (), usage=pki.Usage(client=True), public_key=key.public_key()
    )
    cfg = s.config(cert_data=pki.cert_pem(cert), key_data=pki.key_pem(key))
    return Client("in-process", channel=s.server.in_process_channel(), metadata=auth_metadata(cfg))


async def test_the_control_plane_calls_in_process_as_itself(secure_server: SecureServer) -> None:
    s = secure_server
    client = _controlplane_client(s.address, s.security, s.server.in_process_channel())
    try:
        made = await client.create(config_map("from-the-control-plane"))
        assert made.metadata.uid
        assert (await s.admin.get("ConfigMap", made.metadata.name)) == made
    finally:
        await client.close()


async def test_a_call_in_process_without_credentials_is_unauthenticated(
    secure_server: SecureServer,
) -> None:
    client = Client("in-process", channel=secure_server.server.in_process_channel())
    with pytest.raises(errors.UnauthorizedError):
        await client.list("ConfigMap")


async def test_a_user_in_process_is_held_to_its_rbac(secure_server: SecureServer) -> None:
    s = secure_server
    client = in_process_user(s, "mallory")
    with pytest.raises(errors.ForbiddenError):
        await client.create(config_map("not-allowed"))
    with pytest.raises(errors.NotFoundError):
        await s.admin.get("ConfigMap", "not-allowed")


async def test_each_call_in_process_is_authorized_when_it_is_made(
    secure_server: SecureServer,
) -> None:
    """The interceptors' wrapped handlers are kept per method; the decision
    is not: a grant reaches the next call of the same client."""
    s = secure_server
    client = in_process_user(s, "trudy")
    with pytest.raises(errors.ForbiddenError):
        await client.create(config_map("first-try"))
    await s.admin.create(
        from_dict(
            {
                "apiVersion": "rbac.authorization.k8s.io/v1",
                "kind": "Role",
                "metadata": {"name": "cm-maker", "namespace": "default"},
                "rules": [{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["create"]}],
            }
        )
    )
    await s.admin.create(
        from_dict(
            {
                "apiVersion": "rbac.authorization.k8s.io/v1",
                "kind": "RoleBinding",
                "metadata": {"name": "trudy-makes", "namespace": "default"},
                "roleRef": {
                    "apiGroup": "rbac.authorization.k8s.io",
                    "kind": "Role",
                    "name": "cm-maker",
                },
                "subjects": [{"kind": "User", "name": "trudy"}],
            }
        )
    )

    async def allowed() -> bool:
        try:
            await client.create(config_map("after-the-grant"))
        except errors.ForbiddenError:
            return False
        return True

    await eventually(allowed)
