"""A simulation's report: as a dict (``-o json``, gRPC, REST), as tables for
a person, and as a plot (PNG or SVG through matplotlib)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shoal.plugins.simulate.observer import Observer


@dataclass
class Report:
    nodes: list[str]
    duration: float
    samples: list[dict[str, Any]] = field(default_factory=list)
    actions: list[dict[str, Any]] = field(default_factory=list)
    disruptions: list[dict[str, Any]] = field(default_factory=list)
    pods: int = 0
    pending: int = 0
    running: int = 0
    jumps: int = 0
    wall_seconds: float = 0.0
    allocatable_millis: dict[str, int] = field(default_factory=dict)
    jobs: list[dict[str, str]] = field(default_factory=list)

    def sample(self, at: float, observer: Observer) -> None:
        util = {
            n: round(observer.millis_by_node[n] / 1000, 3)
            for n in self.nodes
            if n not in observer.dead
        }
        self.samples.append(
            {
                "at": round(at, 3),
                "pending": observer.pending,
                "running": observer.running_live(),
                "cpuRequested": util,
            }
        )

    def finish(self, observer: Observer, jumps: int) -> None:
        self.disruptions = [d.as_dict() for d in observer.disruptions]
        self.pods = len(observer.pods)
        self.pending = observer.pending
        self.running = observer.running_live()
        self.jumps = jumps

    def speed(self) -> float:
        """Simulated minutes per wall second."""
        return (self.duration / 60) / self.wall_seconds if self.wall_seconds else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "nodes": len(self.nodes),
            "durationSeconds": self.duration,
            "wallSeconds": round(self.wall_seconds, 3),
            "simulatedMinutesPerWallSecond": round(self.speed(), 3),
            "clockJumps": self.jumps,
            "pods": self.pods,
            "pending": self.pending,
            "running": self.running,
            "evicted": sum(d["evicted"] for d in self.disruptions),
            "rescheduled": sum(d["rescheduled"] for d in self.disruptions),
            "disruptions": self.disruptions,
            "jobs": self.jobs,
            "actions": self.actions,
            "samples": self.samples,
        }


def _table(rows: list[list[str]]) -> str:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join(
        "   ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)).rstrip() for r in rows
    )


def _span(seconds: float | None) -> str:
    from shoal.ctl.duration import format_duration

    return "<none>" if seconds is None else format_duration(round(seconds, 3))


def render_text(data: dict[str, Any]) -> str:
    """The report as a person reads it (from :meth:`Report.as_dict`)."""
    lines = [
        f"Simulated {_span(data['durationSeconds'])} on {data['nodes']} nodes "
        f"in {data['wallSeconds']:.1f}s "
        f"({data['simulatedMinutesPerWallSecond']:.2f} simulated minutes per second)",
        f"Pods: {data['pods']}   running: {data['running']}   pending: {data['pending']}   "
        f"evicted: {data['evicted']}   rescheduled: {data['rescheduled']}",
    ]
    jobs = data.get("jobs") or []
    if jobs:
        count = {s: sum(j["status"] == s for j in jobs) for s in ("Complete", "Failed", "Active")}
        lines.append(
            f"Jobs: {len(jobs)}   complete: {count['Complete']}   failed: {count['Failed']}   "
            f"active: {count['Active']}"
        )
    if data["disruptions"]:
        rows = [["AT", "ACTION", "NODE", "PODS", "EVICTED", "RESCHEDULED", "RECOVERY"]]
        rows += [
            [
                _span(d["at"]),
                d["action"],
                d["node"],
                str(d["podsOnNode"]),
                str(d["evicted"]),
                str(d["rescheduled"]),
                _span(d["recoverySeconds"]),
            ]
            for d in data["disruptions"]
        ]
        lines += ["", _table(rows)]
    failed = [a for a in data["actions"] if a["error"]]
    for a in failed:
        lines.append(f"warning: {a['action']} at {_span(a['at'])}: {a['error']}")
    if data["samples"]:
        rows = [["TIME", "PENDING", "RUNNING", "CPU REQUESTED (MIN/AVG/MAX PER NODE)"]]
        step = max(1, len(data["samples"]) // 12)
        for s in data["samples"][::step]:
            values = list(s["cpuRequested"].values()) or [0.0]
            avg = sum(values) / len(values)
            rows.append(
                [
                    _span(s["at"]),
                    str(s["pending"]),
                    str(s["running"]),
                    f"{min(values):g} / {avg:.2f} / {max(values):g}",
                ]
            )
        lines += ["", _table(rows)]
    return "\n".join(lines)


class PlotError(ValueError):
    pass


def plot(data: dict[str, Any], path: Path) -> None:
    """Pods (running, pending) and per-node CPU requested over time, to a
    PNG or SVG chosen by the file's suffix."""
    fmt = path.suffix.lower().lstrip(".")
    if fmt not in ("png", "svg"):
        raise PlotError(f"--plot {path}: the file must end in .png or .svg")
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise PlotError("--plot needs matplotlib: pip install 'shoal[simulate]'") from None
    samples = data["samples"]
    minutes = [s["at"] / 60 for s in samples]
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(9, 7), sharex=True)
    top.plot(minutes, [s["running"] for s in samples], label="running")
    top.plot(minutes, [s["pending"] for s in samples], label="pending")
    for d in data["disruptions"]:
        top.axvline(d["at"] / 60, color="red", linestyle=":", label=f"{d['action']} {d['node']}")
    top.set_ylabel("pods")
    top.legend(loc="best", fontsize="small")
    nodes = sorted({n for s in samples for n in s["cpuRequested"]})
    for node in nodes[:40]:
        bottom.plot(minutes, [s["cpuRequested"].get(node) for s in samples], linewidth=0.8)
    bottom.set_ylabel("CPU requested per node (cores)")
    bottom.set_xlabel("simulated minutes")
    fig.tight_layout()
    fig.savefig(path, format=fmt)
    plt.close(fig)
