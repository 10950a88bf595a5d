"""Built-in plugin: the Podman runtime (podman-py against the Podman service
socket, calls in a thread pool).

A pod sandbox is a native Podman pod (its infra container runs shoal's
pause image and holds the namespaces); containers are created in the pod.
Names, labels, semantics and errors are the Docker runtime's, so ``podman
ps`` shows ``k8s_<container>_<pod>_<ns>_<uid>_<attempt>``. The service is
started (``podman system service``) when none answers.

Options: ``url`` (default ``CONTAINER_HOST`` or the well-known socket),
``node_name``, ``pause_image``, ``start_service`` (default true).
"""

from __future__ import annotations

import contextlib
import math
import os
from collections.abc import AsyncIterator
from typing import Any

from shoal import hookimpl
from shoal.plugins.runtimes import engine
from shoal.plugins.runtimes.engine_http import Endpoint
from shoal.plugins.runtimes.engine_stats import libpod_stats
from shoal.plugins.runtimes.engine_streams import EngineExecSession, EngineStreams
from shoal.plugins.runtimes.images import PAUSE_IMAGE
from shoal.plugins.runtimes.podman_service import connect, default_socket_url
from shoal.plugins.runtimes.sdk_runtime import SDKRuntime
from shoal.plugins.runtimes.threads import SDKPool
from shoal.registry import Registry
from shoal.runtime import (
    LABEL_MANAGED,
    ContainerConfig,
    ContainerNotFound,
    ContainerStatus,
    ExecResult,
    PodSandboxConfig,
    PodSandboxStatus,
    ResourceUsage,
    RuntimeFailure,
)

API_PREFIX = "/v4.0.0/libpod"
SANDBOX_STOP_TIMEOUT = 2


class PodmanRuntime(SDKRuntime):
    name = "podman"

    @staticmethod
    def translate(call: Any) -> Any:
        return _translated(call)

    invalid_image_markers = ("invalid reference format", "normalizing")

    def __init__(self, options: dict[str, Any] | None = None) -> None:
        opts = dict(options or {})
        super().__init__(SDKPool("podman"), str(opts.get("pause_image", PAUSE_IMAGE)))
        self.url = str(opts.get("url") or default_socket_url())
        self.node = str(opts.get("node_name", ""))
        self.start_service = bool(opts.get("start_service", True))
        self._streams = EngineStreams(Endpoint(self.url, API_PREFIX))

    # -- plumbing ---------------------------------------------------------------

    def _sdk(self) -> Any:
        if self._client is None:
            self._client = connect(self.url, start=self.start_service)
        return self._client

    # -- images -----------------------------------------------------------------

    async def pod_network_gateway(self) -> str:
        return str(await self._call(_bridge_gateway))

    async def load_image(self, tar_path: str) -> list[str]:
        def load(client: Any) -> list[str]:
            return [tag for image in client.images.load(file_path=tar_path) for tag in image.tags]

        return list(await self._call(load))

    # -- pod sandboxes ------------------------------------------------------------

    async def run_pod_sandbox(self, config: PodSandboxConfig) -> str:
        await self._ensure_pause_image()
        spec = _pod_spec(config, self.node, self.pause_image)
        pod = await self._create_pod(spec)
        try:
            await self._call(lambda c: pod.start())
        except RuntimeFailure as exc:
            await self._call(_remove_pod, pod.id)
            message = f"starting the pod's infra container: {exc}"
            raise RuntimeFailure(message, "RunPodSandboxError") from None
        return str(pod.id)

    async def _create_pod(self, spec: dict[str, Any]) -> Any:
        # A leftover pod of the same name (an agent that died between create
        # and record) is removed first, as the Docker runtime does.
        with contextlib.suppress(ContainerNotFound):
            await self._call(_remove_pod, spec["name"])
        return await self._call(lambda c: c.pods.create(**spec))

    async def stop_pod_sandbox(self, sandbox_id: str) -> None:
        for container in await self.list_containers(sandbox_id):
            await self.stop_container(container.id, 0)
        # Stopping the infra container itself: Podman 4.3's pod stop leaves it
        # running once the pod is "Degraded" (some containers exited).
        infra = await self._call(lambda c: c.pods.get(sandbox_id).attrs["InfraContainerID"])
        await self.stop_container(infra, SANDBOX_STOP_TIMEOUT)

    async def remove_pod_sandbox(self, sandbox_id: str) -> None:
        with contextlib.suppress(ContainerNotFound):  # idempotent, as in the CRI
            await self._call(_remove_pod, sandbox_id)

    async def pod_sandbox_status(self, sandbox_id: str) -> PodSandboxStatus:
        return await self._call(_pod_status, sandbox_id)

    async def list_pod_sandboxes(self) -> list[PodSandboxStatus]:
        def list_pods(client: Any) -> list[PodSandboxStatus]:
            pods = client.pods.list(filters={"label": f"{LABEL_MANAGED}=true"})
            wanted = _selector(engine.managed_filter(engine.TYPE_SANDBOX, self.node))
            return [_pod_status(client, p.id) for p in pods if _matches(p.attrs, wanted)]

        return list(await self._call(list_pods))

    # -- containers -------------------------------------------------------------

    async def create_container(
        self, sandbox_id: str, config: ContainerConfig, sandbox: PodSandboxConfig
    ) -> str:
        status = await self.pod_sandbox_status(sandbox_id)
        if status.state != "ready":
            raise RuntimeFailure(f"pod sandbox {sandbox_id} is not ready", "CreateContainerError")
        kwargs = _container_create_args(sandbox_id, config, sandbox, self.node)
        with contextlib.suppress(ContainerNotFound):
            await self._call(_remove_container, kwargs["name"])
        try:
            container = await self._call(_create_container, kwargs)
        except RuntimeFailure as exc:
            raise RuntimeFailure(str(exc), "CreateContainerError") from None
        return str(container.id)

    async def start_container(self, container_id: str) -> None:
        try:
            await self._call(lambda c: c.containers.get(container_id).start())
        except ContainerNotFound:
            raise
        except RuntimeFailure as exc:
            raise RuntimeFailure(str(exc), "RunContainerError") from None

    async def stop_container(self, container_id: str, timeout: float) -> None:
        seconds = max(0, math.ceil(timeout))
        await self._streams.endpoint.call(
            "POST", f"/containers/{container_id}/stop", {"timeout": seconds}
        )

    async def remove_container(self, container_id: str) -> None:
        with contextlib.suppress(ContainerNotFound):
            await self._call(_remove_container, container_id)

    async def container_status(self, container_id: str) -> ContainerStatus:
        return await self._call(_container_status, container_id)

    async def list_containers(self, sandbox_id: str = "") -> list[ContainerStatus]:
        wanted = _selector(engine.managed_filter(engine.TYPE_CONTAINER, self.node))
        if sandbox_id:
            wanted[engine.LABEL_SANDBOX_ID] = sandbox_id

        def list_containers(client: Any) -> list[ContainerStatus]:
            found = client.containers.list(all=True, filters={"label": f"{LABEL_MANAGED}=true"})
            return [_container_status(client, c.id) for c in found if _matches(c.attrs, wanted)]

        return list(await self._call(list_containers))

    # -- streams ------------------------------------------------------------------

    async def logs(
        self, container_id: str, *, follow: bool = False, tail: int = -1, timestamps: bool = False
    ) -> AsyncIterator[bytes]:
        await self._call(lambda c: None)  # make sure the service runs
        async for chunk in self._streams.logs(
            container_id, follow=follow, tail=tail, timestamps=timestamps
        ):
            yield chunk

    async def container_stats(self, container_id: str) -> ResourceUsage:
        return await libpod_stats(self._streams.endpoint, container_id)

    async def exec_sync(self, container_id: str, command: list[str], timeout: float) -> ExecResult:
        await self._call(lambda c: None)
        return await self._streams.exec_sync(container_id, command, timeout)

    async def exec(
        self, container_id: str, command: list[str], *, stdin: bool, tty: bool
    ) -> EngineExecSession:
        await self._call(lambda c: None)
        return await self._streams.exec(container_id, command, stdin=stdin, tty=tty)

    async def attach(self, container_id: str, *, stdin: bool, tty: bool) -> EngineExecSession:
        await self._call(lambda c: None)
        return await self._streams.attach(container_id, stdin=stdin, tty=tty)


def _translated(call: Any) -> Any:
    from podman import errors

    try:
        return call()
    except (errors.NotFound, errors.ImageNotFound) as exc:
        raise ContainerNotFound(str(exc.explanation or exc)) from None
    except errors.APIError as exc:
        raise RuntimeFailure(str(exc.explanation or exc)) from None
    except errors.PodmanError as exc:
        raise RuntimeFailure(str(exc)) from None


def _remove_pod(client: Any, pod_id: str) -> None:
    # A forced removal in Podman stops with the 10 s grace first; the CRI's
    # removal is immediate, so kill before removing.
    pod = client.pods.get(pod_id)
    _kill(pod)
    pod.remove(force=True)


def _remove_container(client: Any, container_id: str) -> None:
    container = client.containers.get(container_id)
    _kill(container)
    container.remove(force=True, v=True)


def _kill(target: Any) -> None:
    from podman import errors

    with contextlib.suppress(errors.APIError):  # not running: nothing to kill
        target.kill(signal="SIGKILL")


def _create_container(client: Any, kwargs: dict[str, Any]) -> Any:
    for mount in kwargs["mounts"]:  # as Docker's binds do, make a missing host dir
        if not os.path.exists(mount["source"]):  # a file (hostPath type File) stays one
            os.makedirs(mount["source"], exist_ok=True)
    return client.containers.create(**kwargs)


def _pod_status(client: Any, pod_id: str) -> PodSandboxStatus:
    pod = client.pods.get(pod_id).attrs
    infra = client.containers.get(pod["InfraContainerID"]).attrs
    # The pod holds the labels; the infra container's state is the sandbox's.
    merged = {"Id": pod["Id"], "Created": pod.get("Created"), "State": infra.get("State")}
    merged["Config"] = {"Labels": pod.get("Labels") or {}}
    return engine.sandbox_status(merged, engine.bridge_ip(infra))


def _container_status(client: Any, container_id: str) -> ContainerStatus:
    attrs = client.containers.get(container_id).attrs
    return engine.container_status(attrs, image=attrs.get("ImageName", ""))


def _selector(filters: list[str]) -> dict[str, str]:
    return dict(item.split("=", 1) for item in filters)


def _matches(attrs: dict[str, Any], wanted: dict[str, str]) -> bool:
    # Podman 4.3 answers nothing when given several label filters at once,
    # so one goes to the engine and the rest are checked here.
    labels = attrs.get("Labels") or {}
    return all(labels.get(key) == value for key, value in wanted.items())


def _bridge_gateway(client: Any) -> str:
    for subnet in client.networks.get("podman").attrs.get("subnets") or []:
        if subnet.get("gateway"):
            return str(subnet["gateway"])
    return ""


def _pod_spec(config: PodSandboxConfig, node: str, pause_image: str) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "name": engine.sandbox_name(config),
        "labels": engine.sandbox_labels(config, node),
        "infra_image": pause_image,
        "infra_name": engine.sandbox_name(config) + "-infra",
        "portmappings": [
            {
                "container_port": m.container_port,
                "host_port": m.host_port,
                "protocol": m.protocol.lower(),
                "host_ip": m.host_ip,
            }
            for m in config.port_mappings
            if m.host_port
        ],
        "dns_server": config.dns_servers or None,
        "dns_search": config.dns_searches or None,
        "dns_option": config.dns_options or None,
        "hostadd": [f"{host}:{ip}" for host, ip in config.extra_hosts.items()] or None,
    }
    if config.host_network:
        spec["netns"] = {"nsmode": "host"}
    else:
        spec["hostname"] = (config.hostname or config.name)[:63]
    return {key: value for key, value in spec.items() if value is not None}


def _container_create_args(
    sandbox_id: str, config: ContainerConfig, sandbox: PodSandboxConfig, node: str
) -> dict[str, Any]:
    entrypoint, cmd = engine.entrypoint_and_cmd(config)
    kwargs: dict[str, Any] = {
        "image": config.image,
        "name": engine.container_name(config, sandbox),
        "pod": sandbox_id,
        "labels": engine.container_labels(config, sandbox, sandbox_id, node),
        "entrypoint": entrypoint,
        "command": cmd,
        "environment": dict(config.env),
        "working_dir": config.working_dir or None,
        "mounts": [
            {"type": "bind", "source": m.host_path, "target": m.container_path}
            | ({"read_only": True} if m.read_only else {})
            for m in config.mounts
        ],
        "tty": config.tty,
        "stdin_open": config.stdin,
    }
    if config.cpu_millis:  # podman-py ignores nano_cpus: quota per period, as the kubelet
        kwargs["cpu_period"] = engine.CPU_PERIOD_US
        kwargs["cpu_quota"] = engine.cpu_quota(config.cpu_millis)
    if config.memory_bytes:
        kwargs["mem_limit"] = config.memory_bytes
    return {key: value for key, value in kwargs.items() if value is not None}


def podman_runtime(options: dict[str, Any]) -> PodmanRuntime:
    return PodmanRuntime(options)


@hookimpl
def register_runtimes(registry: Registry[Any]) -> None:
    registry.register("podman", podman_runtime)
