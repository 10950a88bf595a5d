"""Shared by the authorization tests: bindings, pods, waiting for a grant to
reach the server's policy cache, and the refusal a test expects."""

from __future__ import annotations

from typing import Any

import grpc
import pytest
from shoal import errors
from shoal.api.v1 import authorization_pb2 as pb
from shoal.api.v1 import authorization_pb2_grpc
from shoal.client import Client
from shoal.manifest import from_dict

from tests.integration.helpers import eventually

RBAC = "rbac.authorization.k8s.io"


def binding(
    name: str,
    role: str,
    *,
    user: str = "",
    group: str = "",
    namespace: str = "",
    role_kind: str = "ClusterRole",
) -> Any:
    subject = {"kind": "User", "name": user} if user else {"kind": "Group", "name": group}
    subject["apiGroup"] = RBAC
    metadata: dict[str, Any] = {"name": name}
    if namespace:
        metadata["namespace"] = namespace
    return from_dict(
        {
            "apiVersion": f"{RBAC}/v1",
            "kind": "RoleBinding" if namespace else "ClusterRoleBinding",
            "metadata": metadata,
            "roleRef": {"apiGroup": RBAC, "kind": role_kind, "name": role},
            "subjects": [subject],
        }
    )


def role(name: str, namespace: str, rules: list[dict[str, Any]]) -> Any:
    return from_dict(
        {
            "apiVersion": f"{RBAC}/v1",
            "kind": "Role",
            "metadata": {"name": name, "namespace": namespace},
            "rules": rules,
        }
    )


async def review(
    client: Client, verb: str, resource: str, namespace: str = "", name: str = "", group: str = ""
) -> bool:
    stub = authorization_pb2_grpc.AuthorizationStub(client.channel)
    attrs = pb.ResourceAttributes(
        verb=verb, group=group, resource=resource, namespace=namespace, name=name
    )
    answer = await stub.Review(pb.AccessReviewRequest(resource_attributes=attrs))
    return bool(answer.allowed)


async def until_allowed(
    client: Client, verb: str, resource: str, namespace: str = "", group: str = ""
) -> None:
    """Bindings reach the server's policy cache through a watch: wait for it."""
    await eventually(lambda: review(client, verb, resource, namespace, group=group), timeout=10)


async def refused(call: Any) -> errors.ForbiddenError:
    with pytest.raises(errors.ForbiddenError) as err:
        await call
    assert err.value.code == grpc.StatusCode.PERMISSION_DENIED
    return err.value
