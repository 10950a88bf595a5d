"""One helper the built-in kind plugins share to describe a kind."""

from __future__ import annotations

from google.protobuf.message import Message
from shoal.kinds import Kind
from shoal.registry import Registry
from shoal.strategy import DEFAULT_STRATEGY, Strategy


def kind(
    name: str,
    api_version: str,
    message: type[Message],
    short_names: tuple[str, ...] = (),
    *,
    strategy: Strategy = DEFAULT_STRATEGY,
    plural: str = "",
    namespaced: bool = True,
    has_status: bool = False,
) -> Kind:
    """A Kind whose plural and singular follow the common rule (lower case, +s)."""
    return Kind(
        kind=name,
        api_version=api_version,
        plural=plural or name.lower() + "s",
        singular=name.lower(),
        short_names=short_names,
        namespaced=namespaced,
        message=message,
        has_status=has_status,
        strategy=strategy,
    )


def register_all(registry: Registry[Kind], *kinds: Kind) -> None:
    for k in kinds:
        registry.register(k.resource, k)
