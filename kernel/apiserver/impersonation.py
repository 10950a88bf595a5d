"""Impersonation, as Kubernetes does it (``kubectl --as``): a request that
carries ``impersonate-user`` (and optionally ``impersonate-group``,
repeatable, ``impersonate-uid``, ``impersonate-extra-<key>``) runs as that
user — authorization, admission and the audit log all see it — provided
its caller may ``impersonate`` each of them:

| asked | verb impersonate on | API group |
|---|---|---|
| a user | ``users``, name | "" |
| ``system:serviceaccount:NS:NAME`` | ``serviceaccounts`` NAME in NS | "" |
| a group | ``groups``, name | "" |
| a uid | ``uids``, name | authentication.k8s.io |
| an extra value | ``userextras/<key>``, name the value | authentication.k8s.io |

Anything refused is PERMISSION_DENIED (HTTP 403) in Kubernetes' words and
the request does not run. The gRPC metadata keys are the HTTP header names
in lower case, so the REST gateway forwards kubectl's headers unchanged
and one check (:class:`Impersonator`, called at authentication) serves
both. The gateway's own ``shoal-impersonate-*`` metadata (it acts for the
caller it authenticated) is another thing: see ``authn.impersonated``.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from shoal import auth, errors
from shoal.apiserver.audit import AuditSink
from shoal.apiserver.authz import Attributes, Authorizer, forbidden

USER = "impersonate-user"
GROUP = "impersonate-group"
UID = "impersonate-uid"
EXTRA_PREFIX = "impersonate-extra-"
AUTHENTICATION_GROUP = "authentication.k8s.io"
ANONYMOUS_USER = "system:anonymous"


@dataclass(frozen=True)
class ImpersonationRequest:
    """What a request asks to act as."""

    user: str = ""
    groups: tuple[str, ...] = ()
    uid: str = ""
    extra: tuple[tuple[str, str], ...] = ()

    @classmethod
    def from_metadata(cls, metadata: Sequence[tuple[str, Any]]) -> ImpersonationRequest | None:
        """None when the request impersonates nobody."""
        users, groups, uids, extra = [], [], [], []
        for key, value in metadata:
            if not key.startswith("impersonate-") or isinstance(value, bytes):
                continue
            if key == USER:
                users.append(str(value))
            elif key == GROUP:
                groups.append(str(value))
            elif key == UID:
                uids.append(str(value))
            elif key.startswith(EXTRA_PREFIX):
                extra.append((extra_key(key[len(EXTRA_PREFIX) :]), str(value)))
        if not (users or groups or uids or extra):
            return None
        if not users or not users[0]:
            raise errors.BadRequestError(
                "impersonating groups, a uid or extra fields needs Impersonate-User too"
            )
        return cls(users[0], tuple(groups), uids[0] if uids else "", tuple(extra))

    def checks(self, requestor: auth.UserInfo) -> list[Attributes]:
        """One ``impersonate`` authorization per thing asked, in Kubernetes' order."""

        def may(
            resource: str,
            name: str,
            *,
            namespace: str = "",
            api_group: str = "",
            subresource: str = "",
        ) -> Attributes:
            return Attributes(
                requestor, "impersonate", api_group, resource, subresource, namespace, name
            )

        account = service_account(self.user)
        if account is not None:
            found = [may("serviceaccounts", account[1], namespace=account[0])]
        else:
            found = [may("users", self.user)]
        found += [may("groups", g) for g in self.groups]
        found += [
            may("userextras", value, api_group=AUTHENTICATION_GROUP, subresource=key)
            for key, value in self.extra
        ]
        if self.uid:
            found.append(may("uids", self.uid, api_group=AUTHENTICATION_GROUP))
        return found

    def user_info(self, requestor: auth.UserInfo) -> auth.UserInfo:
        """The identity the request runs as: the groups asked (a service
        account's own when none are), plus system:authenticated (or, for
        system:anonymous, system:unauthenticated) as Kubernetes adds them."""
        groups = list(self.groups)
        account = service_account(self.user)
        if account is not None and not groups:
            groups = [auth.SERVICE_ACCOUNTS_GROUP, f"{auth.SERVICE_ACCOUNTS_GROUP}:{account[0]}"]
        if self.user == ANONYMOUS_USER:
            if auth.UNAUTHENTICATED_GROUP not in groups:
                groups.append(auth.UNAUTHENTICATED_GROUP)
        elif not {auth.AUTHENTICATED_GROUP, auth.UNAUTHENTICATED_GROUP} & set(groups):
            groups.append(auth.AUTHENTICATED_GROUP)
        extra: dict[str, list[str]] = {}
        for key, value in self.extra:
            extra.setdefault(key, []).append(value)
        return auth.UserInfo(
            self.user,
            tuple(groups),
            self.uid,
            extra=tuple((k, tuple(v)) for k, v in sorted(extra.items())),
            impersonated_by=requestor.name,
        )


def extra_key(escaped: str) -> str:
    """Kubernetes percent-escapes extra keys in header names and lowercases them."""
    return urllib.parse.unquote(escaped).lower()


def service_account(user: str) -> tuple[str, str] | None:
    """(namespace, name) of ``system:serviceaccount:NS:NAME``, else None."""
    if not user.startswith(auth.SERVICE_ACCOUNT_PREFIX):
        return None
    namespace, sep, name = user[len(auth.SERVICE_ACCOUNT_PREFIX) :].partition(":")
    if not sep or not namespace or not name or ":" in name:
        return None
    return namespace, name


class Impersonator:
    """Checks an impersonation against the authorizer chain; a refusal is
    written to the audit log as the requestor's."""

    def __init__(
        self, authorizer: Authorizer, audit: Callable[[], AuditSink | None] = lambda: None
    ) -> None:
        self.authorizer = authorizer
        self.audit = audit

    async def impersonate(
        self, requestor: auth.UserInfo, request: ImpersonationRequest, method: str = ""
    ) -> auth.UserInfo:
        for attrs in request.checks(requestor):
            decision = await self.authorizer.authorize(attrs)
            if not decision.allowed:
                sink = self.audit()
                if sink is not None:
                    sink.record(attrs, "PERMISSION_DENIED", decision.reason, method)
                raise forbidden(attrs, decision.reason)
        return request.user_info(requestor)

    async def resolve(
        self, requestor: auth.UserInfo, metadata: Sequence[tuple[str, Any]], method: str = ""
    ) -> auth.UserInfo:
        """The user a request runs as: ``requestor``, or whom it may impersonate."""
        request = ImpersonationRequest.from_metadata(metadata)
        if request is None:
            return requestor
        return await self.impersonate(requestor, request, method)
