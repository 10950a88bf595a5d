"""``shoal server``: run the API server (the kernel) in the foreground."""

from __future__ import annotations

import pathlib
from typing import Any, TypedDict

import click
from shoal.ctl.daemonopts import (
    autoscaler_options,
    check_controllers,
    check_scheduler_config,
    control_plane_options,
    log_options,
)
from shoal.ctl.duration import Duration
from shoal.ctl.limitopts import request_limit_options
from shoal.ctl.retention import parse_retention, retention_option


@click.command("server")
@click.option(
    "--data-dir",
    default="~/.shoal/server",
    show_default=True,
    help="Where the store and the admin config live.",
)
@click.option(
    "--listen",
    default="127.0.0.1:6443",
    show_default=True,
    metavar="HOST:PORT",
    help="Address to serve gRPC on (port 0 picks a free one).",
)
@click.option(
    "--store",
    "store_name",
    default="sqlite",
    show_default=True,
    help="Store backend (a registered store plugin).",
)
@click.option(
    "--etcd-endpoints",
    default="",
    metavar="URL,...",
    help="etcd client URLs, with --store etcd (several: failover between members).",
)
@click.option("--etcd-prefix", default="/registry/", show_default=True, help="Key prefix in etcd.")
@click.option("--etcd-cafile", default="", metavar="FILE", help="CA bundle for etcd's TLS.")
@click.option("--etcd-certfile", default="", metavar="FILE", help="Client certificate for etcd.")
@click.option("--etcd-keyfile", default="", metavar="FILE", help="Client key for etcd.")
@log_options
@control_plane_options
@click.option(
    "--service-cluster-ip-range",
    default="10.96.0.0/12",
    show_default=True,
    metavar="CIDR",
    help="Range Service ClusterIPs are allocated from.",
)
@click.option(
    "--service-node-port-range",
    default="30000-32767",
    show_default=True,
    metavar="FIRST-LAST",
    help="Range NodePort Services get their node ports from.",
)
@click.option(
    "--leader-elect-lease-duration",
    type=Duration(),
    default="15s",
    show_default=True,
    help="How long a standby waits after the leader's last renewal before taking over.",
)
@click.option(
    "--leader-elect-renew-deadline",
    type=Duration(),
    default="10s",
    show_default=True,
    help="How long the leader keeps trying to renew before it gives up leading.",
)
@click.option(
    "--leader-elect-retry-period",
    type=Duration(),
    default="2s",
    show_default=True,
    help="How often candidates try to acquire or renew the Lease.",
)
@click.option(
    "--http-listen",
    default="",
    metavar="HOST:PORT",
    help="Also serve the Kubernetes REST API (for kubectl, curl) here; off by default. "
    "The HTTP server of the gateway plugin.",
)
@click.option(
    "--http-server",
    "http_servers",
    multiple=True,
    metavar="NAME=HOST:PORT",
    help="Also run the HTTP server NAME a plugin offers (register_http_servers) here (repeatable).",
)
@click.option(
    "--advertise-address",
    default="",
    metavar="IP",
    help="The address the kubernetes Service's Endpoints give pods for the REST API "
    "(default: the --http-listen address; for a wildcard, this host's).",
)
@click.option(
    "--cluster-dns",
    default="",
    metavar="IP",
    help="Keep the kube-dns Service in kube-system at this ClusterIP (shoal up: 10.96.0.10), "
    "its Endpoints the nodes whose agent runs --cluster-dns; off by default.",
)
@click.option(
    "--insecure",
    is_flag=True,
    help="Plain gRPC, no TLS, no authentication: every request is cluster admin. "
    "For experiments; refuses any --listen address but loopback.",
)
@click.option(
    "--tls-san",
    "tls_sans",
    multiple=True,
    metavar="NAME|IP",
    help="Another name or address for the serving certificate (repeatable).",
)
@click.option(
    "--pki-dir",
    default="",
    metavar="DIR",
    help="The CA and certificates (default DATA_DIR/pki); API servers sharing one etcd "
    "share one, so clients trust them all.",
)
@click.option(
    "--audit-log",
    default="",
    metavar="FILE",
    help="Where the audit log's JSON lines go (default DATA_DIR/audit.log).",
)
@click.option(
    "--encryption-key",
    default="",
    metavar="FILE",
    help="The AES key Secrets are encrypted with in the store (default "
    "DATA_DIR/encryption.key, made on first start); servers sharing one etcd share it.",
)
@click.option(
    "--join-token-ttl",
    type=Duration(),
    default="24h",
    show_default=True,
    help="Lifetime of the join token written to DATA_DIR/join-token (0: never expires); "
    "a new one is written at start when it has expired. More: `shoal token create`.",
)
@click.option(
    "--max-connections",
    type=click.IntRange(min=1),
    default=1000,
    show_default=True,
    help="Open connections each listener (gRPC, --http-listen) takes; beyond, new "
    "ones are closed at once. Lowered to fit the open files limit.",
)
@click.option(
    "--request-header-timeout",
    type=Duration(minimum=0.1),
    default="10s",
    show_default=True,
    help="A new connection must finish TLS and send its request headers (HTTP) or "
    "HTTP/2 preface (gRPC) this soon, or it is closed.",
)
@click.option(
    "--metric-resolution",
    type=Duration(minimum=0.1),
    default="15s",
    show_default=True,
    help="How often the metrics plugin scrapes every agent for CPU and memory "
    "(metrics.k8s.io, `shoal top`); usage is the rate over two scrapes.",
)
@click.option(
    "--metrics/--no-metrics",
    default=True,
    show_default=True,
    help="Count and time every request and store call for /metrics (Prometheus); "
    "--no-metrics only for a benchmark's baseline.",
)
@click.option(
    "--disable-plugins",
    default="",
    metavar="NAME,...",
    help="Plugins not to load (added to SHOAL_DISABLE_PLUGINS), e.g. metrics: no "
    "resource metrics API (the metrics-server add-on of `shoal up`).",
)
@click.option(
    "--api-processes",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="API server processes sharing the --listen (and --http-listen) port, for more "
    "than one core; more than 1 needs --store etcd. See docs/etcd.md.",
)
@request_limit_options
@retention_option
def server_command(
    data_dir: str,
    listen: str,
    store_name: str,
    etcd_endpoints: str,
    etcd_prefix: str,
    etcd_cafile: str,
    etcd_certfile: str,
    etcd_keyfile: str,
    log_format: str,
    log_level: str,
    controllers: str,
    leader_elect: bool,
    node_monitor_grace_period: float,
    terminated_pod_gc_threshold: int,
    scheduler_config: str,
    horizontal_pod_autoscaler_sync_period: float,
    horizontal_pod_autoscaler_downscale_stabilization: float,
    service_cluster_ip_range: str,
    service_node_port_range: str,
    leader_elect_lease_duration: float,
    leader_elect_renew_deadline: float,
    leader_elect_retry_period: float,
    http_listen: str,
    http_servers: tuple[str, ...],
    advertise_address: str,
    cluster_dns: str,
    insecure: bool,
    tls_sans: tuple[str, ...],
    pki_dir: str,
    audit_log: str,
    encryption_key: str,
    join_token_ttl: float,
    max_connections: int,
    request_header_timeout: float,
    metric_resolution: float,
    metrics: bool,
    disable_plugins: str,
    request_limits: Any,
    history_retention: str,
    api_processes: int,
) -> None:
    """Run the API server.

    Secure by default: on first start it makes its own CA and certificates
    under DATA_DIR/pki, writes DATA_DIR/admin.conf (the CA and an admin
    certificate, mode 0600) and DATA_DIR/join-token (for `shoal agent --token`).

    \b
    Examples:
      shoal server --data-dir ./data --listen 127.0.0.1:6443
      SHOAL_CONFIG=./data/admin.conf shoal version
      shoal server --store etcd --etcd-endpoints http://10.0.0.1:2379,http://10.0.0.2:2379
    """
    import asyncio

    from shoal import log
    from shoal.apiserver.connlimits import ConnectionLimits
    from shoal.apiserver.httpservers import HTTPServerError
    from shoal.apiserver.listen import ListenError
    from shoal.apiserver.server import serve
    from shoal.store import StoreError

    _disable_plugins(disable_plugins)  # before any plugin loads
    check_controllers(controllers)
    scheduler_profiles = check_scheduler_config(scheduler_config)
    _check_listen(http_listen)
    extra_http = _http_servers(http_servers)
    _check_insecure(insecure, listen, tls_sans, pki_dir)
    services = _service_allocator(service_cluster_ip_range, service_node_port_range)
    etcd = (etcd_endpoints, etcd_prefix, etcd_cafile, etcd_certfile, etcd_keyfile)
    store_options: dict[str, Any] = dict(_store_options(store_name, *etcd))
    retention = parse_retention(history_retention)
    if retention:
        store_options["history_retention"] = retention
    election = _leader_election(
        leader_elect_lease_duration, leader_elect_renew_deadline, leader_elect_retry_period
    )
    log.configure("apiserver", json=log_format == "json", level=log_level)
    if api_processes > 1:
        _run_api_processes(api_processes, store_name, listen, http_listen, data_dir)
    try:
        asyncio.run(
            serve(
                pathlib.Path(data_dir).expanduser(),
                listen,
                store_name=store_name,
                store_options=store_options,
                controllers=controllers,
                leader_elect=leader_elect,
                node_monitor_grace_period=node_monitor_grace_period,
                terminated_pod_gc_threshold=terminated_pod_gc_threshold,
                controller_options=autoscaler_options(
                    horizontal_pod_autoscaler_sync_period,
                    horizontal_pod_autoscaler_downscale_stabilization,
                ),
                scheduler_config=scheduler_profiles,
                services=services,
                http_listen=http_listen,
                http_servers=extra_http,
                advertise_address=_check_advertise(advertise_address),
                cluster_dns=_check_cluster_dns(cluster_dns, services),
                insecure=insecure,
                tls_sans=tls_sans,
                pki_dir=pathlib.Path(pki_dir).expanduser() if pki_dir else None,
                audit_log=_path(audit_log),
                encryption_key=_path(encryption_key),
                join_token_ttl=_join_token_ttl(join_token_ttl),
                limits=request_limits,
                connections=ConnectionLimits(max_connections, request_header_timeout),
                metrics=metrics,
                service_options={"metric_resolution": metric_resolution},
                **election,
            )
        )
    except HTTPServerError as err:
        raise click.ClickException(str(err)) from None
    except ListenError as err:
        raise click.ClickException(f"{err} (pick another address with --listen)") from None
    except (StoreError, ValueError) as err:
        raise click.ClickException(f"store {store_name}: {err}") from None


def _run_api_processes(
    count: int, store_name: str, listen: str, http_listen: str, data_dir: str
) -> None:
    """Never returns: exits with the children's status."""
    import sys

    from shoal.apiserver.listen import ListenError
    from shoal.ctl import apiprocesses

    if store_name != "etcd":
        raise click.UsageError(
            f"--api-processes {count} needs --store etcd: each API process is a whole "
            f"server on the store, and the {store_name} store is one process's file "
            "(one writer); run several API processes on etcd"
        )
    try:
        sys.exit(apiprocesses.run(count, sys.argv[1:], listen, http_listen, data_dir))
    except ListenError as err:
        raise click.ClickException(f"{err} (pick another address with --listen)") from None


def _disable_plugins(names: str) -> None:
    import os

    from shoal.plugin_manager import reset_plugin_manager

    if names.strip():
        already = os.environ.get("SHOAL_DISABLE_PLUGINS", "")
        os.environ["SHOAL_DISABLE_PLUGINS"] = ",".join(n for n in (already, names) if n.strip())
        reset_plugin_manager()


def _check_advertise(value: str) -> str:
    import ipaddress

    if value:
        try:
            ipaddress.ip_address(value)
        except ValueError:
            raise click.BadParameter(
                f'"{value}" is not an IP address', param_hint="'--advertise-address'"
            ) from None
    return value


def _check_cluster_dns(value: str, services: Any) -> str:
    """The kube-dns ClusterIP must be an address of the service range."""
    import ipaddress

    if not value:
        return ""
    try:
        ip = ipaddress.ip_address(value)
    except ValueError:
        raise click.BadParameter(
            f'"{value}" is not an IP address', param_hint="'--cluster-dns'"
        ) from None
    network = services.network if services is not None else None
    if network is not None and ip not in network:
        raise click.BadParameter(
            f'"{value}" is not in the service range {network}', param_hint="'--cluster-dns'"
        )
    return value


def _join_token_ttl(seconds: float) -> float | None:
    return None if seconds == 0 else seconds


def _path(value: str) -> pathlib.Path | None:
    return pathlib.Path(value).expanduser() if value else None


def _store_options(
    store: str, endpoints: str, prefix: str, cafile: str, certfile: str, keyfile: str
) -> dict[str, str]:
    if store != "etcd":
        if endpoints or cafile or certfile or keyfile:
            raise click.UsageError("--etcd-* options need --store etcd")
        return {}
    if not endpoints:
        raise click.BadParameter("--store etcd needs it", param_hint="'--etcd-endpoints'")
    if not prefix.startswith("/") or not prefix.endswith("/"):
        raise click.BadParameter("must start and end with '/'", param_hint="'--etcd-prefix'")
    files = {"cafile": cafile, "certfile": certfile, "keyfile": keyfile}
    return {"endpoints": endpoints, "prefix": prefix, **files}


class LeaderElection(TypedDict):
    lease_duration: float
    renew_deadline: float
    retry_period: float


def _leader_election(lease: float, renew: float, retry: float) -> LeaderElection:
    if not 0 < retry < renew < lease:
        raise click.UsageError(
            "leader election needs --leader-elect-retry-period < --leader-elect-renew-deadline"
            " < --leader-elect-lease-duration"
        )
    return {"lease_duration": lease, "renew_deadline": renew, "retry_period": retry}


def _check_listen(listen: str, flag: str = "--http-listen") -> None:
    if not listen:
        return
    from shoal.plugins.gateway import split_listen

    try:
        split_listen(listen)
    except ValueError as err:
        raise click.BadParameter(str(err), param_hint=f"'{flag}'") from None


def _http_servers(values: tuple[str, ...]) -> dict[str, str]:
    """``("name=HOST:PORT", ...)`` -> {name: HOST:PORT}."""
    servers: dict[str, str] = {}
    for value in values:
        name, sep, listen = value.partition("=")
        if not sep or not name.strip() or name.strip() in servers:
            raise click.BadParameter(
                f'"{value}": want NAME=HOST:PORT, each NAME once', param_hint="'--http-server'"
            )
        _check_listen(listen, "--http-server")
        servers[name.strip()] = listen
    return servers


def _check_insecure(insecure: bool, listen: str, sans: tuple[str, ...], pki_dir: str) -> None:
    if not insecure:
        return
    from shoal.apiserver.security import check_insecure_listen

    if sans or pki_dir:
        raise click.UsageError("--tls-san and --pki-dir have no use with --insecure")
    try:
        check_insecure_listen(listen)
    except ValueError as err:
        raise click.BadParameter(str(err), param_hint="'--listen'") from None


def _service_allocator(cluster_ip_range: str, node_port_range: str) -> Any:
    from shoal.apiserver.services import (
        ServiceAllocator,
        parse_cluster_ip_range,
        parse_port_range,
    )

    for parse, value, hint in (
        (parse_cluster_ip_range, cluster_ip_range, "'--service-cluster-ip-range'"),
        (parse_port_range, node_port_range, "'--service-node-port-range'"),
    ):
        try:
            parse(value)
        except ValueError as err:
            raise click.BadParameter(str(err), param_hint=hint) from None
    return ServiceAllocator(cluster_ip_range, node_port_range)
