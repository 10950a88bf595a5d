"""The context ``shoal up`` writes into the client config: where its
cluster answers and, in a ``local-cluster`` extension, where its files
live, so ``status`` and ``down`` find the cluster the context points at
(the way minikube's context carries its profile)."""

from __future__ import annotations

import pathlib
from typing import Any

import click
from shoal.ctl import localcluster as lc
from shoal.ctl.context import CtlContext

CONTEXT = "shoal"
EXTENSION = "local-cluster"
DEFAULT_HOME = "~/.shoal"


def merge(ctx: CtlContext, paths: lc.Paths, listen: str) -> pathlib.Path:
    """The "shoal" context: the server, its CA and the admin's credentials
    from the server's admin.conf (the file is written 0600)."""
    from shoal import config

    admin = config.read(lc.admin_config(paths))
    cluster = dict((admin.get("clusters") or [{}])[0].get("cluster") or {})
    user = dict((admin.get("users") or [{}])[0].get("user") or {})
    cluster.pop("server", None)
    path = config.config_path(ctx.config_path)
    data = _read_or_empty(path)
    config.write(
        path,
        config.set_context(
            data,
            CONTEXT,
            listen,
            user=user,
            cluster=cluster,
            extensions={EXTENSION: {"data-dir": str(paths.root)}},
        ),
    )
    click.echo(f'✓ context "{CONTEXT}" set in {path}; try: shoal get nodes')
    return path


def cluster_home(ctx: CtlContext, explicit: str | None) -> str:
    """--data-dir when given, else the data directory of the cluster the
    context (--context, else the current one) was set up for, else ~/.shoal."""
    if explicit:
        return explicit
    from shoal import config

    try:
        data = config.read(config.config_path(ctx.config_path))
    except config.ConfigError:
        if ctx.context_name:
            raise
        return DEFAULT_HOME
    found = config.context_extension(data, EXTENSION, ctx.context_name).get("data-dir")
    return str(found) if found else DEFAULT_HOME


def forget(ctx: CtlContext, paths: lc.Paths) -> None:
    """Drop the contexts of a deleted cluster, as ``minikube delete`` does."""
    from shoal import config

    path = config.config_path(ctx.config_path)
    data = _read_or_empty(path)
    names = [c.get("name") for c in data.get("contexts") or [] if c.get("name")]
    gone = [
        name
        for name in names
        if config.context_extension(data, EXTENSION, name).get("data-dir") == str(paths.root)
    ]
    for name in gone:
        data = config.delete_context(data, name)
        click.echo(f'✓ context "{name}" removed from {path}')
    if gone:
        config.write(path, data)


def _read_or_empty(path: pathlib.Path) -> dict[str, Any]:
    from shoal import config

    try:
        return config.read(path)
    except config.ConfigError:
        return config.empty_config()
