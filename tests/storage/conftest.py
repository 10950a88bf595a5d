"""The gateway fixtures, for the storage tests that go through REST and kubectl."""

from tests.gateway.conftest import gateway_cluster, gateway_server, needs_kubectl

__all__ = ["gateway_cluster", "gateway_server", "needs_kubectl"]
