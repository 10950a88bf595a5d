"""Built-in plugin: the Docker runtime (Docker SDK, calls in a thread pool).

A pod is a pause container (``k8s_POD_<pod>_<ns>_<uid>_<attempt>``) holding
the network and IPC namespaces, which the app containers
(``k8s_<container>_<pod>_<ns>_<uid>_<attempt>``) join with
``network_mode="container:<pause id>"``. Everything carries the
``shoal.runtime.LABEL_*`` labels so a restarted agent can adopt it. Logs and
exec go straight to the engine socket (``engine_streams``).

Options: ``url`` (default ``DOCKER_HOST`` or the local socket),
``node_name`` (labels and list filters), ``pause_image``.
"""

from __future__ import annotations

import contextlib
import ipaddress
import math
import os
from collections.abc import AsyncIterator
from typing import Any

from shoal import hookimpl
from shoal.plugins.runtimes import engine
from shoal.plugins.runtimes.engine_http import Endpoint
from shoal.plugins.runtimes.engine_stats import docker_stats
from shoal.plugins.runtimes.engine_streams import EngineExecSession, EngineStreams
from shoal.plugins.runtimes.images import PAUSE_IMAGE
from shoal.plugins.runtimes.sdk_runtime import SDKRuntime
from shoal.plugins.runtimes.threads import SDKPool
from shoal.registry import Registry
from shoal.runtime import (
    ContainerConfig,
    ContainerNotFound,
    ContainerStatus,
    ExecResult,
    PodSandboxConfig,
    PodSandboxStatus,
    ResourceUsage,
    RuntimeFailure,
)

DEFAULT_URL = "unix:///var/run/docker.sock"
SANDBOX_STOP_TIMEOUT = 2


class DockerRuntime(SDKRuntime):
    name = "docker"

    @staticmethod
    def translate(call: Any) -> Any:
        return _translated(call)

    def __init__(self, options: dict[str, Any] | None = None) -> None:
        opts = dict(options or {})
        super().__init__(SDKPool("docker"), str(opts.get("pause_image", PAUSE_IMAGE)))
        self.url = str(opts.get("url") or os.environ.get("DOCKER_HOST") or DEFAULT_URL)
        self.node = str(opts.get("node_name", ""))
        self._streams: EngineStreams | None = None

    # -- plumbing ---------------------------------------------------------------

    def _sdk(self) -> Any:
        if self._client is None:
            import docker

            self._client = docker.DockerClient(base_url=self.url, version="auto", timeout=120)
        return self._client

    async def _engine(self) -> EngineStreams:
        if self._streams is None:
            version = await self._call(lambda c: c.api.api_version)
            self._streams = EngineStreams(Endpoint(self.url, f"/v{version}"))
        return self._streams

    async def pod_network_gateway(self) -> str:
        return str(await self._call(_bridge_gateway))

    # -- images -----------------------------------------------------------------

    async def load_image(self, tar_path: str) -> list[str]:
        def load(client: Any) -> list[str]:
            with open(tar_path, "rb") as tar:
                return [tag for image in client.images.load(tar) for tag in image.tags]

        return list(await self._call(load))

    # -- pod sandboxes ------------------------------------------------------------

    async def run_pod_sandbox(self, config: PodSandboxConfig) -> str:
        await self._ensure_pause_image()
        kwargs = _sandbox_create_args(config, self.node, self.pause_image)
        container = await self._create_replacing(kwargs)
        try:
            await self._call(lambda c: c.api.start(container.id))
        except RuntimeFailure as exc:
            await self._call(_remove, container.id)
            message = f"starting the pause container: {exc}"
            raise RuntimeFailure(message, "RunPodSandboxError") from None
        return str(container.id)

    async def _create_replacing(self, kwargs: dict[str, Any]) -> Any:
        """Create; a leftover container with the same name (an agent that died
        between create and record) is removed first, as dockershim did."""
        try:
            return await self._call(lambda c: c.containers.create(**kwargs))
        except RuntimeFailure as exc:
            if "Conflict" not in str(exc) and "already in use" not in str(exc):
                raise
        await self._call(_remove, kwargs["name"])
        return await self._call(lambda c: c.containers.create(**kwargs))

    async def stop_pod_sandbox(self, sandbox_id: str) -> None:
        for container in await self.list_containers(sandbox_id):
            await self.stop_container(container.id, 0)
        await self.stop_container(sandbox_id, SANDBOX_STOP_TIMEOUT)

    async def remove_pod_sandbox(self, sandbox_id: str) -> None:
        for container in await self.list_containers(sandbox_id):
            await self.remove_container(container.id)
        await self.remove_container(sandbox_id)

    async def pod_sandbox_status(self, sandbox_id: str) -> PodSandboxStatus:
        attrs = await self._call(lambda c: c.api.inspect_container(sandbox_id))
        return _sandbox_status(attrs)

    async def list_pod_sandboxes(self) -> list[PodSandboxStatus]:
        filters = {"label": engine.managed_filter(engine.TYPE_SANDBOX, self.node)}
        found = await self._call(lambda c: c.containers.list(all=True, filters=filters))
        return [_sandbox_status(container.attrs) for container in found]

    # -- containers -------------------------------------------------------------

    async def create_container(
        self, sandbox_id: str, config: ContainerConfig, sandbox: PodSandboxConfig
    ) -> str:
        status = await self.pod_sandbox_status(sandbox_id)
        if status.state != "ready":
            raise RuntimeFailure(f"pod sandbox {sandbox_id} is not ready", "CreateContainerError")
        kwargs = _container_create_args(sandbox_id, config, sandbox, self.node)
        try:
            container = await self._create_replacing(kwargs)
        except RuntimeFailure as exc:
            raise RuntimeFailure(str(exc), "CreateContainerError") from None
        return str(container.id)

    async def start_container(self, container_id: str) -> None:
        try:
            await self._call(lambda c: c.api.start(container_id))
        except ContainerNotFound:
            raise
        except RuntimeFailure as exc:
            raise RuntimeFailure(str(exc), "RunContainerError") from None

    async def stop_container(self, container_id: str, timeout: float) -> None:
        seconds = max(0, math.ceil(timeout))
        await self._call(lambda c: c.api.stop(container_id, timeout=seconds))

    async def remove_container(self, container_id: str) -> None:
        await self._call(_remove, container_id)

    async def container_status(self, container_id: str) -> ContainerStatus:
        attrs = await self._call(lambda c: c.api.inspect_container(container_id))
        return engine.container_status(attrs)

    async def list_containers(self, sandbox_id: str = "") -> list[ContainerStatus]:
        labels = engine.managed_filter(engine.TYPE_CONTAINER, self.node)
        if sandbox_id:
            labels.append(f"{engine.LABEL_SANDBOX_ID}={sandbox_id}")
        found = await self._call(lambda c: c.containers.list(all=True, filters={"label": labels}))
        return [engine.container_status(container.attrs) for container in found]

    # -- streams ------------------------------------------------------------------

    async def logs(
        self, container_id: str, *, follow: bool = False, tail: int = -1, timestamps: bool = False
    ) -> AsyncIterator[bytes]:
        streams = await self._engine()
        async for chunk in streams.logs(
            container_id, follow=follow, tail=tail, timestamps=timestamps
        ):
            yield chunk

    async def container_stats(self, container_id: str) -> ResourceUsage:
        return await docker_stats((await self._engine()).endpoint, container_id)

    async def exec_sync(self, container_id: str, command: list[str], timeout: float) -> ExecResult:
        return await (await self._engine()).exec_sync(container_id, command, timeout)

    async def exec(
        self, container_id: str, command: list[str], *, stdin: bool, tty: bool
    ) -> EngineExecSession:
        return await (await self._engine()).exec(container_id, command, stdin=stdin, tty=tty)

    async def attach(self, container_id: str, *, stdin: bool, tty: bool) -> EngineExecSession:
        return await (await self._engine()).attach(container_id, stdin=stdin, tty=tty)


def _translated(call: Any) -> Any:
    import docker.errors

    try:
        return call()
    except docker.errors.NotFound as exc:
        raise ContainerNotFound(str(exc.explanation or exc)) from None
    except docker.errors.APIError as exc:
        raise RuntimeFailure(f"{exc.explanation or exc}" + _conflict(exc)) from None


def _conflict(exc: Any) -> str:
    response = getattr(exc, "response", None)
    return " (Conflict)" if response is not None and response.status_code == 409 else ""


def _remove(client: Any, container_id: str) -> None:
    import docker.errors

    with contextlib.suppress(docker.errors.NotFound):  # idempotent, as in the CRI
        client.api.remove_container(container_id, force=True, v=True)


def _bridge_gateway(client: Any) -> str:
    """The default bridge's gateway: IPAM's, else the subnet's first
    address (which Docker gives docker0 when IPAM names none)."""
    for config in client.networks.get("bridge").attrs.get("IPAM", {}).get("Config") or []:
        if config.get("Gateway"):
            return str(config["Gateway"])
        if config.get("Subnet") and ":" not in config["Subnet"]:
            return str(next(ipaddress.ip_network(config["Subnet"]).hosts()))
    return ""


def _sandbox_status(attrs: dict[str, Any]) -> PodSandboxStatus:
    return engine.sandbox_status(attrs, engine.bridge_ip(attrs))


def _sandbox_create_args(config: PodSandboxConfig, node: str, image: str) -> dict[str, Any]:
    kwargs: dict[str, Any] = {
        "image": image,
        "name": engine.sandbox_name(config),
        "labels": engine.sandbox_labels(config, node),
        "ipc_mode": "shareable",
        "dns": config.dns_servers or None,
        "dns_search": config.dns_searches or None,
        "dns_opt": config.dns_options or None,
        "extra_hosts": dict(config.extra_hosts) or None,
        "ports": _ports(config) or None,
    }
    if config.host_network:
        kwargs["network_mode"] = "host"
    else:
        kwargs["hostname"] = (config.hostname or config.name)[:63]
    return kwargs


def _ports(config: PodSandboxConfig) -> dict[str, Any]:
    ports: dict[str, Any] = {}
    for mapping in config.port_mappings:
        if mapping.host_port:  # Kubernetes publishes only hostPort mappings
            key = f"{mapping.container_port}/{mapping.protocol.lower()}"
            host = (mapping.host_ip, mapping.host_port) if mapping.host_ip else mapping.host_port
            ports[key] = host
    return ports


def _container_create_args(
    sandbox_id: str, config: ContainerConfig, sandbox: PodSandboxConfig, node: str
) -> dict[str, Any]:
    entrypoint, cmd = engine.entrypoint_and_cmd(config)
    kwargs: dict[str, Any] = {
        "image": config.image,
        "name": engine.container_name(config, sandbox),
        "labels": engine.container_labels(config, sandbox, sandbox_id, node),
        "entrypoint": entrypoint,
        "command": cmd,
        "environment": engine.env_list(config.env),
        "working_dir": config.working_dir or None,
        "network_mode": f"container:{sandbox_id}",
        "ipc_mode": f"container:{sandbox_id}",
        "volumes": [_bind(m.host_path, m.container_path, m.read_only) for m in config.mounts],
        "tty": config.tty,
        "stdin_open": config.stdin,
        # docker-py sets StdinOnce with stdin_open unless detach is asked
        "detach": not config.stdin_once,
    }
    if config.cpu_millis:
        kwargs["nano_cpus"] = engine.nano_cpus(config.cpu_millis)
    if config.memory_bytes:
        kwargs["mem_limit"] = config.memory_bytes
    return kwargs


def _bind(host: str, container: str, read_only: bool) -> str:
    return f"{host}:{container}:{'ro' if read_only else 'rw'}"


def docker_runtime(options: dict[str, Any]) -> DockerRuntime:
    return DockerRuntime(options)


@hookimpl
def register_runtimes(registry: Registry[Any]) -> None:
    registry.register("docker", docker_runtime)
