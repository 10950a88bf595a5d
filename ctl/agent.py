"""``shoal agent``: run a node (or many hollow nodes) for the cluster."""

from __future__ import annotations

import pathlib
from typing import Any

import click
from shoal.ctl.duration import Duration


def _labels(pairs: tuple[str, ...]) -> dict[str, str]:
    labels = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise click.BadParameter(f'label "{pair}" is not KEY=VALUE', param_hint="--node-label")
        labels[key] = value
    return labels


@click.command("agent")
@click.option(
    "--server",
    "server_address",
    default="",
    metavar="HOST:PORT",
    help="API server (default: from the config).",
)
@click.option(
    "--config",
    "config_file",
    default=None,
    metavar="FILE",
    help="Client config to find the server in; with an admin's credentials (admin.conf) "
    "the agent gets its node certificate with them.",
)
@click.option(
    "--token",
    default="",
    envvar="SHOAL_JOIN_TOKEN",
    metavar="TOKEN",
    help="Join token (the server's DATA/join-token; env SHOAL_JOIN_TOKEN): the first start "
    "gets the node its own certificate with it.",
)
@click.option(
    "--token-file",
    default="",
    metavar="FILE",
    help="Read the join token from this file.",
)
@click.option("--name", default="", help="Node name (default: this host's name).")
@click.option(
    "--runtime",
    default="docker",
    show_default=True,
    help="Container runtime plugin: docker, podman or fake.",
)
@click.option(
    "--hollow-nodes",
    default=0,
    type=click.IntRange(0, 32768),
    help="With --runtime fake: run this many nodes named NAME-0000...",
)
@click.option(
    "--data-dir",
    default="~/.shoal/agent",
    show_default=True,
    help="Where pod volumes and loaded images live.",
)
@click.option("--cpu", default="", help="CPU capacity to report (default: the host's).")
@click.option("--memory", default="", help="Memory capacity to report (default: the host's).")
@click.option("--max-pods", default=110, show_default=True, type=click.IntRange(1))
@click.option("--node-ip", default="", help="Address the API server reaches this node on.")
@click.option(
    "--stream-listen",
    default="",
    metavar="HOST:PORT",
    help="Where the agent serves logs/exec/port-forward to the API server "
    "(default: 0.0.0.0:10250; with --runtime fake a free port on --node-ip).",
)
@click.option(
    "--metrics-listen",
    default="",
    metavar="HOST:PORT",
    help="Where the agent serves /metrics, plain HTTP (default: 127.0.0.1:10255, "
    "a free port if taken; with --runtime fake a free loopback port; none: off).",
)
@click.option("--node-label", "node_labels", multiple=True, metavar="KEY=VALUE")
@click.option(
    "--proxy-mode",
    type=click.Choice(["auto", "userspace", "iptables", "none"]),
    default="auto",
    show_default=True,
    help="Service proxy: iptables makes ClusterIPs reachable (needs root); auto picks "
    "iptables where it may, else userspace (NodePorts only).",
)
@click.option(
    "--cluster-dns/--no-cluster-dns",
    default=False,
    show_default=True,
    help="Serve cluster DNS on this node (port 53 of the pods' bridge address and of "
    "--node-ip) and point pods' resolv.conf at it.",
)
@click.option(
    "--cluster-domain",
    default="cluster.local",
    show_default=True,
    callback=lambda _ctx, _param, value: _cluster_domain(value),
    help="The DNS zone of Services (<svc>.<namespace>.svc.<zone>).",
)
@click.option(
    "--lease-interval",
    type=Duration(minimum=0.01),
    default="10s",
    show_default=True,
    help="How often the node renews its Lease (e.g. 10s, 500ms).",
)
@click.option(
    "--log-format", type=click.Choice(["json", "console"]), default="json", show_default=True
)
@click.option("--log-level", default="info", show_default=True)
@click.pass_obj
def agent_command(ctx: Any, **o: Any) -> None:
    """Run the node agent: register the node and run the pods bound to it.

    \b
    Examples:
      shoal agent --server 127.0.0.1:6443 --runtime docker
      shoal agent --runtime fake --hollow-nodes 200 --name hollow
    """
    import asyncio
    import signal
    import socket

    from shoal import log
    from shoal.agent.agent import AgentOptions, run_agent
    from shoal.agent.kubelet import Timing

    if o["hollow_nodes"] and o["runtime"] != "fake":
        raise click.UsageError("--hollow-nodes needs --runtime fake")
    credentials, token = _credentials(ctx, o)
    server = o["server_address"] or ctx.server or (credentials.server if credentials else "")
    if not server:
        raise click.UsageError("no API server: give --server or --config")
    options = AgentOptions(
        server=server,
        credentials=credentials,
        join_token=token,
        name=o["name"] or ("hollow" if o["hollow_nodes"] else socket.gethostname().lower()),
        runtime=o["runtime"],
        hollow_nodes=o["hollow_nodes"],
        data_dir=pathlib.Path(o["data_dir"]).expanduser(),
        cpu=o["cpu"],
        memory=o["memory"],
        max_pods=o["max_pods"],
        node_ip=o["node_ip"],
        stream_listen=o["stream_listen"],
        metrics_listen=o["metrics_listen"],
        labels=_labels(o["node_labels"]),
        timing=Timing(lease_interval=o["lease_interval"]),
        proxy_mode=_proxy_mode(o["proxy_mode"]),
        cluster_dns=o["cluster_dns"],
        cluster_domain=o["cluster_domain"],
    )
    from shoal import plugin_manager
    from shoal.registry import RegistryError

    try:
        plugin_manager.runtimes().get(options.runtime)
    except RegistryError as err:
        raise click.BadParameter(str(err), param_hint="--runtime") from None
    log.configure("agent", json=o["log_format"] == "json", level=o["log_level"])

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await run_agent(options, stop)

    from shoal.agent.join import JoinError
    from shoal.agent.streams import StreamListenError

    try:
        asyncio.run(main())
    except (JoinError, StreamListenError) as err:
        raise click.ClickException(str(err)) from None


def _credentials(ctx: Any, o: dict[str, Any]) -> tuple[Any, str]:
    """(client config or None, join token). A config whose user holds a join
    token (``<id>.<secret>``) is a bootstrap config: join with it."""
    import dataclasses

    from shoal.config import ConfigError, config_path, load

    token = o["token"]
    if o["token_file"]:
        try:
            token = pathlib.Path(o["token_file"]).expanduser().read_text().strip()
        except OSError as err:
            raise click.BadParameter(str(err), param_hint="--token-file") from None
    path = o["config_file"] or ctx.config_path
    explicit_server = o["server_address"] or ctx.server
    if not path and (token or explicit_server or not config_path(None).exists()):
        return None, token
    try:
        cfg = load(path)
    except ConfigError as err:
        raise click.ClickException(str(err)) from None
    # A config's static token is a join token, unless the config has a
    # certificate beside it (admin.conf: its token is the admin's).
    if cfg.token and cfg.token.count(".") == 1 and not token and not cfg.cert_data:
        token, cfg = cfg.token, dataclasses.replace(cfg, token="")
    return cfg, token


def _cluster_domain(zone: str) -> str:
    import re

    zone = zone.strip().rstrip(".").lower()
    label = r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?"
    if not re.fullmatch(rf"{label}(\.{label})*", zone):
        raise click.BadParameter(
            f'"{zone}": a DNS-1123 subdomain must consist of lower case alphanumeric '
            "characters, '-' or '.'",
            param_hint="--cluster-domain",
        )
    return zone


def _proxy_mode(mode: str) -> str:
    from shoal.plugins.proxy.rules import unavailable_reason
    from shoal.plugins.proxy.serviceproxy import auto_mode

    if mode == "auto":
        return auto_mode()
    if mode == "iptables" and (reason := unavailable_reason()) is not None:
        raise click.BadParameter(
            f"iptables mode cannot run here: {reason}", param_hint="--proxy-mode"
        )
    return mode
