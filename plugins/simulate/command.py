"""``shoal simulate``: what happens to these workloads on these nodes if...

Runs in this process on a virtual clock (see docs/simulate.md); with
``--from-cluster`` the nodes and workloads are first read from the cluster
the config points at (which needs ``list`` on them)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click
from shoal.ctl.context import CtlContext
from shoal.ctl.duration import Duration

EXAMPLES = """
\b
Examples:
  shoal simulate --nodes 50 -f web.yaml --kill-node 3m --for 10m
  shoal simulate --nodes 20 -f web.yaml -f scenario.yaml --for 1h --plot run.svg
  shoal simulate --from-cluster --kill-node worker-3@1m --for 15m
"""


@click.command("simulate", epilog=EXAMPLES)
@click.option("--nodes", "nodes", type=click.IntRange(1, 5000), help="Make N hollow nodes.")
@click.option("--node-cpu", default="4", show_default=True, help="CPU of each --nodes node.")
@click.option(
    "--node-memory", default="8Gi", show_default=True, help="Memory of each --nodes node."
)
@click.option(
    "-f",
    "--filename",
    "files",
    multiple=True,
    type=click.Path(dir_okay=False),
    help="Nodes, workloads and Scenarios (YAML or JSON; - for stdin). Repeatable.",
)
@click.option(
    "--kill-node",
    "kills",
    multiple=True,
    metavar="[NODE@]AT",
    help="Stop a node at virtual time AT (the busiest node when no NODE).",
)
@click.option(
    "--drain-node",
    "drains",
    multiple=True,
    metavar="[NODE@]AT",
    help="Cordon a node and delete its pods at AT.",
)
@click.option(
    "--for",
    "duration",
    type=Duration(),
    default="10m",
    show_default=True,
    help="How much virtual time to simulate.",
)
@click.option("--sample", type=Duration(), default="0", help="Time between samples (0: --for/60).")
@click.option(
    "--from-cluster", is_flag=True, help="Start from the live cluster's nodes and workloads."
)
@click.option(
    "--plot", "plot_file", type=click.Path(dir_okay=False), help="Write a plot (.png or .svg)."
)
@click.option("-o", "--output", type=click.Choice(["text", "json"]), default="text")
@click.pass_context
def simulate_command(
    click_ctx: click.Context,
    nodes: int | None,
    node_cpu: str,
    node_memory: str,
    files: tuple[str, ...],
    kills: tuple[str, ...],
    drains: tuple[str, ...],
    duration: float,
    sample: float,
    from_cluster: bool,
    plot_file: str | None,
    output: str,
) -> None:
    """Run the control plane against hollow nodes on a virtual clock."""
    from shoal.plugins.simulate import runner
    from shoal.plugins.simulate.report import PlotError, plot, render_text
    from shoal.plugins.simulate.scenario import (
        ScenarioError,
        Simulation,
        add_documents,
        hollow_nodes,
        parse_node_action,
    )

    sim = Simulation(duration=duration, sample=sample)
    try:
        if from_cluster:
            _from_cluster(click_ctx, sim)
        if nodes:
            sim.nodes.extend(hollow_nodes(nodes, node_cpu, node_memory))
        for name in files:
            add_documents(sim, _read(name), name)
        sim.actions += [parse_node_action(k, "kill-node") for k in kills]
        sim.actions += [parse_node_action(d, "drain-node") for d in drains]
        sim.validate()
        if plot_file and Path(plot_file).suffix.lower() not in (".png", ".svg"):
            raise ScenarioError(f"--plot {plot_file}: the file must end in .png or .svg")
    except ScenarioError as err:
        raise click.UsageError(str(err)) from None
    from shoal import log

    # the parts' info lines would drown the report; warnings go to stderr
    log.configure("simulate", json=False, level="error")
    data = runner.run(sim).as_dict()
    if plot_file:
        try:
            plot(data, Path(plot_file))
        except PlotError as err:
            raise click.ClickException(str(err)) from None
    click.echo(json.dumps(data, indent=2) if output == "json" else render_text(data))


def _read(name: str) -> str:
    try:
        if name == "-":
            return sys.stdin.read()
        return Path(name).read_text()
    except OSError as err:
        raise click.UsageError(f"cannot read {name}: {err.strerror}") from None


def _from_cluster(click_ctx: click.Context, sim: Any) -> None:
    from shoal.ctl.resources import with_client
    from shoal.plugins.simulate.snapshot import snapshot

    ctx = click_ctx.find_object(CtlContext)
    if ctx is None:
        raise click.UsageError("--from-cluster needs the shoal command line's context")
    with_client(ctx, lambda client: snapshot(client, sim))
