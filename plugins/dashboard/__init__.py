"""The web dashboard: a small server-rendered UI of the cluster (nodes,
workloads, Services, events, ConfigMaps, each object's YAML, events and
logs, and the scale / restart / delete actions), live from watches over
server-sent events. It acts as the user: over HTTPS a bearer token from the
login form is authenticated like a gateway caller's, and every call runs
impersonating that user, so what RBAC forbids is not shown or not offered.

A built-in plugin (``dashboard`` in ``shoal plugins``): its
``register_http_servers`` hook offers the ``dashboard`` HTTP server that
``shoal server --http-server dashboard=HOST:PORT`` runs (``shoal up`` does
so while the ``dashboard`` add-on is enabled). docs/dashboard.md.
"""

from shoal.plugins.dashboard.plugin import register_http_servers
from shoal.plugins.dashboard.server import Dashboard

__all__ = ["Dashboard", "register_http_servers"]
