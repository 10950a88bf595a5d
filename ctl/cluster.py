"""``shoal up``, ``shoal down``, ``shoal status``: a local cluster in the
background, like ``minikube start``: the API server (embedded SQLite store,
control plane in-process) and one agent on this machine with the best
runtime found. Data, logs and pid files live under ``--data-dir`` (default
``~/.shoal``); ``up`` merges a ``shoal`` context into the client config so
the next command reaches the cluster, and ``status`` and ``down`` find the
data dir in it; ``down --delete`` wipes the data. A failed ``up`` stops what
it started."""

from __future__ import annotations

import asyncio
import shutil
import sys
import time
from typing import Any

import click
from shoal.ctl import localcluster as lc
from shoal.ctl import localcontext
from shoal.ctl.context import CtlContext
from shoal.ctl.duration import Duration

DEFAULT_HOME = localcontext.DEFAULT_HOME
CONTEXT_HOME_HELP = (
    "The cluster's data dir (default: the one `shoal up` set the context up for, else ~/.shoal)."
)
SPINNER = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"


KUBE_DNS_IP = "10.96.0.10"  # kubeadm's and minikube's kube-dns ClusterIP


def _server_args(
    paths: lc.Paths,
    listen: str,
    http_listen: str,
    dns: bool = True,
    metrics: bool = True,
    dashboard: str = "",
) -> list[str]:
    # The REST gateway too: kubectl, and programs in pods (the kubernetes
    # Service points at it), speak the Kubernetes API to it.
    data = str(paths.data("server"))
    args = ["server", "--data-dir", data, "--listen", listen, "--http-listen", http_listen]
    if not metrics:  # the metrics-server add-on: the metrics plugin (kubectl top)
        args += ["--disable-plugins", "metrics"]
    if dashboard:  # the dashboard add-on: its own HTTPS listener
        args += ["--http-server", f"dashboard={dashboard}"]
    return [*args, "--cluster-dns", KUBE_DNS_IP] if dns else args  # the DNS add-on's Service


def default_http_listen(listen: str) -> str:
    """The gateway beside the gRPC port: ``127.0.0.1:6443`` -> ``127.0.0.1:6444``."""
    host, _, port = listen.rpartition(":")
    return f"{host}:{int(port) + 1}" if port.isdigit() and int(port) else f"{host}:0"


def default_dashboard_listen(listen: str) -> str:
    """The dashboard two ports above the API: ``127.0.0.1:6443`` -> ``127.0.0.1:6445``."""
    host, _, port = listen.rpartition(":")
    return f"{host}:{int(port) + 2}" if port.isdigit() and int(port) else f"{host}:0"


def dashboard_url(paths: lc.Paths) -> str:
    """Where the running server's dashboard serves, "" when it does not."""
    from shoal.plugins.dashboard.plugin import URL_FILE

    try:
        return (paths.data("server") / URL_FILE).read_text().strip()
    except FileNotFoundError:
        return ""


def _await_dashboard(paths: lc.Paths, timeout: float = 15.0) -> str:
    deadline = time.monotonic() + timeout
    while not (url := dashboard_url(paths)) and time.monotonic() < deadline:
        time.sleep(0.1)
    return url


def _agent_args(
    paths: lc.Paths, listen: str, runtime: str, node: str, dns: bool = True
) -> list[str]:
    return [
        "agent",
        "--server",
        listen,
        "--token-file",  # the first start joins; later ones use the node's own certificate
        str(paths.data("server") / "join-token"),
        "--name",
        node,
        "--runtime",
        runtime,
        "--data-dir",
        str(paths.data("agent")),
        "--node-ip",
        "127.0.0.1",  # one machine: NodePorts on loopback
        "--stream-listen",
        "127.0.0.1:0",
        "--proxy-mode",
        "auto",
        "--cluster-dns" if dns else "--no-cluster-dns",  # the DNS add-on (`shoal addons`)
    ]


class Progress:
    """One line that redraws itself on a terminal, plain lines elsewhere."""

    def __init__(self) -> None:
        self.tty = sys.stderr.isatty()
        self.started = time.monotonic()
        self._frame = 0
        self._last = ""

    def show(self, text: str) -> None:
        elapsed = time.monotonic() - self.started
        if self.tty:
            self._frame += 1
            spin = SPINNER[self._frame % len(SPINNER)]
            click.echo(f"\r{spin} {text} ({elapsed:.1f} s)\033[K", nl=False, err=True)
        elif text != self._last:
            click.echo(f"… {text}", err=True)
        self._last = text

    def done(self, text: str) -> None:
        self.clear()
        click.echo(f"✓ {text}")

    def clear(self) -> None:
        if self.tty:
            click.echo("\r\033[K", nl=False, err=True)


async def _wait_ready(
    paths: lc.Paths, procs: dict[str, Any], listen: str, agent_args: list[str], timeout: float
) -> None:
    """Start the agent once the server answers (it does not wait for one),
    then wait for its node to be Ready."""
    from shoal.client import Client

    node = agent_args[agent_args.index("--name") + 1]
    progress = Progress()
    deadline = time.monotonic() + timeout
    client: Client | None = None
    try:
        server_ok = False
        while time.monotonic() < deadline:
            _check_alive(paths, procs)
            # admin.conf is written once the server serves, after the join token.
            admin = lc.admin_config(paths)
            if not server_ok and admin.exists() and lc.healthy(listen, 0.3, lc.ca_pem(paths)):
                server_ok = True
                client = Client.from_config(str(admin))
                procs["agent"] = lc.spawn(paths, "agent", agent_args)
                progress.done(
                    f"API server ready at {listen} ({time.monotonic() - progress.started:.1f} s)"
                )
            if client is not None:
                state = await lc.node_ready(client, node)
                if state == "True":
                    progress.done(
                        f'node "{node}" Ready ({time.monotonic() - progress.started:.1f} s)'
                    )
                    return
                progress.show(
                    f'waiting for node "{node}" to be Ready'
                    + (f" (Ready={state})" if state else "")
                )
            else:
                progress.show("starting the API server")
            await asyncio.sleep(0.05)
    finally:
        progress.clear()
        if client is not None:
            await client.close()
    raise click.ClickException(
        f"the cluster was not ready within {timeout:.0f} s; see the logs in {paths.root / 'logs'}"
    )


def _check_alive(paths: lc.Paths, procs: dict[str, Any]) -> None:
    for component, proc in procs.items():
        if proc.poll() is not None:
            raise click.ClickException(
                f"the {component} exited at start-up: {lc.last_words(paths, component)} "
                f"(see {paths.log(component)})"
            )


def _check_listen(listen: str, flag: str = "--listen") -> None:
    """Before starting anything: a taken port is the usual reason `up` fails."""
    import errno

    from shoal.apiserver.listen import ListenError, check_free

    try:
        check_free(listen)
    except ListenError as err:
        hint = " (is another cluster running?)" if err.errno == errno.EADDRINUSE else ""
        raise click.ClickException(
            f"{err}{hint}; pick another address with {flag} HOST:PORT"
        ) from None


@click.command("up")
@click.option("--data-dir", "home", default=DEFAULT_HOME, show_default=True)
@click.option("--listen", default="127.0.0.1:6443", show_default=True, metavar="HOST:PORT")
@click.option(
    "--runtime",
    type=click.Choice(["auto", "docker", "podman", "fake"]),
    default="auto",
    show_default=True,
    help="auto: Docker if its daemon answers, else Podman, else fake.",
)
@click.option("--node-name", default="", help="The node's name (default: this host's name).")
@click.option(
    "--timeout",
    type=Duration(),
    default="60s",
    show_default=True,
    help="How long to wait for a Ready node.",
)
@click.option(
    "--http-listen",
    default="",
    metavar="HOST:PORT",
    help="The Kubernetes REST API (kubectl, programs in pods); default: the --listen "
    "port + 1 (127.0.0.1:6444).",
)
@click.option(
    "--dashboard-listen",
    default="",
    metavar="HOST:PORT",
    help="The web dashboard (the dashboard add-on); default: the --listen port + 2 "
    "(127.0.0.1:6445).",
)
@click.pass_obj
def up_command(
    ctx: CtlContext,
    home: str,
    listen: str,
    runtime: str,
    node_name: str,
    timeout: float,
    http_listen: str,
    dashboard_listen: str,
) -> None:
    """Set up and start a local cluster in the background: API server,
    control plane and one agent on this machine.

    \b
    Examples:
      shoal up
      shoal up --runtime podman --listen 127.0.0.1:7443 --data-dir /tmp/shoal
    """
    paths = lc.Paths.under(home)
    running = {c: lc.running_pid(paths, c) for c in lc.COMPONENTS}
    if all(running.values()):
        state = paths.read_state()
        where = f"{state.get('server', '?')}, runtime {state.get('runtime', '?')}"
        click.echo(f"shoal is already running ({where})")
        if lc.admin_config(paths).exists():  # the context again, maybe into another config
            localcontext.merge(ctx, paths, state.get("server") or listen)
        return
    for component in lc.COMPONENTS:  # a half-running cluster starts over
        lc.stop(paths, component, timeout=10)
    _check_listen(listen)
    http_listen = http_listen or default_http_listen(listen)
    _check_listen(http_listen, "--http-listen")
    from shoal.ctl.addons import enabled

    addons = enabled(paths)
    dashboard_listen = dashboard_listen or default_dashboard_listen(listen)
    if addons["dashboard"]:
        _check_listen(dashboard_listen, "--dashboard-listen")
    chosen, why = lc.pick_runtime(runtime)
    click.echo(f"✓ runtime: {chosen} ({why})")
    node = node_name or lc.node_name()
    lc.admin_config(paths).unlink(missing_ok=True)  # the server writes it anew once it serves
    procs: dict[str, Any] = {}
    try:
        dns = addons["dns"]
        dashboard = dashboard_listen if addons["dashboard"] else ""
        from shoal.plugins.dashboard.plugin import URL_FILE

        (paths.data("server") / URL_FILE).unlink(missing_ok=True)  # the server writes it anew
        server_args = _server_args(
            paths, listen, http_listen, dns, addons["metrics-server"], dashboard
        )
        procs["server"] = lc.spawn(paths, "server", server_args)
        paths.write_state({"server": listen, "runtime": chosen, "node": node})
        try:
            lc.ensure_tutorial_images(chosen)
        except Exception as exc:  # the cluster works without; say so and go on
            click.echo(f"! could not build shoal.local/busybox: {exc}", err=True)
        agent_args = _agent_args(paths, listen, chosen, node, dns)
        asyncio.run(_wait_ready(paths, procs, listen, agent_args, timeout))
        localcontext.merge(ctx, paths, listen)
        if dashboard and (url := _await_dashboard(paths)):
            click.echo(f"✓ dashboard: {url} (`shoal dashboard` opens it)")
        elif dashboard:
            click.echo("! the dashboard did not start; see the server's log", err=True)
    except click.ClickException as err:
        stopped = _undo(paths, procs)
        undone = f"; stopped the {' and '.join(stopped)} it started" if stopped else ""
        raise click.ClickException(err.message + undone) from None
    except BaseException:
        _undo(paths, procs)
        raise


def _undo(paths: lc.Paths, procs: dict[str, Any]) -> list[str]:
    """A failed (or interrupted) `up` stops what it started, so nothing is
    left holding the port where `status` and `down` may not look; the
    components that were still running."""
    stopped: list[str] = []
    for component in ("agent", "server"):  # the agent first, while the API answers
        if component in procs:
            if procs[component].poll() is None:
                stopped.append(component)
            lc.stop_child(paths, component, procs[component], timeout=10)
    return stopped


@click.command("down")
@click.option("--data-dir", "home", default=None, help=CONTEXT_HOME_HELP)
@click.option(
    "--timeout",
    type=Duration(),
    default="15s",
    show_default=True,
    help="How long each component gets to stop before it is killed.",
)
@click.option("--delete", "wipe", is_flag=True, help="Also delete the cluster's data and logs.")
@click.pass_obj
def down_command(ctx: CtlContext, home: str | None, timeout: float, wipe: bool) -> None:
    """Stop the local cluster started by `shoal up` (its data stays, unless
    --delete, which also removes its context from the config)."""
    paths = lc.Paths.under(localcontext.cluster_home(ctx, home))
    stopped = False
    for component in ("agent", "server"):  # the agent first, while the API answers
        pid = lc.stop(paths, component, timeout)
        if pid is not None:
            stopped = True
            click.echo(f"✓ {component} stopped (pid {pid})")
    if not stopped:
        click.echo("shoal is not running")
    if wipe:
        _wipe(paths)
        localcontext.forget(ctx, paths)


def _wipe(paths: lc.Paths) -> None:
    """Remove what `shoal up` made (the node's containers too), and nothing
    else under --data-dir."""
    state = paths.read_state()
    if state.get("runtime") in ("docker", "podman") and state.get("node"):
        try:
            count = asyncio.run(lc.remove_node_pods(state["runtime"], state["node"]))
            click.echo(f"✓ {count} pod sandbox(es) of node {state['node']} removed")
        except Exception as exc:
            click.echo(f"! could not remove the node's containers: {exc}", err=True)
    for part in ("server", "agent", "logs", "run"):
        shutil.rmtree(paths.root / part, ignore_errors=True)
    click.echo(f"✓ cluster data deleted from {paths.root}")


@click.command("status")
@click.option("--data-dir", "home", default=None, help=CONTEXT_HOME_HELP)
@click.pass_obj
def status_command(ctx: CtlContext, home: str | None) -> None:
    """Show whether each component of the local cluster runs and answers."""
    paths = lc.Paths.under(localcontext.cluster_home(ctx, home))
    state = paths.read_state()
    address, node = state.get("server", ""), state.get("node", "")
    healthy = _component_lines(paths, address, state)
    if healthy and node:
        ready = asyncio.run(_node_state(paths, node))
        click.echo(f"node {node}: Ready={ready or 'not registered'}")
        healthy = ready == "True"
    if not healthy:
        raise SystemExit(1)


def _component_lines(paths: lc.Paths, address: str, state: dict[str, Any]) -> bool:
    ok = True
    for component in lc.COMPONENTS:
        pid = lc.running_pid(paths, component)
        if pid is None:
            click.echo(f"{component}: Stopped")
            ok = False
            continue
        detail = f"pid {pid}, log {paths.log(component)}"
        if component == "server":
            answering = lc.healthy(address, ca=lc.ca_pem(paths))
            ok = ok and answering
            what = "Running" if answering else "Running, not answering health checks"
            click.echo(f"server: {what} ({address}, {detail})")
        else:
            click.echo(f"agent: Running (runtime {state.get('runtime', '?')}, {detail})")
    return ok


async def _node_state(paths: lc.Paths, node: str) -> str | None:
    from shoal.client import Client

    client = Client.from_config(str(lc.admin_config(paths)))
    try:
        return await lc.node_ready(client, node)
    finally:
        await client.close()
