"""Connect subresources: a kind's subresources served by other means than
the object store (a pod's ``log``, ``exec``, ``portforward``, ``proxy``).

A kind lists the ones it has in its strategy's ``connect_subresources``;
this table, keyed by subresource name, says what discovery calls each one
and which HTTP methods reach which handler. Adding one is one entry here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

# HTTP method -> the verb discovery lists for it (HEAD and OPTIONS list none).
METHOD_VERBS = {"GET": "get", "POST": "create", "PUT": "update", "PATCH": "patch"}
METHOD_VERBS["DELETE"] = "delete"


@dataclass(frozen=True)
class Connect:
    """One connect subresource: the kind discovery names for it, the HTTP
    methods it answers, and its handler (found on the gateway's Router)."""

    kind: str
    methods: tuple[str, ...]
    handler: Callable[[Any], Any]  # Router -> async (request, target) -> response

    @property
    def verbs(self) -> list[str]:
        return sorted({METHOD_VERBS[m] for m in self.methods if m in METHOD_VERBS})


_ALL_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")

CONNECT: dict[str, Connect] = {
    "log": Connect("Pod", ("GET",), lambda r: r.streams.log),
    "exec": Connect("PodExecOptions", ("GET", "POST"), lambda r: r.streams.exec),
    "portforward": Connect(
        "PodPortForwardOptions", ("GET", "POST"), lambda r: r.proxy.port_forward
    ),
    "proxy": Connect("PodProxyOptions", _ALL_METHODS, lambda r: r.proxy.proxy),
}
