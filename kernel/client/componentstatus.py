"""The health of the control plane as Kubernetes' (deprecated but still
typed) ComponentStatus objects: ``shoal get cs`` and the gateway's
``/api/v1/componentstatuses`` (``kubectl get cs``) both ask here.

Nothing is stored: the store is healthy when a List succeeds, and each
control-plane component when its Lease was renewed within its duration.
"""

from __future__ import annotations

from typing import Any

from shoal import clock, errors
from shoal.client.client import Client
from shoal.strategy import Table

# The control-plane components that prove they live by renewing a Lease.
LEASE_NAMESPACE = "shoal-system"
COMPONENT_LEASES = (
    ("scheduler", "shoal-scheduler"),
    ("controller-manager", "shoal-controller-manager"),
)
NAMES = ("store", *(name for name, _ in COMPONENT_LEASES))


async def component_statuses(client: Client) -> list[dict[str, Any]]:
    """Every component's ComponentStatus, the store first."""
    found = [await _store_status(client)]
    for component, lease in COMPONENT_LEASES:
        healthy, message = await _lease_health(client, lease)
        found.append(_status(component, healthy, message))
    return found


def healthy(status: dict[str, Any]) -> bool:
    return bool(status["conditions"][0]["status"] == "True")


async def _store_status(client: Client) -> dict[str, Any]:
    try:
        await client.list("Namespace", "", limit=1)
    except errors.APIError as err:
        return _status("store", False, f"a list from the store failed: {err.message}")
    return _status("store", True, "ok")


async def _lease_health(client: Client, name: str) -> tuple[bool, str]:
    try:
        lease = await client.get("Lease", name, LEASE_NAMESPACE)
    except errors.NotFoundError:
        return False, f"no lease {LEASE_NAMESPACE}/{name}: the component has never reported"
    spec = lease.spec
    if not spec.HasField("renew_time"):
        return False, f"lease {LEASE_NAMESPACE}/{name} was never renewed"
    duration = spec.lease_duration_seconds or 15
    silent = clock.time() - spec.renew_time.ToSeconds()
    if silent > duration:
        return False, f"lease {name} not renewed for {int(silent)}s (duration {duration}s)"
    return True, "ok"


def _status(name: str, is_healthy: bool, message: str) -> dict[str, Any]:
    condition = {"type": "Healthy", "status": "True" if is_healthy else "False"}
    condition["message" if is_healthy else "error"] = message
    return {
        "apiVersion": "v1",
        "kind": "ComponentStatus",
        "metadata": {"name": name},
        "conditions": [condition],
    }


def _cells(obj: dict[str, Any], now: float) -> list[str]:
    condition = (obj.get("conditions") or [{}])[0]
    healthy = condition.get("status") == "True"
    return [
        "Healthy" if healthy else "Unhealthy",
        condition.get("message", ""),
        condition.get("error", ""),
    ]


# The columns of ``shoal get cs`` and ``kubectl get cs`` (no kind is stored).
TABLE = Table(["STATUS", "MESSAGE", "ERROR"], _cells)
