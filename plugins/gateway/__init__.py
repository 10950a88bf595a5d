"""The Kubernetes REST gateway: the Kubernetes HTTP API (``/api/v1``,
``/apis/apps/v1``..., discovery, tables, watch, pod streams) translated to
shoal's gRPC object API, so ``kubectl``, the ``kubernetes`` Python client
and ``curl`` can drive a shoal cluster. It keeps no state: every request is
a call through :class:`shoal.client.Client`.

It is a built-in plugin (``gateway`` in ``shoal plugins``): its
``register_http_servers`` hook (:mod:`shoal.plugins.gateway.plugin`) offers
the ``gateway`` HTTP server that ``shoal server --http-listen HOST:PORT``
runs beside the API server; ``shoal proxy`` runs it on localhost with the
user's config.
"""

from shoal.plugins.gateway.app import build_app
from shoal.plugins.gateway.plugin import register_http_servers
from shoal.plugins.gateway.runner import Gateway, split_listen

__all__ = ["Gateway", "build_app", "register_http_servers", "split_listen"]
