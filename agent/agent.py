"""The agent process: one node, or many hollow nodes, sharing one API
client, one pod informer, one Service informer and one stream server."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import structlog
from shoal import plugin_manager
from shoal.agent import hollow
from shoal.agent.kubelet import NodeAgent, Timing
from shoal.agent.metrics import DEFAULT_PORT as DEFAULT_METRICS_PORT
from shoal.agent.metrics import KubeletMetrics, serve_metrics
from shoal.agent.node import NodeFacts, ensure_lease_namespace, host_address, host_capacity
from shoal.agent.nodedns import PodDNS, start_node_dns
from shoal.agent.provisioner import LocalProvisioner
from shoal.agent.streams import StreamBackend, StreamTLS, serve_streams
from shoal.apiserver.kube_dns_service import NODE_LABEL as CLUSTER_DNS_LABEL
from shoal.client import Client, shared_informers
from shoal.config import ClientConfig
from shoal.runtime import Runtime

log = structlog.get_logger("agent")

DEFAULT_STREAM_LISTEN = "0.0.0.0:10250"  # the kubelet's port


@dataclass
class AgentOptions:
    server: str
    name: str
    runtime: str = "fake"
    hollow_nodes: int = 0  # 0: one node called `name`
    data_dir: Path = Path("~/.shoal/agent")
    cpu: str = ""  # "" : the host's
    memory: str = ""
    max_pods: int = 110
    node_ip: str = ""  # "": loopback for fake, else the host's address
    # "": 0.0.0.0:10250 for a real runtime (the kubelet's port), and a free
    # port on the node's address for the fake one, so several hollow-node
    # agents share a host; the Node reports the port it got.
    stream_listen: str = ""
    # Plain-HTTP /metrics: "" is 127.0.0.1:10255 for a real runtime (the
    # kubelet's read-only port; a free one if taken) and a free loopback port
    # for the fake one; "none" serves no metrics.
    metrics_listen: str = ""
    runtime_options: dict[str, Any] = field(default_factory=dict)
    timing: Timing = field(default_factory=Timing)
    labels: dict[str, str] = field(default_factory=dict)
    # Service proxy plugin (userspace, iptables) or "none"; hollow nodes never proxy.
    proxy_mode: str = "none"
    # How to reach the API server: its CA and our credentials (None: plain,
    # for an --insecure server). run_agent() fills it from a stored node
    # identity or by joining with join_token (agent/join.py).
    credentials: ClientConfig | None = None
    join_token: str = ""
    # Run the node's cluster DNS server (kubelet's --cluster-dns, served
    # node-locally) for the zone --cluster-domain; hollow nodes never do.
    cluster_dns: bool = False
    cluster_domain: str = "cluster.local"
    cluster_dns_port: int = 53
    # Where names outside the zone go; None: the host's resolv.conf
    # nameservers (tests point this at a stub on loopback).
    cluster_dns_upstreams: list[tuple[str, int]] | None = None


class Agent:
    def __init__(self, options: AgentOptions, *, runtimes: list[Runtime] | None = None) -> None:
        """``runtimes``: use these instead of making them from the plugin
        (a test restarting an agent over the same fake runtime)."""
        self.options = options
        creds = options.credentials
        self.client = Client.for_config(creds) if creds is not None else Client(options.server)
        self.nodes: dict[str, NodeAgent] = {}
        self._given_runtimes = runtimes
        selector = (
            f"spec.nodeName={options.name}" if not options.hollow_nodes else "spec.nodeName!="
        )
        # Shared with the service proxy in this process (one Service watch).
        informers = shared_informers(self.client)
        self.pod_informer = informers.for_kind("Pod", field_selector=selector)
        self.service_informer = informers.for_kind("Service")
        self._server: Any = None
        self.stream_port = 0
        self.kubelet_metrics = KubeletMetrics(self.nodes.values)
        self._metrics_runner: Any = None
        self.metrics_port = 0
        self.proxy: Any = None
        self._proxy_task: asyncio.Task[None] | None = None
        self.pod_dns = PodDNS(options.cluster_domain)
        self.dns: Any = None
        self.provisioner: LocalProvisioner | None = None
        self._provisioner_task: asyncio.Task[None] | None = None

    def node_names(self) -> list[str]:
        if not self.options.hollow_nodes:
            return [self.options.name]
        return hollow.node_names(self.options.name, self.options.hollow_nodes)

    def _runtime(self, index: int, name: str) -> Runtime:
        return self.kubelet_metrics.timed(self._make_runtime(index, name))  # type: ignore[no-any-return]

    def metrics_listen(self) -> str:
        """Where /metrics listens (see ``AgentOptions.metrics_listen``)."""
        o = self.options
        if o.metrics_listen:
            return o.metrics_listen
        return f"127.0.0.1:{0 if o.runtime == 'fake' else DEFAULT_METRICS_PORT}"

    def _make_runtime(self, index: int, name: str) -> Runtime:
        if self._given_runtimes is not None:
            return self._given_runtimes[index]
        factory = plugin_manager.runtimes().get(self.options.runtime)
        opts = dict(self.options.runtime_options)
        # Label and list by node, so two agents on one engine never adopt
        # (or remove as orphans) each other's pods.
        opts.setdefault("node_name", name)
        if self.options.hollow_nodes:
            opts.setdefault("pod_cidr", hollow.pod_cidr(index))
        return factory(opts)  # type: ignore[no-any-return]

    def _facts(self, name: str) -> NodeFacts:
        o = self.options
        host_cpu, host_memory = host_capacity()
        return NodeFacts(
            name=name,
            address=self.node_address(),
            cpu=o.cpu or host_cpu,
            memory=o.memory or host_memory,
            max_pods=o.max_pods,
            stream_port=self.stream_port,
            labels=dict(o.labels),
        )

    def node_address(self) -> str:
        """Where the API server reaches this node: ``--node-ip``, else the
        host's address (loopback for the fake runtime)."""
        o = self.options
        return o.node_ip or ("127.0.0.1" if o.runtime == "fake" else host_address())

    def stream_listen(self) -> str:
        """Where the stream server listens (see ``AgentOptions.stream_listen``)."""
        o = self.options
        if o.stream_listen:
            return o.stream_listen
        if o.runtime != "fake":
            return DEFAULT_STREAM_LISTEN
        address = self.node_address()  # where the API server will call
        return f"[{address}]:0" if ":" in address else f"{address}:0"

    def _stream_tls(self) -> StreamTLS | None:
        """The node's own certificate serves the stream port, and only the
        API server's client certificate is let in."""
        from shoal import auth, pki

        creds = self.options.credentials
        if creds is None or not (creds.cert_data and creds.ca_data):
            return None
        if (
            pki.identity(pki.load_cert(creds.cert_data))[0]
            != auth.NODE_USER_PREFIX + self.options.name
        ):
            return None  # not a node identity (hollow nodes on the config's credentials)
        return StreamTLS(creds.ca_data, creds.cert_data, creds.key_data)

    def node_handle(self, name: str) -> NodeAgent | None:
        return self.nodes.get(name)

    async def start(self) -> None:
        data_dir = self.options.data_dir.expanduser()
        self._server, self.stream_port = await serve_streams(
            StreamBackend(self.node_handle), self.stream_listen(), self._stream_tls()
        )
        if self.metrics_listen() != "none":
            self._metrics_runner, self.metrics_port = await serve_metrics(
                self.kubelet_metrics, self.metrics_listen()
            )
        await ensure_lease_namespace(self.client)
        for index, name in enumerate(self.node_names()):
            node_dir = data_dir / name if self.options.hollow_nodes else data_dir
            self.nodes[name] = NodeAgent(
                self.client,
                self._runtime(index, name),
                self._facts(name),
                node_dir,
                self.options.timing,
                self.pod_informer,
                self.service_informer,
                # only the userspace proxy proxies without routing ClusterIPs
                cluster_ips_routed=self.options.proxy_mode != "userspace",
                dns=self.pod_dns,
            )
        for node in self.nodes.values():
            node.pods.pod_start = self.kubelet_metrics.pod_start
        await self._start_dns()  # before any pod's sandbox, which names it
        await _bounded(50, [n.register() for n in self.nodes.values()])
        self.service_informer.start()
        self.pod_informer.add_handler(self._added, self._updated, self._deleted)
        self.pod_informer.start()
        await self.service_informer.wait_synced()
        await self.pod_informer.wait_synced()
        for node in self.nodes.values():
            node.pods.synced = True
            node.start()
        self._start_proxy()
        self._start_provisioner()
        log.info(
            "agent started",
            nodes=len(self.nodes),
            stream_port=self.stream_port,
            metrics_port=self.metrics_port,
        )

    async def _start_dns(self) -> None:
        o = self.options
        if not o.cluster_dns or o.hollow_nodes:
            return
        node = next(iter(self.nodes.values()))
        self.dns = await start_node_dns(
            self.client,
            node.runtime,
            node.facts.address,
            self.pod_dns,
            o.cluster_dns_port,
            o.cluster_dns_upstreams,
        )
        if self.dns is not None and node.facts.address in self.dns.listening:
            # the kube-dns Endpoints list the nodes carrying it
            node.facts.labels[CLUSTER_DNS_LABEL] = "true"

    def _start_proxy(self) -> None:
        mode = self.options.proxy_mode
        if mode in ("", "none") or self.options.hollow_nodes:
            return
        node = next(iter(self.nodes.values()))
        options = {"node_ip": node.facts.address, "node_name": self.options.name}
        self.proxy = plugin_manager.proxies().get(mode)(self.client, options)
        self._proxy_task = asyncio.create_task(self.proxy.run())

    def _start_provisioner(self) -> None:
        """The local-path provisioner for this agent's nodes (their data dirs)."""
        dirs = {name: node.data_dir for name, node in self.nodes.items()}
        self.provisioner = LocalProvisioner(self.client, dirs)
        self._provisioner_task = asyncio.create_task(self.provisioner.run())

    def _manager(self, pod: Any) -> Any:
        node = self.nodes.get(pod.spec.node_name)
        return node.pods if node is not None else None

    def _added(self, pod: Any) -> None:
        if (manager := self._manager(pod)) is not None:
            manager.pod_added(pod)

    def _updated(self, old: Any, pod: Any) -> None:
        if (manager := self._manager(pod)) is not None:
            manager.pod_updated(old, pod)

    def _deleted(self, pod: Any) -> None:
        if (manager := self._manager(pod)) is not None:
            manager.pod_deleted(pod)

    async def stop(self) -> None:
        """Stop managing; containers keep running (a restart adopts them)."""
        for task in (self._provisioner_task, self._proxy_task):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
        await self.pod_informer.stop()
        await self.service_informer.stop()
        if self.dns is not None:
            await self.dns.stop()
        await asyncio.gather(*(n.stop() for n in self.nodes.values()))
        if self._given_runtimes is None:  # ours to close (SDK clients, thread pools)
            await asyncio.gather(*(n.runtime.close() for n in self.nodes.values()))
        if self._server is not None:
            await self._server.stop(0)
        if self._metrics_runner is not None:
            await self._metrics_runner.cleanup()
        await self.client.close()


async def _bounded(limit: int, calls: list[Any]) -> None:
    gate = asyncio.Semaphore(limit)

    async def one(call: Any) -> None:
        async with gate:
            await call

    await asyncio.gather(*(one(c) for c in calls))


async def run_agent(options: AgentOptions, stop: asyncio.Event) -> None:
    """Run until ``stop`` is set; retry the first registration while the
    server is not up yet."""
    from shoal.hardening import private_agent_dir, raise_open_files_limit

    raise_open_files_limit()
    private_agent_dir(options.data_dir.expanduser())  # the node's key, pods' volumes
    options = await with_node_identity(options)
    agent = Agent(options)
    try:
        await agent.start()
        await stop.wait()
    finally:
        with contextlib.suppress(Exception):
            await agent.stop()


async def with_node_identity(options: AgentOptions) -> AgentOptions:
    """The options with the node's own identity as credentials: stored, or
    got now with the join token, or with the credentials the agent was given
    (an admin's). A node talks to the API server, and serves its stream port,
    as ``system:node:NAME``; without that identity the API server could not
    relay logs, exec or port-forward to it. Raises JoinError when none can be
    had. An --insecure cluster (no CA) and hollow nodes keep what they have."""
    import dataclasses

    from shoal.agent.join import is_node_identity, issue_with, node_identity, store_identity

    given = options.credentials
    if options.hollow_nodes or (given is not None and is_node_identity(given, options.name)):
        return options
    data_dir = options.data_dir.expanduser()
    ca = given.ca_data if given is not None else b""
    identity = await node_identity(data_dir, options.server, options.name, options.join_token, ca)
    if identity is None and given is not None and given.secure:
        identity = await issue_with(options.server, options.name, given)
        store_identity(data_dir, identity)
    if identity is None:
        return options
    log.info("running as the node's identity", user=f"system:node:{options.name}")
    return dataclasses.replace(options, credentials=identity.client_config(options.server))
