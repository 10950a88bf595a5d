"""Names on the command line: ``pods web``, ``pod/web``, ``pods,svc``, files
given with ``-f``; and the bridge from a click verb to the async client."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

if TYPE_CHECKING:
    from shoal.client import Client
    from shoal.ctl.context import CtlContext
    from shoal.kinds import Kind

T = TypeVar("T")


@dataclass
class Target:
    kind: Kind
    name: str = ""  # empty: every object of the kind


def resolve_kind(name: str) -> Kind:
    from shoal import kinds

    return kinds.resolve(name)


def parse_targets(args: tuple[str, ...] | list[str]) -> list[Target]:
    """``pods web db`` / ``pod/web svc/web`` / ``pods,svc`` / ``all``."""
    if not args:
        raise click.UsageError("you must specify the type of resource (e.g. pods)")
    if any("/" in a for a in args):
        return [_slashed(a) for a in args]
    types = [t for t in args[0].split(",") if t]
    names = list(args[1:])
    resolved = [k for t in types for k in _kinds_named(t)]
    if names and len(resolved) > 1:
        raise click.UsageError("names cannot be given with more than one resource type")
    if not names:
        return [Target(k) for k in resolved]
    return [Target(resolved[0], n) for n in names]


def _kinds_named(name: str) -> list[Kind]:
    """The kind called ``name`` or, as kubectl, the kinds whose strategy puts
    them in the category ``name`` (``all``): group by group in the order the
    groups were registered (the core group first), by plural within a group."""
    from shoal import kinds

    try:
        return [kinds.resolve(name)]
    except kinds.UnknownKindError:
        every = kinds.all_kinds()
        groups = list(dict.fromkeys(k.group for k in every))
        found = [k for k in every if name.lower() in k.strategy.categories]
        if not found:
            raise
        return sorted(found, key=lambda k: (groups.index(k.group), k.plural))


def _slashed(arg: str) -> Target:
    kind_name, _, name = arg.partition("/")
    if not kind_name or not name:
        raise click.UsageError(f'arguments in resource/name form must have a name: "{arg}"')
    return Target(resolve_kind(kind_name), name)


def one_target(args: tuple[str, ...]) -> Target:
    """Exactly one named object: ``deployment web`` or ``deployment/web``."""
    targets = parse_targets(args)
    if len(targets) != 1 or not targets[0].name:
        raise click.UsageError("exactly one resource name is required, e.g. deployment/web")
    return targets[0]


def ref(kind: Kind, name: str) -> str:
    """How kubectl names an object in messages and ``-o name``: ``deployment.apps/web``."""
    qualified = f"{kind.singular}.{kind.group}" if kind.group else kind.singular
    return f"{qualified}/{name}"


def quoted(kind: Kind, name: str) -> str:
    """``deployment.apps "web"``, as in kubectl's ``deleted`` lines."""
    qualified = f"{kind.plural}.{kind.group}" if kind.group else kind.plural
    return f'{qualified} "{name}"'


def namespace_of(ctx: CtlContext, kind: Kind, all_namespaces: bool = False) -> str:
    if not kind.namespaced or all_namespaces:
        return ""
    return ctx.client_config().namespace


def with_client(ctx: CtlContext, work: Callable[[Client], Awaitable[T]]) -> T:
    """Run ``work(client)`` on a fresh event loop; the client is closed after."""

    async def session() -> T:
        async with ctx.client() as client:
            return await work(client)

    return asyncio.run(session())


def read_manifests(filenames: tuple[str, ...], recursive: bool = False) -> list[dict[str, Any]]:
    """Every object in the files, folders (``-R``: and below) or stdin (``-``)."""
    from shoal.manifest import load_documents

    if not filenames:
        raise click.UsageError("must specify -f FILENAME")
    documents: list[dict[str, Any]] = []
    for name in filenames:
        for source, text in _sources(name, recursive):
            documents.extend(load_documents(text, source))
    return documents


def _sources(name: str, recursive: bool) -> list[tuple[str, str]]:
    if name == "-":
        return [("<stdin>", sys.stdin.read())]
    path = Path(name)
    if not path.exists():
        raise click.UsageError(f'the path "{name}" does not exist')
    if path.is_file():
        return [(name, path.read_text())]
    pattern = "**/*" if recursive else "*"
    files = sorted(p for p in path.glob(pattern) if p.suffix in (".yaml", ".yml", ".json"))
    return [(str(p), p.read_text()) for p in files if p.is_file()]


def editor() -> list[str]:
    import shlex

    chosen = os.environ.get("SHOAL_EDITOR") or os.environ.get("EDITOR") or "vi"
    return shlex.split(chosen)
