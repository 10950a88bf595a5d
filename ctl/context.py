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
        from shoal.config import ClientConfig, load

        if self.server:
            return ClientConfig(server=self.server, namespace=self.namespace or "default")
        cfg = load(self.config_path, self.context_name)
        if self.namespace:
            cfg = ClientConfig(cfg.server, self.namespace, cfg.context, cfg.token)
        return cfg

    def client(self) -> Client:
        from shoal.client import Client

        cfg = self.client_config()
        return Client(cfg.server, namespace=cfg.namespace)
