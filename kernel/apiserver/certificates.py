"""Node certificates and service-account tokens: the logic (``NodeSigner``,
``TokenIssuer``) and the thin gRPC adapters of certificates.proto.

Who may ask, decided here because these are not objects RBAC sees yet:
a join token (``system:bootstrappers``) or a node renewing itself may have a
node certificate signed; tokens are minted and revoked by ``system:masters``
(the ``create serviceaccounts/token`` permission of Kubernetes; RBAC can
widen ``may_manage_tokens``), and a node may ask for the token of a pod
bound to it, bound to that pod (what Kubernetes' node authorizer allows
the kubelet, for the projected service-account token).
"""

from __future__ import annotations

import datetime
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import grpc
from shoal import auth, errors, pki
from shoal.api.v1 import certificates_pb2, certificates_pb2_grpc
from shoal.apiserver import admintoken
from shoal.apiserver.jointokens import (
    DEFAULT_JOIN_TOKEN_SECONDS,
    IssuedNodes,
    JoinTokens,
    NodeExists,
    check_may_join,
)
from shoal.apiserver.security import ServerSecurity
from shoal.apiserver.tokens import (
    BOOTSTRAP_GROUP,
    DEFAULT_SA_TOKEN_SECONDS,
    MAX_SA_TOKEN_SECONDS,
    ServiceAccountTokens,
    TokenError,
)
from shoal.validation import validate_dns1123_label, validate_dns1123_subdomain

CERTIFICATES = "shoal.v1.Certificates"
TOKENS = "shoal.v1.Tokens"


def _caller() -> auth.UserInfo:
    return auth.current_user() or auth.ANONYMOUS


class NodeSigner:
    def __init__(
        self,
        ca: pki.CertificateAuthority,
        issued: IssuedNodes,
        node_exists: NodeExists | None = None,
    ) -> None:
        self.ca, self.issued, self.node_exists = ca, issued, node_exists

    async def join(self, user: auth.UserInfo, node_name: str, csr_pem: bytes) -> bytes:
        """``sign``, after checking a join token does not claim an existing node."""
        self._check_name(node_name)
        await check_may_join(user, node_name, self.issued, self.node_exists)
        return self.sign(user, node_name, csr_pem)

    def _check_name(self, node_name: str) -> None:
        if problems := validate_dns1123_subdomain(node_name):
            raise errors.InvalidError(f"node_name: Invalid value: {node_name!r}: {problems[0]}")

    def sign(self, user: auth.UserInfo, node_name: str, csr_pem: bytes) -> bytes:
        self._check_name(node_name)
        joining = BOOTSTRAP_GROUP in user.groups
        if not joining and user.node_name != node_name and auth.ADMIN_GROUP not in user.groups:
            raise errors.ForbiddenError(
                f'user "{user.name}" may not get a certificate for node "{node_name}"'
            )
        try:
            csr = pki.load_csr(csr_pem)
        except pki.PKIError as err:
            raise errors.InvalidError(f"csr_pem: Invalid value: {err}") from None
        cert = self.ca.issue(
            f"{auth.NODE_USER_PREFIX}{node_name}",
            (auth.NODES_GROUP,),
            usage=pki.Usage(server=True, client=True),
            sans=[node_name],
            public_key=csr.public_key(),  # type: ignore[arg-type]
        )
        self.issued.record(node_name, cert.not_valid_after_utc.timestamp())
        return pki.cert_pem(cert)


def may_manage_tokens(user: auth.UserInfo) -> bool:
    return auth.ADMIN_GROUP in user.groups


# (namespace, name) -> the pod, or None when there is none.
PodLookup = Callable[[str, str], Awaitable[Any | None]]


@dataclass(frozen=True)
class BoundPod:
    """What a token is bound to (Kubernetes' BoundObjectReference, kind Pod)."""

    name: str
    uid: str


class TokenIssuer:
    def __init__(
        self,
        tokens: ServiceAccountTokens,
        join_tokens: JoinTokens,
        pod_lookup: PodLookup | None = None,
    ) -> None:
        self.tokens, self.join_tokens, self.pod_lookup = tokens, join_tokens, pod_lookup

    async def create(
        self, namespace: str, name: str, seconds: int, bound: BoundPod | None = None
    ) -> tuple[str, str, int]:
        """(token, id, expiry) for service account ``namespace/name``."""
        user = _caller()
        if user.node_name and not may_manage_tokens(user):
            await self._check_node(user.node_name, namespace, name, bound)
        else:
            self._check_caller("create tokens for service accounts")
        if bound is not None:
            await self._check_bound(namespace, bound)
        for field, value in (("namespace", namespace), ("name", name)):
            check = validate_dns1123_label if field == "namespace" else validate_dns1123_subdomain
            if problems := check(value):
                raise errors.InvalidError(f"{field}: Invalid value: {value!r}: {problems[0]}")
        seconds = seconds or DEFAULT_SA_TOKEN_SECONDS
        if not 600 <= seconds <= MAX_SA_TOKEN_SECONDS:
            raise errors.InvalidError(
                f"expiration_seconds: Invalid value: {seconds}: must be between 600 (10m) "
                f"and {MAX_SA_TOKEN_SECONDS} (a year)"
            )
        pod = (bound.name, bound.uid) if bound is not None else None
        token = self.tokens.issue(namespace, name, seconds, bound_pod=pod)
        return token, str(self.tokens.claims(token)["jti"]), int(time.time()) + seconds

    async def _pod(self, namespace: str, name: str) -> Any | None:
        return await self.pod_lookup(namespace, name) if self.pod_lookup is not None else None

    async def _check_node(
        self, node: str, namespace: str, name: str, bound: BoundPod | None
    ) -> None:
        """A node asks only for the service account of a pod bound to it."""
        pod = await self._pod(namespace, bound.name) if bound is not None else None
        if (
            pod is None
            or pod.spec.node_name != node
            or (pod.spec.service_account_name or "default") != name
        ):
            raise errors.ForbiddenError(
                f'serviceaccounts "{name}" is forbidden: User "{auth.NODE_USER_PREFIX}{node}" '
                f'cannot create resource "serviceaccounts/token" in API group "" in the '
                f'namespace "{namespace}": no relationship found between node "{node}" '
                f"and this object",
                name=name,
                kind="serviceaccounts",
            )

    async def _check_bound(self, namespace: str, bound: BoundPod) -> None:
        if not bound.name or not bound.uid:
            raise errors.InvalidError(
                "bound_object_ref: Required value: a bound pod needs its name and uid"
            )
        pod = await self._pod(namespace, bound.name)
        if pod is None or pod.metadata.uid != bound.uid:
            raise errors.InvalidError(
                f'bound_object_ref: Invalid value: pod "{namespace}/{bound.name}" with uid '
                f'"{bound.uid}" does not exist'
            )

    def revoke(self, token_or_id: str) -> str:
        self._check_caller("revoke tokens")
        if not token_or_id:
            raise errors.InvalidError("token: Required value")
        try:
            # A static token (admin.conf's, a join token) goes from the
            # record; a service-account token is remembered as revoked.
            static = admintoken.revoke(self.join_tokens.static, token_or_id)
            return static if static is not None else self.tokens.revoke(token_or_id)
        except TokenError as err:
            raise errors.InvalidError(f"token: Invalid value: {err}") from None

    def create_join(self, ttl_seconds: int, description: str) -> tuple[str, str, int]:
        """(whole token, id, expiry or 0): 0 seconds the default, < 0 never expires."""
        self._check_caller("create join tokens")
        ttl = None if ttl_seconds < 0 else (ttl_seconds or DEFAULT_JOIN_TOKEN_SECONDS)
        token, token_id, expires = self.join_tokens.create(ttl, description)
        return str(token), token_id, int(expires)

    def list_join(self) -> list[dict[str, Any]]:
        self._check_caller("list join tokens")
        return self.join_tokens.list()

    def delete_join(self, token_id: str) -> str:
        self._check_caller("delete join tokens")
        if not token_id:
            raise errors.InvalidError("id: Required value")
        self.join_tokens.delete(token_id)
        return token_id

    def _check_caller(self, what: str) -> None:
        user = _caller()
        if not may_manage_tokens(user):
            raise errors.ForbiddenError(f'user "{user.name}" may not {what}')


def _bound(request: Any) -> BoundPod | None:
    if not request.HasField("bound_object_ref"):
        return None
    ref = request.bound_object_ref
    if ref.kind not in ("", "Pod"):
        raise errors.InvalidError(
            f'bound_object_ref.kind: Unsupported value: "{ref.kind}": supported values: "Pod"'
        )
    return BoundPod(ref.name, ref.uid)


async def _abort(context: Any, err: errors.APIError) -> None:
    await context.abort(err.code, err.message, errors.trailing_metadata(err))


class CertificatesService(certificates_pb2_grpc.CertificatesServicer):
    def __init__(self, signer: NodeSigner) -> None:
        self.signer = signer

    async def JoinNode(self, request: Any, context: Any) -> Any:
        try:
            pem = await self.signer.join(_caller(), request.node_name, request.csr_pem)
        except errors.APIError as err:
            await _abort(context, err)
        return certificates_pb2.JoinNodeResponse(
            certificate_pem=pem, ca_pem=pki.cert_pem(self.signer.ca.cert)
        )


class TokensService(certificates_pb2_grpc.TokensServicer):
    def __init__(self, issuer: TokenIssuer) -> None:
        self.issuer = issuer

    async def CreateToken(self, request: Any, context: Any) -> Any:
        try:
            token, jti, expiry = await self.issuer.create(
                request.namespace,
                request.name,
                int(request.expiration_seconds),
                _bound(request),
            )
        except errors.APIError as err:
            await _abort(context, err)
        return certificates_pb2.CreateTokenResponse(
            token=token, id=jti, expiration_timestamp=expiry
        )

    async def RevokeToken(self, request: Any, context: Any) -> Any:
        try:
            jti = self.issuer.revoke(request.token)
        except errors.APIError as err:
            await _abort(context, err)
        return certificates_pb2.RevokeTokenResponse(id=jti)

    async def CreateJoinToken(self, request: Any, context: Any) -> Any:
        try:
            token, token_id, expiry = self.issuer.create_join(
                int(request.ttl_seconds), request.description
            )
        except errors.APIError as err:
            await _abort(context, err)
        return certificates_pb2.CreateJoinTokenResponse(
            token=token, id=token_id, expiration_timestamp=expiry
        )

    async def ListJoinTokens(self, request: Any, context: Any) -> Any:
        try:
            records = self.issuer.list_join()
        except errors.APIError as err:
            await _abort(context, err)
        return certificates_pb2.ListJoinTokensResponse(
            tokens=[
                certificates_pb2.JoinTokenInfo(
                    id=r["id"],
                    expiration_timestamp=int(r.get("expires") or 0),
                    description=r.get("description", ""),
                )
                for r in records
            ]
        )

    async def DeleteJoinToken(self, request: Any, context: Any) -> Any:
        try:
            token_id = self.issuer.delete_join(request.id)
        except errors.APIError as err:
            await _abort(context, err)
        return certificates_pb2.DeleteJoinTokenResponse(id=token_id)


def add_certificates(
    server: grpc.aio.Server,
    security: ServerSecurity,
    node_exists: NodeExists | None = None,
    pod_lookup: PodLookup | None = None,
) -> None:
    signer = NodeSigner(security.pki.ca, security.issued_nodes, node_exists)
    certificates_pb2_grpc.add_CertificatesServicer_to_server(CertificatesService(signer), server)
    issuer = TokenIssuer(security.service_accounts, security.join_tokens, pod_lookup)
    certificates_pb2_grpc.add_TokensServicer_to_server(TokensService(issuer), server)


__all__ = ["CERTIFICATES", "TOKENS", "add_certificates", "datetime"]
