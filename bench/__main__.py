"""Run the benchmarks: ``python -m bench [NAME ...]`` (default: all)."""

from __future__ import annotations

import importlib
import json
import pathlib
import platform
import sys
import time

HERE = pathlib.Path(__file__).parent


def available() -> list[str]:
    return sorted(p.stem.removeprefix("bench_") for p in HERE.glob("bench_*.py"))


def main(argv: list[str]) -> int:
    names = argv or available()
    unknown = sorted(set(names) - set(available()))
    if unknown:
        print(f"unknown benchmark(s): {', '.join(unknown)}; have: {', '.join(available())}")
        return 2
    for name in names:
        print(f"== {name}")
        module = importlib.import_module(f"bench.bench_{name}")
        started = time.time()
        figures = module.run()
        result = {
            "benchmark": name,
            "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(started)),
            "machine": {"python": platform.python_version(), "cpus": _cpus()},
            "figures": figures,
        }
        out = HERE / "results" / f"{name}.json"
        out.parent.mkdir(exist_ok=True)
        out.write_text(json.dumps(result, indent=2) + "\n")
        print(f"   -> {out.relative_to(HERE.parent)}")
    from bench.goals import MET

    if MET:
        print("== goals (issues 18 and 16), each beside its baseline from the same run")
        for line in MET:
            print(f"   {line}")
    return 0


def _cpus() -> int:
    import os

    return len(os.sched_getaffinity(0))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
