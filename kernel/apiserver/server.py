"""The API server process: store + object registry + gRPC, with health and
reflection, started by ``shoal server``."""

from __future__ import annotations

import asyncio
import pathlib
import signal
from typing import Any

import grpc
import structlog
from grpc_health.v1 import _async as health_async
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection
from shoal import config, plugin_manager
from shoal.api.v1 import api_pb2
from shoal.apiserver.admission import AdmissionChain
from shoal.apiserver.objects import ObjectRegistry
from shoal.apiserver.service import (
    DISCOVERY,
    OBJECTS,
    DiscoveryService,
    ObjectsService,
    generic_handlers,
)
from shoal.apiserver.services import ServiceAllocator
from shoal.apiserver.streams import STREAMS, add_streams
from shoal.store import Store

log = structlog.get_logger("apiserver")

# gRPC's default 4 MiB cap would refuse a list of many objects; objects
# themselves are capped at 1.5 MiB by validation.
MAX_MESSAGE_BYTES = 64 * 1024 * 1024


class APIServer:
    """One API server over one store; ``start`` binds, ``stop`` drains."""

    def __init__(
        self,
        store: Store,
        *,
        store_name: str = "sqlite",
        admission: AdmissionChain | None = None,
        bookmark_interval: float = 10.0,
        services: ServiceAllocator | None = None,
    ) -> None:
        self.store = store
        self.registry = ObjectRegistry(store, admission, services)
        self.objects = ObjectsService(self.registry, bookmark_interval)
        self.discovery = DiscoveryService(store_name)
        self.health = health_async.HealthServicer()
        self.port = 0
        self._server: grpc.aio.Server | None = None

    async def start(self, listen: str = "127.0.0.1:0") -> int:
        await self.store.start()
        await self.registry.start()
        server = grpc.aio.server(
            options=[
                ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
                ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
                ("grpc.so_reuseport", 0),
            ]
        )
        server.add_generic_rpc_handlers(generic_handlers(self.objects, self.discovery))
        health_pb2_grpc.add_HealthServicer_to_server(self.health, server)
        self._agents = add_streams(server, self.registry)
        services = (
            OBJECTS,
            DISCOVERY,
            STREAMS,
            health_pb2.DESCRIPTOR.services_by_name["Health"].full_name,
            reflection.SERVICE_NAME,
        )
        _ = api_pb2  # the descriptors reflection serves are those of this module
        reflection.enable_server_reflection(services, server)
        self.port = server.add_insecure_port(listen)
        if self.port == 0:
            raise OSError(f"cannot listen on {listen}")
        await server.start()
        self._server = server
        for name in ("", OBJECTS, DISCOVERY):
            await self.health.set(name, health_pb2.HealthCheckResponse.SERVING)
        log.info("serving", listen=listen, port=self.port)
        return self.port

    async def stop(self, grace: float = 1.0) -> None:
        if self._server is not None:
            await self.health.enter_graceful_shutdown()
            await self._server.stop(grace)
            self._server = None
            await self._agents.close()
        await self.registry.stop()
        await self.store.close()

    async def wait(self) -> None:
        if self._server is not None:
            await self._server.wait_for_termination()


def open_store(name: str, data_dir: pathlib.Path, options: dict[str, Any] | None = None) -> Store:
    """A store from the backend registered under ``name`` (sqlite by default)."""
    factory = plugin_manager.stores().get(name)
    return factory({"path": str(data_dir / "state.db"), **(options or {})})


def admission_chain() -> AdmissionChain:
    return AdmissionChain(list(plugin_manager.admission().items()))


def write_admin_config(data_dir: pathlib.Path, server_address: str) -> pathlib.Path:
    path = data_dir / "admin.conf"
    data = config.set_context(config.empty_config(), "shoal", server_address)
    config.write(path, data)
    return path


async def serve(
    data_dir: pathlib.Path,
    listen: str,
    *,
    store_name: str = "sqlite",
    store_options: dict[str, Any] | None = None,
    controllers: str | None = "*",
    leader_elect: bool = True,
    node_monitor_grace_period: float = 40.0,
    services: ServiceAllocator | None = None,
    lease_duration: float = 15.0,
    renew_deadline: float = 10.0,
    retry_period: float = 2.0,
    http_listen: str = "",
) -> None:
    """Run until SIGTERM or SIGINT, then drain and close the store.

    The control plane (scheduler, controllers) runs in this process too,
    talking to the API over the loopback port like any other client;
    ``controllers="-"`` runs none of it."""
    from shoal.client import Client
    from shoal.controlplane import ControlPlane, ControlPlaneOptions, select_controllers

    chosen = select_controllers(plugin_manager.controllers().names(), controllers)
    data_dir.mkdir(parents=True, exist_ok=True)
    server = APIServer(
        open_store(store_name, data_dir, store_options),
        store_name=store_name,
        admission=admission_chain(),
        services=services,
    )
    port = await server.start(listen)
    host = listen.rsplit(":", 1)[0] or "127.0.0.1"
    if host in ("0.0.0.0", "[::]", "::"):
        host = "127.0.0.1"
    admin = write_admin_config(data_dir, f"{host}:{port}")
    log.info("admin config written", path=str(admin), hint=f"export SHOAL_CONFIG={admin}")
    client = Client(f"{host}:{port}")
    options = ControlPlaneOptions(
        lease_duration=lease_duration,
        renew_deadline=renew_deadline,
        retry_period=retry_period,
        node_monitor_grace_period=node_monitor_grace_period,
    )
    control_plane = ControlPlane(client, chosen, leader_elect=leader_elect, options=options)
    control_plane.start()
    gateway = await _start_gateway(client, http_listen, admin) if http_listen else None
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    log.info("stopping")
    await control_plane.stop()  # first, so leases are released while the API still answers
    if gateway is not None:
        await gateway.stop()
    await client.close()
    await server.stop()


async def _start_gateway(client: Any, listen: str, admin: pathlib.Path) -> Any:
    """The Kubernetes REST gateway (``--http-listen``), over the same client
    the control plane uses; its URL goes into the admin config for kubectl."""
    from shoal.plugins.gateway import Gateway
    from shoal.plugins.gateway.kubeconfig import record_http_server

    gateway = Gateway(client)
    await gateway.start(listen)
    record_http_server(admin, "shoal", gateway.url)
    return gateway
