"""Admission sees who asks (user and groups), and its denial reaches the
caller as PERMISSION_DENIED with the plugin's reason."""

from __future__ import annotations

from typing import Any

from shoal.apiserver.admission import AdmissionChain
from shoal.hookspecs import AdmissionError, AdmissionRequest

from tests.integration.helpers import pod
from tests.security.authz_helpers import binding, refused, until_allowed
from tests.security.conftest import SecureServer


class NoLatest:
    def __init__(self) -> None:
        self.seen: list[tuple[str, tuple[str, ...]]] = []

    def validate(self, request: AdmissionRequest) -> None:
        self.seen.append((request.user, request.groups))
        if request.object is not None and request.object.spec.containers[0].image.endswith(
            ":latest"
        ):
            raise AdmissionError("images must be pinned")


async def test_admission_sees_the_caller_and_denies_in_its_words(
    secure_server: SecureServer,
) -> None:
    plugin = NoLatest()
    registry: Any = secure_server.server.registry
    await secure_server.admin.create(binding("dev-edit", "edit", group="dev", namespace="default"))
    registry.admission = AdmissionChain([("no-latest", plugin)])
    dave = secure_server.user_client("dave", ("dev",))
    try:
        await until_allowed(dave, "create", "pods", "default")
        await dave.create(pod("ok", image="busybox:1.36"))
        err = await refused(dave.create(pod("bad", image="busybox:latest")))
        assert err.message == (
            'pods "bad" is forbidden: admission plugin "no-latest" denied the request: '
            "images must be pinned"
        )
    finally:
        await dave.close()
    assert plugin.seen[0] == ("dave", ("dev", "system:authenticated"))
