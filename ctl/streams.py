"""``shoal logs``, ``shoal exec`` and ``shoal port-forward``: streams that go
through the API server to the agent of the pod's node."""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
from typing import TYPE_CHECKING, Any

import click
from shoal.ctl.resources import with_client

if TYPE_CHECKING:
    from shoal.client import Client


def _stub(client: Client) -> Any:
    from shoal.api.v1 import streams_pb2_grpc

    return streams_pb2_grpc.StreamsStub(client.channel)


async def resolve_pod(client: Client, namespace: str, arg: str) -> str:
    """``web`` or ``pod/web``, or, as kubectl does, ``deploy/web`` (any kind
    with a ``spec.selector``: rs, rc, svc, job...): one of the pods its
    selector picks, running ones first."""
    from shoal import kinds

    kind_name, _, name = arg.rpartition("/")
    if not kind_name:
        return name
    try:
        kind = kinds.resolve(kind_name)
    except kinds.UnknownKindError as err:
        raise click.UsageError(str(err)) from None
    if kind.kind == "Pod":
        return name
    spec = kind.message.DESCRIPTOR.fields_by_name.get("spec")
    if (
        spec is None
        or spec.message_type is None
        or "selector" not in spec.message_type.fields_by_name
    ):
        raise click.UsageError(f"cannot pick a pod of a {kind.kind}: name a pod")
    owner = await client.get(kind, name, namespace)
    picked = _selector_of(owner.spec)
    pods = (await client.list("Pod", namespace, label_selector=str(picked))).items
    if not pods:
        raise click.ClickException(f"no pods found for {kind.singular}/{name}")
    pods.sort(key=lambda p: (p.status.phase != "Running", p.metadata.name))
    if len(pods) > 1:
        click.echo(f"Found {len(pods)} pods, using pod/{pods[0].metadata.name}", err=True)
    return str(pods[0].metadata.name)


def _selector_of(spec: Any) -> Any:
    """A ``spec.selector``: a plain label map (Service, ReplicationController)
    or a LabelSelector."""
    from shoal.selectors import label_selector_from_map, label_selector_from_proto

    field = spec.DESCRIPTOR.fields_by_name["selector"]
    if field.message_type is not None and field.message_type.GetOptions().map_entry:
        return label_selector_from_map(spec.selector)
    return label_selector_from_proto(spec.selector)


def _rpc_error(err: Exception) -> Exception:
    """A gRPC failure as the APIError the client would raise."""
    import grpc
    from shoal import errors

    if isinstance(err, grpc.aio.AioRpcError):
        return errors.from_status(err.code(), err.details() or "", err.trailing_metadata() or ())
    return err


# -- logs ----------------------------------------------------------------------


async def _pod_names(client: Client, namespace: str, name: str, selector: str) -> list[str]:
    if not selector:
        return [await resolve_pod(client, namespace, name)]
    pods = await client.list("Pod", namespace, label_selector=selector)
    return sorted(p.metadata.name for p in pods.items)


async def stream_logs(client: Client, namespace: str, pod: str, out: Any, **options: Any) -> None:
    """Write a container's log to ``out`` (a binary file)."""
    from shoal.api.v1 import streams_pb2 as s

    container, tail = options.pop("container", ""), options.pop("tail", -1)
    request = s.LogsRequest(
        ref=s.ContainerRef(namespace=namespace, pod=pod, container=container), **options
    )
    if tail >= 0:
        request.tail_lines = tail
    try:
        async for chunk in _stub(client).Logs(request):
            out.write(chunk.data)
            out.flush()
    except Exception as err:
        raise _rpc_error(err) from None


@click.command("logs")
@click.argument("pod", required=False, default="")
@click.option("-c", "--container", default="", help="The container (needed when several).")
@click.option("-f", "--follow", is_flag=True, help="Keep streaming new lines.")
@click.option("--tail", default=-1, show_default=True, help="Lines from the end; -1: all.")
@click.option("-p", "--previous", is_flag=True, help="The previous run of the container.")
@click.option("--timestamps", is_flag=True, help="Prefix each line with its time.")
@click.option("-l", "--selector", default="", help="Logs of every pod with these labels.")
@click.pass_obj
def logs_command(ctx: Any, pod: str, selector: str, **options: Any) -> None:
    """Print the logs of a container in a pod.

    \b
    Examples:
      shoal logs web
      shoal logs -f web -c sidecar --tail 20
      shoal logs -l app=web --timestamps
      shoal logs deploy/web
    """
    if not pod and not selector:
        raise click.UsageError("give a pod name or a label selector (-l)")

    async def work(client: Client) -> None:
        namespace = ctx.client_config().namespace
        names = await _pod_names(client, namespace, pod, selector)
        out = sys.stdout.buffer
        await asyncio.gather(
            *(stream_logs(client, namespace, n, out, **dict(options)) for n in names)
        )

    with_client(ctx, work)


# -- exec ----------------------------------------------------------------------


def _terminal_size() -> tuple[int, int]:
    size = os.get_terminal_size(sys.stdout.fileno())
    return size.columns, size.lines


async def _read_stdin(queue: asyncio.Queue[bytes | None]) -> None:
    loop = asyncio.get_running_loop()
    fd = sys.stdin.fileno()
    while data := await loop.run_in_executor(None, os.read, fd, 4096):
        await queue.put(data)
    await queue.put(None)


async def _exec_requests(start: Any, stdin: bool, tty: bool) -> Any:
    """The request stream: start, then stdin and terminal resizes."""
    from shoal.api.v1 import streams_pb2 as s

    yield s.ExecInput(start=start)
    if not stdin:
        return
    queue: asyncio.Queue[Any] = asyncio.Queue()
    reader = asyncio.create_task(_read_stdin(queue))
    loop = asyncio.get_running_loop()
    if tty:
        import signal

        def resized() -> None:
            width, height = _terminal_size()
            queue.put_nowait(s.TerminalSize(width=width, height=height))

        loop.add_signal_handler(signal.SIGWINCH, resized)
    try:
        while (item := await queue.get()) is not None:
            if isinstance(item, bytes):
                yield s.ExecInput(stdin=item)
            else:
                yield s.ExecInput(resize=item)
        yield s.ExecInput(close_stdin=True)
    finally:
        reader.cancel()


async def run_exec(
    client: Client,
    namespace: str,
    pod: str,
    command: list[str],
    method: str = "Exec",
    **options: Any,
) -> int:
    """Run ``command`` in the pod (``method`` Attach: attach to its main
    process, no command); the exit code (an attach: 0). Output goes to our
    stdout/stderr."""
    from shoal.api.v1 import streams_pb2 as s

    stdin, tty, container = options["stdin"], options["tty"], options.get("container", "")
    start = s.ExecStart(
        ref=s.ContainerRef(namespace=namespace, pod=pod, container=container),
        command=command,
        stdin=stdin,
        tty=tty,
    )
    if tty:
        width, height = _terminal_size()
        start.size.width, start.size.height = width, height
    code = 0
    call = getattr(_stub(client), method)(_exec_requests(start, stdin, tty))
    try:
        async for reply in call:
            which = reply.WhichOneof("output")
            if which == "exit_code":  # the last message: the call's status adds nothing
                code = reply.exit_code if method == "Exec" else 0
                call.cancel()
                break
            stream = sys.stdout.buffer if which == "stdout" else sys.stderr.buffer
            stream.write(getattr(reply, which))
            stream.flush()
    except Exception as err:
        raise _rpc_error(err) from None
    return code


@contextlib.contextmanager
def raw_terminal(enabled: bool) -> Any:
    if not enabled:
        yield
        return
    import termios
    import tty

    fd = sys.stdin.fileno()
    saved = termios.tcgetattr(fd)
    tty.setraw(fd)
    try:
        yield
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)


def terminal_wanted(asked: bool) -> bool:
    """``-t`` holds only when our stdin and stdout are a terminal (kubectl's warning otherwise)."""
    tty = asked and sys.stdin.isatty() and sys.stdout.isatty()
    if asked and not tty:
        click.echo(
            "Unable to use a TTY - input is not a terminal or the right kind of file", err=True
        )
    return tty


@click.command("exec")
@click.argument("pod")
@click.argument("command", nargs=-1, required=True)
@click.option("-c", "--container", default="", help="The container (needed when several).")
@click.option("-i", "--stdin", is_flag=True, help="Pass stdin to the command.")
@click.option("-t", "--tty", is_flag=True, help="Allocate a terminal.")
@click.pass_obj
def exec_command(ctx: Any, pod: str, command: tuple[str, ...], **options: Any) -> None:
    """Run a command in a container.

    \b
    Examples:
      shoal exec web -- ls /
      shoal exec -it web -c main -- sh
    """
    options["tty"] = tty = terminal_wanted(options["tty"])

    async def work(client: Client) -> int:
        namespace = ctx.client_config().namespace
        pod_name = await resolve_pod(client, namespace, pod)
        return await run_exec(client, namespace, pod_name, list(command), **options)

    with raw_terminal(tty):
        code = with_client(ctx, work)
    if code:
        click.echo(f"command terminated with exit code {code}", err=True)
        sys.exit(code)
