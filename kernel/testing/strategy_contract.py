"""The strategy contract suite (:mod:`shoal.strategy`): a kind's strategy
proves itself with one import. Give sample objects as manifests (Kubernetes
JSON, as ``shoal apply`` reads them)::

    from shoal.testing import StrategyContract

    class TestWidgetStrategy(StrategyContract):
        kind = "widgets.example.shoal.dev"
        valid = [{"apiVersion": "example.shoal.dev/v1", "kind": "Widget",
                  "metadata": {"name": "w", "namespace": "default"},
                  "spec": {"size": 3}}]
        # (manifest, a field path the causes must name)
        invalid = [({... "spec": {"size": -1}}, "spec.size")]
        # (manifest, merge patch of an update, a field path the causes must name)
        immutable = [({... "spec": {"size": 3, "colour": "red"}},
                      {"spec": {"colour": "blue"}}, "spec.colour")]

It checks that defaulting is idempotent, valid samples validate clean, each
invalid sample gives causes with field paths (and the API server refuses
it, storing nothing), ``validate_update`` refuses the listed changes and
lets an unchanged object through, and each valid sample round-trips
through a real in-process API server (create, get, list, update, delete).

A strategy that overrides ``validate`` must list invalid samples, one that
overrides ``validate_update`` must list immutable changes: the suite fails
otherwise. Override a test for a kind it does not fit (an unstored kind's
round trip) and say why.
"""

from __future__ import annotations

import copy
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, ClassVar

import pytest
from shoal import errors, kinds
from shoal.apiserver.patch import merge_patch
from shoal.client import Client
from shoal.kinds import Kind
from shoal.manifest import from_dict, to_dict
from shoal.strategy import Strategy

Manifest = dict[str, Any]


@asynccontextmanager
async def api_server() -> AsyncIterator[Client]:
    """A client of a fresh in-process API server on a temporary SQLite store."""
    from shoal.testing import start_server  # the package imports this module

    with tempfile.TemporaryDirectory(prefix="shoal-contract-") as data_dir:
        server = await start_server(Path(data_dir))
        client = Client(f"127.0.0.1:{server.port}")
        try:
            yield client
        finally:
            await client.close()
            await server.stop(grace=0)


def contains(got: Any, want: Any, path: str = "") -> list[str]:
    """Where ``got`` lacks what ``want`` has: dicts by key, lists by index
    (``got`` may hold more keys and trailing items the server added)."""
    if isinstance(want, dict) and isinstance(got, dict):
        return [p for k, v in want.items() for p in contains(got.get(k), v, f"{path}.{k}")]
    if isinstance(want, list) and isinstance(got, list) and len(got) >= len(want):
        return [p for i, v in enumerate(want) for p in contains(got[i], v, f"{path}[{i}]")]
    return [] if got == want else [f"{path or '.'}: want {want!r}, got {got!r}"]


def _body(obj: Manifest) -> Manifest:
    """An object's own fields: not its metadata, nor the status its owner writes."""
    return {k: v for k, v in obj.items() if k not in ("metadata", "status")}


class StrategyContract:
    """Subclass and set ``kind``, ``valid``, ``invalid`` and ``immutable``."""

    kind: ClassVar[str] = ""
    valid: ClassVar[list[Manifest]] = []
    invalid: ClassVar[list[tuple[Manifest, str]]] = []
    immutable: ClassVar[list[tuple[Manifest, Manifest, str]]] = []
    # Names no kind takes (a path segment at most); add the kind's own.
    bad_names: ClassVar[list[str]] = ["a/b", ".."]

    # -- helpers -----------------------------------------------------------------

    @property
    def served(self) -> Kind:
        return kinds.resolve(self.kind)

    @property
    def strategy(self) -> Strategy:
        return self.served.strategy

    def defaulted(self, manifest: Manifest) -> Any:
        obj = from_dict(copy.deepcopy(manifest))
        assert kinds.for_message(obj) == self.served, "a sample of another kind"
        self.strategy.default(obj)
        return obj

    def _overrides(self, method: str) -> bool:
        return getattr(type(self.strategy), method) is not getattr(Strategy, method)

    # -- the contract --------------------------------------------------------------

    def test_has_valid_samples(self) -> None:
        assert self.kind, "set kind to the kind's name"
        assert self.valid, "list at least one valid sample object"

    def test_defaulting_is_idempotent(self) -> None:
        for manifest in self.valid + [m for m, _ in self.invalid]:
            once = self.defaulted(manifest)
            twice = copy.deepcopy(once)
            self.strategy.default(twice)
            assert to_dict(twice) == to_dict(once), f"defaulting twice changed {manifest}"

    def test_valid_samples_validate_clean(self) -> None:
        for manifest in self.valid:
            obj = self.defaulted(manifest)
            assert self.strategy.validate_name(obj.metadata.name) == []
            assert self.strategy.validate(obj) == [], f"{manifest} is a valid sample"

    def test_bad_names_are_refused(self) -> None:
        for name in self.bad_names:
            assert self.strategy.validate_name(name), f"{name!r} passed as a name"

    def test_invalid_samples_name_their_fields(self) -> None:
        if not self.invalid:
            assert not self._overrides("validate"), "the strategy validates: list invalid samples"
        for manifest, field in self.invalid:
            causes = self.strategy.validate(self.defaulted(manifest))
            assert causes, f"{manifest} passed validation"
            assert all(path for path, _ in causes), f"a cause without a field path: {causes}"
            assert any(path.startswith(field) for path, _ in causes), (
                f"no cause names {field}: {causes}"
            )

    def test_immutable_changes_are_refused(self) -> None:
        if not self.immutable:
            assert not self._overrides("validate_update"), (
                "the strategy checks updates: list immutable changes"
            )
        for manifest, change, field in self.immutable:
            old = self.defaulted(manifest)
            new = from_dict(merge_patch(to_dict(old), change))
            self.strategy.default(new)
            causes = self.strategy.validate_update(old, new)
            assert any(path.startswith(field) for path, _ in causes), (
                f"changing {change} gave no cause on {field}: {causes}"
            )

    def test_unchanged_updates_pass(self) -> None:
        for manifest in self.valid:
            old = self.defaulted(manifest)
            new = copy.deepcopy(old)
            new.metadata.labels["contract"] = "touched"  # metadata is always free to change
            assert self.strategy.validate_update(old, new) == []

    @pytest.mark.asyncio
    async def test_create_round_trips_through_an_api_server(self) -> None:
        async with api_server() as client:
            for manifest in self.valid:
                await self.round_trip(client, manifest)

    @pytest.mark.asyncio
    async def test_the_api_server_refuses_invalid_samples(self) -> None:
        async with api_server() as client:
            for manifest, field in self.invalid:
                obj = from_dict(copy.deepcopy(manifest))
                with pytest.raises(errors.InvalidError) as refused:
                    await client.create(obj)
                assert any(path.startswith(field) for path, _ in refused.value.causes)
                with pytest.raises(errors.NotFoundError):
                    await client.get(self.served, obj.metadata.name, obj.metadata.namespace)

    async def round_trip(self, client: Client, manifest: Manifest) -> None:
        """Create, read back (the sample's defaulted fields kept), list,
        update unchanged, delete."""
        kind, want = self.served, _body(to_dict(self.defaulted(manifest)))
        created = await client.create(from_dict(copy.deepcopy(manifest)))
        name, namespace = created.metadata.name, created.metadata.namespace
        got = await client.get(kind, name, namespace)
        assert got.metadata.uid and got.metadata.resource_version
        assert contains(_body(to_dict(got)), want) == [], f"{manifest} did not round-trip"
        listed = await client.list(kind, namespace)
        assert name in [o.metadata.name for o in listed.items]
        updated = await client.update(got)
        assert contains(_body(to_dict(updated)), want) == []
        await client.delete(kind, name, namespace)
