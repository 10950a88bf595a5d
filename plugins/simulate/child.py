"""``python -m shoal.plugins.simulate.child``: one simulation in a process
of its own (the API server's event loop never runs one, and a simulation
owns its process's clock). Reads the Simulation as JSON on stdin, writes
the report as JSON on stdout."""

from __future__ import annotations

import json
import sys
from dataclasses import asdict
from typing import Any

from shoal.plugins.simulate.scenario import Action, NodeSpec, Simulation


def dump(sim: Simulation) -> str:
    return json.dumps(asdict(sim))


def load(text: str) -> Simulation:
    raw: dict[str, Any] = json.loads(text)
    return Simulation(
        nodes=[NodeSpec(**n) for n in raw["nodes"]],
        workloads=raw["workloads"],
        actions=[Action(**a) for a in raw["actions"]],
        duration=raw["duration"],
        sample=raw["sample"],
    )


def main() -> int:
    from shoal import log
    from shoal.plugins.simulate import runner

    log.configure("simulate", json=True, level="error")
    report = runner.run(load(sys.stdin.read()))
    sys.stdout.write(json.dumps(report.as_dict()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
