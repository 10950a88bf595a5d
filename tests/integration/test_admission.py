"""Admission plugins, registered through the hook like any third-party
plugin, mutate and veto writes; a veto changes nothing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from shoal import errors, hookimpl
from shoal.apiserver.admission import AdmissionChain
from shoal.apiserver.server import APIServer
from shoal.client import Client
from shoal.hookspecs import AdmissionError, AdmissionRequest
from shoal.plugin_manager import admission, build_plugin_manager
from shoal.store.sqlite import SQLiteStore

from tests.integration.helpers import pod


class TeamLabels:
    """Stamps every pod with a team label and refuses names it reserves."""

    def mutate(self, request: AdmissionRequest) -> None:
        if request.kind == "Pod" and request.object is not None:
            request.object.metadata.labels.setdefault("team", "platform")

    async def validate(self, request: AdmissionRequest) -> None:
        if request.name.startswith("reserved-"):
            raise AdmissionError("names starting with reserved- belong to the platform team")
        if request.operation == "DELETE" and request.old_object.metadata.labels.get("keep"):
            raise errors.InvalidError('pods "keep" is invalid: metadata.labels[keep]: set')


class Plugin:
    @hookimpl
    def register_admission(self, registry: Any) -> None:
        registry.register("team-labels", TeamLabels())


@pytest.fixture
async def client(tmp_path: Path) -> Any:
    pm = build_plugin_manager(env={})
    pm.register(Plugin(), name="team-labels-plugin")
    chain = AdmissionChain(admission(pm).items())
    server = APIServer(SQLiteStore(tmp_path / "state.db", compact_interval=0), admission=chain)
    await server.start("127.0.0.1:0")
    async with Client(f"127.0.0.1:{server.port}") as c:
        yield c
    await server.stop(grace=0)


async def test_mutation_and_veto(client: Client) -> None:
    created = await client.create(pod("web"))
    assert created.metadata.labels["team"] == "platform"
    with pytest.raises(errors.ForbiddenError, match='admission plugin "team-labels" denied'):
        await client.create(pod("reserved-web"))
    with pytest.raises(errors.NotFoundError):
        await client.get("pods", "reserved-web")


async def test_veto_on_delete_keeps_the_object(client: Client) -> None:
    await client.create(pod("keep", labels={"keep": "yes"}))
    with pytest.raises(errors.InvalidError, match=r"metadata\.labels"):
        await client.delete("pods", "keep")
    assert (await client.get("pods", "keep")).metadata.name == "keep"
