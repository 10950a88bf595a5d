"""``shoal port-forward pod/NAME|svc/NAME [LOCAL:]REMOTE...``: listen on a
local port and carry each connection through the API server to the pod."""

from __future__ import annotations

import asyncio
import contextlib
from typing import TYPE_CHECKING, Any

import click
from shoal.ctl.resources import with_client

if TYPE_CHECKING:
    from shoal.client import Client


def parse_ports(specs: tuple[str, ...]) -> list[tuple[int, str]]:
    """``8080:80`` -> (8080, "80"); ``80`` -> (80, "80"); ``:80`` -> (0, "80")."""
    pairs = []
    for spec in specs:
        local, _, remote = spec.rpartition(":") if ":" in spec else (spec, "", spec)
        try:
            pairs.append((int(local or 0), remote))
        except ValueError:
            raise click.BadParameter(f'invalid port "{spec}"') from None
        if not remote:
            raise click.BadParameter(f'invalid port "{spec}"')
    return pairs


def _container_port(pod: Any, name: str) -> int:
    for container in pod.spec.containers:
        for port in container.ports:
            if port.name == name:
                return int(port.container_port)
    raise click.ClickException(f"pod {pod.metadata.name} has no port named {name}")


def service_target(service: Any, port: str) -> Any:
    """The target port (number or name) behind a service port."""
    for sp in service.spec.ports:
        if str(sp.port) == port or sp.name == port:
            target = sp.target_port
            if target.HasField("string_value"):
                return target.string_value
            return int(target.number_value) if target.HasField("number_value") else sp.port
    raise click.ClickException(f"service {service.metadata.name} does not have port {port}")


async def resolve(
    client: Client, namespace: str, target: str, ports: list[tuple[int, str]]
) -> tuple[str, list[tuple[int, int]]]:
    """(pod name, [(local, pod port)]) for ``pod/x`` or ``svc/x``."""
    kind, _, name = target.rpartition("/")
    if kind in ("", "pod", "pods", "po"):
        pod = await client.get("Pod", name, namespace)
        remote = [(lp, int(rp) if rp.isdigit() else _container_port(pod, rp)) for lp, rp in ports]
        return name, remote
    if kind not in ("svc", "service", "services"):
        raise click.UsageError(f"port-forward needs pod/NAME or svc/NAME, not {target}")
    service = await client.get("Service", name, namespace)
    selector = ",".join(f"{k}={v}" for k, v in sorted(service.spec.selector.items()))
    pods = (await client.list("Pod", namespace, label_selector=selector)).items
    running = [p for p in pods if p.status.phase == "Running"]
    if not selector or not running:
        raise click.ClickException(f"no running pod behind service {name}")
    pod = running[0]
    remote = []
    for lp, rp in ports:
        chosen = service_target(service, rp)
        remote.append((lp, chosen if isinstance(chosen, int) else _container_port(pod, chosen)))
    return pod.metadata.name, remote


async def forward(
    client: Client,
    namespace: str,
    pod: str,
    port: int,
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
) -> None:
    """Carry one local connection to ``port`` in the pod, both ways."""
    from shoal.api.v1 import streams_pb2 as s
    from shoal.api.v1 import streams_pb2_grpc

    async def frames() -> Any:
        ref = s.ContainerRef(namespace=namespace, pod=pod)
        yield s.PortForwardFrame(start=s.PortForwardStart(ref=ref, port=port))
        while data := await reader.read(65536):
            yield s.PortForwardFrame(data=data)
        yield s.PortForwardFrame(close=True)

    call = streams_pb2_grpc.StreamsStub(client.channel).PortForward(frames())
    try:
        async for frame in call:
            if frame.WhichOneof("frame") == "data":
                writer.write(frame.data)
                await writer.drain()
    except Exception as failure:  # one failed connection must not stop the others
        from shoal.ctl.streams import _rpc_error

        click.echo(f"error forwarding port {port}: {_rpc_error(failure)}", err=True)
    finally:
        writer.close()


async def serve(
    client: Client,
    namespace: str,
    pod: str,
    pairs: list[tuple[int, int]],
    address: str,
    stop: asyncio.Event,
    ready: asyncio.Future[list[int]] | None = None,
) -> None:
    """Listen until ``stop``; ``ready`` gets the bound local ports."""
    servers = []
    for local, remote in pairs:

        async def handle(
            r: asyncio.StreamReader,
            w: asyncio.StreamWriter,
            remote: int = remote,
            local: int = local,
        ) -> None:
            click.echo(f"Handling connection for {local}")
            await forward(client, namespace, pod, remote, r, w)

        server = await asyncio.start_server(handle, address, local)
        bound = server.sockets[0].getsockname()[1]
        click.echo(f"Forwarding from {address}:{bound} -> {remote}")
        servers.append(server)
    if ready is not None:
        ready.set_result([s.sockets[0].getsockname()[1] for s in servers])
    await stop.wait()
    for server in servers:
        server.close()


@click.command("port-forward")
@click.argument("target")
@click.argument("ports", nargs=-1, required=True)
@click.option("--address", default="127.0.0.1", show_default=True, help="Local address to bind.")
@click.pass_obj
def port_forward_command(ctx: Any, target: str, ports: tuple[str, ...], address: str) -> None:
    """Forward local ports to a pod (or a pod behind a service).

    \b
    Examples:
      shoal port-forward pod/web 8080:80
      shoal port-forward svc/web 8080:http
    """
    pairs = parse_ports(ports)

    async def work(client: Client) -> None:
        namespace = ctx.client_config().namespace
        pod, remote = await resolve(client, namespace, target, pairs)
        stop = asyncio.Event()
        with contextlib.suppress(NotImplementedError):
            import signal

            loop = asyncio.get_running_loop()
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(sig, stop.set)
        await serve(client, namespace, pod, remote, address, stop)

    with_client(ctx, work)
