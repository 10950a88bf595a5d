"""Built-in plugin: the etcd store, for control planes that outgrow one machine.

``shoal server --store etcd --etcd-endpoints http://10.0.0.1:2379,...``; the
store itself is in ``etcd_store`` (see docs/etcd.md).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from shoal import hookimpl
from shoal.registry import Registry


def etcd_store(options: Mapping[str, Any]) -> Any:
    """``{"endpoints": "http://127.0.0.1:2379,...", "prefix": "/registry/",
    "cafile": "", "certfile": "", "keyfile": "", "compact_interval": 300.0,
    "compact_keep": 10000}``. ``path`` (the server's data dir store file) is
    ignored: the data lives in etcd."""
    opts = dict(options)
    opts.pop("path", None)
    endpoints = opts.pop("endpoints", "")
    if not endpoints:
        raise ValueError("the etcd store needs endpoints (--etcd-endpoints URL,...)")
    # Imported here so listing plugins never pays for (or breaks on) the client.
    from shoal.plugins.stores.etcd_client import TLSFiles, parse_endpoints
    from shoal.plugins.stores.etcd_store import EtcdStore

    parse_endpoints(endpoints)  # a bad URL fails here, before anything starts
    tls = TLSFiles(opts.pop("cafile", ""), opts.pop("certfile", ""), opts.pop("keyfile", ""))
    return EtcdStore(endpoints, tls=tls, **opts)


@hookimpl
def register_stores(registry: Registry[Any]) -> None:
    registry.register("etcd", etcd_store)
