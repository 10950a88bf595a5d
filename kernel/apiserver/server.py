"""The API server process: store + object registry + gRPC, with health and
reflection, started by ``shoal server``."""

from __future__ import annotations

import asyncio
import contextlib
import pathlib
import signal
from collections.abc import Mapping
from typing import Any

import grpc
import structlog
from grpc_health.v1 import _async as health_async
from grpc_health.v1 import health_pb2, health_pb2_grpc
from shoal import config, plugin_manager
from shoal.api.v1 import api_pb2
from shoal.apiserver import httpservers
from shoal.apiserver import listen as listening
from shoal.apiserver.admission import AdmissionChain
from shoal.apiserver.audit import AuditSink
from shoal.apiserver.authn import PUBLIC_PREFIXES, AuthenticationInterceptor, login_with
from shoal.apiserver.authorization import Authorization
from shoal.apiserver.authorization_service import AUTHORIZATION, add_authorization
from shoal.apiserver.certificates import CERTIFICATES, TOKENS, add_certificates
from shoal.apiserver.connlimits import ConnectionLimits
from shoal.apiserver.encryption import encrypting
from shoal.apiserver.fairness import FairnessInterceptor, FairQueues, RequestLimits
from shoal.apiserver.handlers import InterceptorChain
from shoal.apiserver.inprocess import Dispatcher, InProcessChannel, Recorder
from shoal.apiserver.instrumentation import MetricsInterceptor
from shoal.apiserver.jointokens import DEFAULT_JOIN_TOKEN_SECONDS
from shoal.apiserver.malformed import MalformedRequestInterceptor
from shoal.apiserver.objects import ObjectRegistry
from shoal.apiserver.reflection import enable_reflection
from shoal.apiserver.security import ServerSecurity, check_insecure_listen, write_admin_config
from shoal.apiserver.service import (
    DISCOVERY,
    OBJECTS,
    DiscoveryService,
    ObjectsService,
    generic_handlers,
)
from shoal.apiserver.services import ServiceAllocator
from shoal.apiserver.storemetrics import InstrumentedStore
from shoal.apiserver.streams import STREAMS, add_streams
from shoal.contracts import HTTPServerContext
from shoal.hardening import private_data_dir, quiet_accept_errors, raise_open_files_limit
from shoal.store import Store

log = structlog.get_logger("apiserver")

# gRPC's default 4 MiB cap would refuse a list of many objects; objects
# themselves are capped at 1.5 MiB by validation. What the server receives
# is capped by RequestLimits.max_request_bytes (Kubernetes' 3 MiB).
MAX_MESSAGE_BYTES = 64 * 1024 * 1024
RECEIVE_OVERHEAD_BYTES = 64 * 1024  # the request's own fields around a body


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
        security: ServerSecurity | None = None,
        audit: AuditSink | pathlib.Path | None = None,
        limits: RequestLimits | None = None,
        connections: ConnectionLimits | None = None,
        metrics: bool = True,
        service_options: dict[str, Any] | None = None,
    ) -> None:
        """Without ``security`` the listener is plain and every request runs
        as ``auth.INSECURE_ADMIN`` (tests in-process; ``--insecure``).
        ``limits``: per-user fairness and the request size cap; ``metrics``:
        count and time every request (``shoal.metrics``);
        ``service_options``: for the plugins' API services
        (``register_api_services``), e.g. ``metric_resolution``."""
        self.metrics = metrics
        self.service_options = dict(service_options or {})
        self.api_services: list[Any] = []
        if metrics:  # store calls timed, objects counted
            store = InstrumentedStore(store)  # type: ignore[assignment]
        self.store = store
        self.limits = limits or RequestLimits()
        self.fairness = FairQueues(self.limits)
        self.connections = connections or ConnectionLimits()
        self.security = security
        self.registry = ObjectRegistry(
            store,
            admission if admission is not None else admission_chain(),
            services,
            mount_service_account_tokens=security is not None,
            root_ca_pem=security.pki.ca_pem if security is not None else b"",
        )
        self.authorization = Authorization(self.registry, audit)
        self.objects = ObjectsService(self.registry, bookmark_interval)
        self.discovery = DiscoveryService(store_name)
        self.health = health_async.HealthServicer()
        self.port = 0
        self._server: grpc.aio.Server | None = None
        self._dispatcher: Dispatcher | None = None

    async def start(self, listen: str = "127.0.0.1:0") -> int:
        await self.store.start()
        await self.registry.start()
        await self.authorization.start()
        authenticator = self.security.authenticator() if self.security else None
        if authenticator is not None:  # bound service-account tokens die with their pod
            authenticator.pod_exists = self.authorization.graph.pod_exists
        counting = [MetricsInterceptor()] if self.metrics else []
        interceptors = [
            *counting,  # outermost: it times every call and sees every answer
            AuthenticationInterceptor(login_with(authenticator, self.authorization.impersonator)),
            MalformedRequestInterceptor(),
            # after authentication (it reads the user), before authorization, as APF
            FairnessInterceptor(self.fairness, PUBLIC_PREFIXES),
            self.authorization.interceptor(),
        ]
        chain = InterceptorChain(interceptors)  # one await per call, not one per interceptor
        receive_bytes = self.limits.max_request_bytes + RECEIVE_OVERHEAD_BYTES
        self._dispatcher = Dispatcher(chain, receive_bytes)
        grpc_server = grpc.aio.server(
            interceptors=[chain],
            options=[
                ("grpc.max_receive_message_length", receive_bytes),
                ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
                ("grpc.so_reuseport", 1 if listening.shared_port() else 0),
                *self.connections.grpc_options(),
            ],
        )
        # every service also reachable in process (in_process_channel)
        server: Any = Recorder(grpc_server, self._dispatcher)
        server.add_generic_rpc_handlers(generic_handlers(self.objects, self.discovery))
        health_pb2_grpc.add_HealthServicer_to_server(self.health, server)
        add_authorization(server, self.authorization.reviewer)
        self._agents = add_streams(server, self.registry, self._agent_credentials())
        services: tuple[str, ...] = (
            OBJECTS,
            DISCOVERY,
            STREAMS,
            AUTHORIZATION,
            health_pb2.DESCRIPTOR.services_by_name["Health"].full_name,
        )
        services += self._add_api_services(server)
        _ = api_pb2  # the descriptors reflection serves are those of this module
        if self.security is not None:
            add_certificates(server, self.security, self._node_exists, self._pod)
            services += (CERTIFICATES, TOKENS)
        enable_reflection(services, server)
        security = self.security
        self.port = listening.bind(
            (lambda a: server.add_secure_port(a, security.server_credentials()))
            if security is not None
            else server.add_insecure_port,
            listen,
        )
        await grpc_server.start()
        self._server = grpc_server
        for api_service in self.api_services:
            await api_service.start()
        for name in ("", OBJECTS, DISCOVERY):
            await self.health.set(name, health_pb2.HealthCheckResponse.SERVING)
        log.info("serving", listen=listen, port=self.port)
        return self.port

    def in_process_channel(self) -> InProcessChannel:
        """A channel to this server for callers in its process (the control
        plane): the same handlers and interceptors, without the network."""
        if self._dispatcher is None:
            raise RuntimeError("the API server is not started")
        return InProcessChannel(self._dispatcher)

    def _add_api_services(self, server: Any) -> tuple[str, ...]:
        """The plugins' services (``register_api_services``); their names."""
        from shoal.contracts import APIServiceContext

        context = APIServiceContext(self.registry, self._agents, self.service_options)
        names: tuple[str, ...] = ()
        for _, factory in plugin_manager.api_services().items():
            api_service = factory(context)
            api_service.add_to_server(server)
            self.api_services.append(api_service)
            names += tuple(api_service.service_names)
        return names

    async def _node_exists(self, name: str) -> bool:
        from shoal import errors, kinds

        try:
            await self.registry.get(kinds.resolve("nodes"), "", name)
        except errors.NotFoundError:
            return False
        return True

    async def _pod(self, namespace: str, name: str) -> Any | None:
        from shoal import errors, kinds

        try:
            return await self.registry.get(kinds.resolve("pods"), namespace, name)
        except errors.NotFoundError:
            return None

    def _agent_credentials(self) -> grpc.ChannelCredentials | None:
        """mTLS to agents' stream servers, as ``CN=shoal-apiserver``."""
        if self.security is None:
            return None
        pair = self.security.pki.ensure("apiserver-agent-client")
        return grpc.ssl_channel_credentials(self.security.pki.ca_pem, pair.key_pem, pair.cert_pem)

    async def stop(self, grace: float = 1.0) -> None:
        if self._server is not None:
            await self.health.enter_graceful_shutdown()
            if self._dispatcher is not None:
                self._dispatcher.close()
            await self._server.stop(grace)
            self._server = None
            for api_service in self.api_services:
                await api_service.stop()
            self.api_services.clear()
            await self._agents.close()
        await self.authorization.stop()
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


async def serve(
    data_dir: pathlib.Path,
    listen: str,
    *,
    store_name: str = "sqlite",
    store_options: dict[str, Any] | None = None,
    controllers: str | None = "*",
    leader_elect: bool = True,
    node_monitor_grace_period: float = 40.0,
    terminated_pod_gc_threshold: int = 12500,
    controller_options: Mapping[str, Any] | None = None,
    scheduler_config: Any = None,
    services: ServiceAllocator | None = None,
    lease_duration: float = 15.0,
    renew_deadline: float = 10.0,
    retry_period: float = 2.0,
    http_listen: str = "",
    insecure: bool = False,
    tls_sans: tuple[str, ...] = (),
    pki_dir: pathlib.Path | None = None,
    audit_log: pathlib.Path | None = None,
    encryption_key: pathlib.Path | None = None,
    join_token_ttl: float | None = DEFAULT_JOIN_TOKEN_SECONDS,
    limits: RequestLimits | None = None,
    connections: ConnectionLimits | None = None,
    advertise_address: str = "",
    cluster_dns: str = "",
    metrics: bool = True,
    service_options: dict[str, Any] | None = None,
    http_servers: Mapping[str, str] | None = None,
    stop: asyncio.Event | None = None,
) -> None:
    """Run until SIGTERM or SIGINT (or ``stop`` is set), then drain and
    close the store.

    Secure unless ``insecure``: TLS from the cluster's own CA (made on first
    start in ``pki_dir``, default ``DATA/pki``), every request authenticated;
    ``admin.conf`` carries the CA and an admin certificate, ``join-token``
    what agents join with.

    The control plane (scheduler, controllers) runs in this process too,
    through a client whose channel is in process (the same interceptors and
    handlers as a network call, without the loopback connection);
    ``controllers="-"`` runs none of it; ``controller_options`` reach the
    controllers' factories (``horizontal_pod_autoscaler_sync_period``).
    With ``http_listen`` it keeps the
    ``kubernetes`` Service pointing at the gateway (``advertise_address``,
    else the gateway's listen address); with ``cluster_dns`` (an IP) the
    ``kube-dns`` Service in ``kube-system`` at that ClusterIP.

    ``http_listen`` runs the HTTP server ``gateway``, ``http_servers`` (name
    -> listen address) others that plugins offer (``register_http_servers``);
    :class:`~shoal.apiserver.httpservers.HTTPServerError` before anything
    starts if a plugin offering one is not loaded."""
    from shoal.controlplane import ControlPlane, ControlPlaneOptions, select_controllers

    chosen = select_controllers(plugin_manager.controllers().names(), controllers)
    wanted_http = httpservers.wanted(http_listen, http_servers)
    http_factories = httpservers.factories(wanted_http)
    if insecure:
        check_insecure_listen(listen)
    open_files, _ = raise_open_files_limit()  # every connection is a descriptor
    connections = (connections or ConnectionLimits()).within(open_files)
    quiet_accept_errors(asyncio.get_running_loop())
    private_data_dir(data_dir)  # umask 077, and a data dir only this user reads
    if pki_dir is not None:
        private_data_dir(pki_dir)
    listen_host = listen.rsplit(":", 1)[0]
    services = services or ServiceAllocator()
    advertised = gateway_address(http_listen, advertise_address)
    sans = serving_sans(services.kubernetes_ip, advertised, tls_sans)
    security = None if insecure else _load_security(pki_dir or data_dir / "pki", listen_host, sans)
    store = encrypting(  # Secret values are AES-GCM ciphertext in the store
        open_store(store_name, data_dir, store_options),
        encryption_key or data_dir / "encryption.key",
    )
    server = APIServer(
        store,
        audit=audit_log or data_dir / "audit.log",
        store_name=store_name,
        admission=admission_chain(),
        services=services,
        security=security,
        limits=limits,
        connections=connections,
        metrics=metrics,
        service_options=service_options,
    )
    port = await server.start(listen)
    host = listen_host or "127.0.0.1"
    if host in ("0.0.0.0", "[::]", "::"):
        host = "127.0.0.1"
    admin = data_dir / "admin.conf"
    if listening.api_process() in (None, 0):  # of --api-processes N, the first writes them
        if security is not None:
            join = data_dir / "join-token"
            security.ensure_join_token(join, join_token_ttl)
            log.info("join token written", path=str(join), hint="shoal agent --token $(cat PATH)")
        write_admin_config(admin, f"{host}:{port}", security)
        log.info("admin config written", path=str(admin), hint=f"export SHOAL_CONFIG={admin}")
    # The control plane calls in process; HTTP servers (exec, attach and
    # port-forward streams among their calls) over the network.
    client = _controlplane_client(f"{host}:{port}", security, server.in_process_channel())
    http_client = _controlplane_client(f"{host}:{port}", security)
    renewal = asyncio.create_task(security.renew_periodically()) if security else None
    options = ControlPlaneOptions(
        lease_duration=lease_duration,
        renew_deadline=renew_deadline,
        retry_period=retry_period,
        node_monitor_grace_period=node_monitor_grace_period,
        terminated_pod_gc_threshold=terminated_pod_gc_threshold,
        extra={**_control_plane_extra(scheduler_config, security), **(controller_options or {})},
    )
    control_plane = ControlPlane(client, chosen, leader_elect=leader_elect, options=options)
    control_plane.start()
    http = await httpservers.start(
        wanted_http,
        http_factories,
        lambda address: HTTPServerContext(
            http_client, address, admin, security, server.limits, server.connections
        ),
    )
    gateway = http.get(httpservers.GATEWAY)
    kubernetes_service = (
        _keep_kubernetes_service(client, services, advertised, httpservers.port(gateway))
        if gateway is not None
        else None
    )
    kube_dns = _keep_kube_dns_service(client, cluster_dns) if cluster_dns else None
    stop = stop if stop is not None else asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)
    log.info("stopping")
    await control_plane.stop()  # first, so leases are released while the API still answers
    for keeper in (kubernetes_service, kube_dns):
        if keeper is not None:
            keeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await keeper
    if renewal is not None:
        renewal.cancel()
    await httpservers.stop(http)
    await client.close()
    await http_client.close()
    await server.stop()


def in_cluster_names(cluster_ip: str) -> tuple[str, ...]:
    """What pods call the API server: the kubernetes Service's ClusterIP and
    names (the serving certificate names them all, as Kubernetes')."""
    return (
        cluster_ip,
        "kubernetes",
        "kubernetes.default",
        "kubernetes.default.svc",
        "kubernetes.default.svc.cluster.local",
    )


def gateway_address(http_listen: str, advertise: str = "") -> str:
    """The address the kubernetes Endpoints give for the gateway ("" without one)."""
    from shoal.apiserver.kubernetes_service import advertise_address

    return advertise_address(http_listen.rsplit(":", 1)[0], advertise) if http_listen else ""


def serving_sans(cluster_ip: str, advertised: str, tls_sans: tuple[str, ...]) -> tuple[str, ...]:
    """Names the serving certificate needs beyond the listen address: what
    pods call the API (the kubernetes Service's ClusterIP and names, or,
    where ClusterIPs are not routed, the advertised address) and --tls-san."""
    return (*in_cluster_names(cluster_ip), *([advertised] if advertised else []), *tls_sans)


def _keep_kubernetes_service(
    client: Any, services: ServiceAllocator, address: str, port: int
) -> asyncio.Task[None]:
    from shoal.apiserver.kubernetes_service import KubernetesServiceReconciler

    log.info("keeping the kubernetes service", endpoint=f"{address}:{port}")
    reconciler = KubernetesServiceReconciler(
        client, cluster_ip=services.kubernetes_ip, address=address, port=port
    )
    return asyncio.create_task(reconciler.run(), name="kubernetes-service")


def _keep_kube_dns_service(client: Any, cluster_ip: str) -> asyncio.Task[None]:
    from shoal.apiserver.kube_dns_service import KubeDNSServiceReconciler

    reconciler = KubeDNSServiceReconciler(client, cluster_ip=cluster_ip)
    return asyncio.create_task(reconciler.run(), name="kube-dns-service")


def _control_plane_extra(scheduler_config: Any, security: ServerSecurity | None) -> dict[str, Any]:
    """What controllers get beside the client: the scheduler's profiles, and
    the CA root-ca-cert-publisher puts in every namespace."""
    extra: dict[str, Any] = {}
    if scheduler_config:
        extra["scheduler_config"] = scheduler_config
    if security is not None:
        extra["root_ca_pem"] = security.pki.ca_pem
    return extra


def _load_security(pki_dir: pathlib.Path, host: str, sans: tuple[str, ...]) -> ServerSecurity:
    from shoal import pki

    return ServerSecurity.load(pki_dir, pki.serving_names(host, sans))


def _controlplane_client(address: str, security: ServerSecurity | None, channel: Any = None) -> Any:
    """Scheduler and controllers talk to the API as system:shoal-controlplane;
    over ``channel`` when given (in process), else to ``address``."""
    from shoal.client import Client
    from shoal.client.channel import auth_metadata

    if security is None:
        return Client(address, channel=channel)
    pair = security.pki.ensure("controlplane")
    cfg = config.ClientConfig(
        address, ca_data=security.pki.ca_pem, cert_data=pair.cert_pem, key_data=pair.key_pem
    )
    if channel is None:
        return Client.for_config(cfg)
    return Client(address, channel=channel, metadata=auth_metadata(cfg))
