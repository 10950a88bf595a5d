"""Service-account tokens for pods, as the kubelet's token manager: asked
of the API server (``shoal.v1.Tokens/CreateToken``, bound to the pod, which
the server allows a node for pods bound to it), kept per pod, and asked
again once 80% of their lifetime has passed, so the file a program reads
is always good.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import grpc
from shoal.agent.env import ContainerConfigError
from shoal.api.v1 import certificates_pb2, certificates_pb2_grpc

REFRESH_FRACTION = 0.8  # the kubelet refreshes past 80% of the lifetime
MIN_SECONDS = 600  # the API server's shortest token

# (namespace, service account, seconds, pod name, pod uid) -> (token, expiry)
Request = Callable[[str, str, int, str, str], Awaitable[tuple[str, float]]]


@dataclass
class Issued:
    token: str
    issued: float
    expires: float

    @property
    def refresh_at(self) -> float:
        return self.issued + (self.expires - self.issued) * REFRESH_FRACTION


def grpc_request(client: Any) -> Request:
    """Ask through the client's (authenticated) channel."""
    stub = certificates_pb2_grpc.TokensStub(client.channel)

    async def request(ns: str, sa: str, seconds: int, pod: str, uid: str) -> tuple[str, float]:
        ref = certificates_pb2.BoundObjectReference(kind="Pod", name=pod, uid=uid)
        try:
            reply = await stub.CreateToken(
                certificates_pb2.CreateTokenRequest(
                    namespace=ns, name=sa, expiration_seconds=seconds, bound_object_ref=ref
                )
            )
        except grpc.aio.AioRpcError as err:  # say what it is, in one line
            details = err.details()
            raise TokenUnavailable(
                f'cannot get a token for service account "{sa}": {details}'
            ) from None
        return reply.token, float(reply.expiration_timestamp)

    return request


class TokenUnavailable(ContainerConfigError):
    """The API server would not give the pod its token (yet): the container
    waits (``CreateContainerConfigError``) and the agent tries again."""


class TokenManager:
    def __init__(self, request: Request, clock: Callable[[], float] = time.time) -> None:
        self.request, self.clock = request, clock
        self._tokens: dict[tuple[str, str, int], Issued] = {}  # (pod uid, sa, seconds)

    async def token(self, pod: Any, seconds: int) -> str:
        """The pod's service-account token, lasting ``seconds`` (at least 10 min)."""
        m = pod.metadata
        sa = pod.spec.service_account_name or "default"
        seconds = max(int(seconds or 3600), MIN_SECONDS)
        key = (m.uid, sa, seconds)
        have = self._tokens.get(key)
        now = self.clock()
        if have is not None and now < have.refresh_at:
            return have.token
        token, expires = await self.request(m.namespace, sa, seconds, m.name, m.uid)
        self._tokens[key] = Issued(token, now, expires or now + seconds)
        return token

    def due(self, uid: str) -> bool:
        """Whether a token of this pod is past its refresh time."""
        now = self.clock()
        return any(k[0] == uid and now >= v.refresh_at for k, v in self._tokens.items())

    def forget(self, uid: str) -> None:
        for key in [k for k in self._tokens if k[0] == uid]:
            del self._tokens[key]
