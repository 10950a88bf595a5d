"""What every verb shares: where the cluster is, which namespace, a client."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from shoal.client import Client
    from shoal.config import ClientConfig


@dataclass
class CtlContext:
    config_path: str | None
    context_name: str
    server: str
    namespace: str

    def client_config(self) -> ClientConfig:
        """The context's config; ``--server`` changes only the address, the
        context's CA and credentials stay (none without a config file)."""
        import dataclasses

        from shoal.config import ClientConfig, ConfigError, config_path, load

        if self.server and not config_path(self.config_path).exists():
            return ClientConfig(server=self.server, namespace=self.namespace or "default")
        try:
            cfg = load(self.config_path, self.context_name)
        except ConfigError:
            if not self.server:
                raise
            cfg = ClientConfig(server=self.server)
        if self.server:
            cfg = dataclasses.replace(cfg, server=self.server)
        if self.namespace:
            cfg = dataclasses.replace(cfg, namespace=self.namespace)
        return cfg

    def client(self) -> Client:
        from shoal.client import Client

        return Client.for_config(self.client_config())
