"""The issues' benchmark goals (issue 18's five, issue 16's Job ratio),
each printed beside its figure and its baseline from the same run:
``goal(...)`` prints one line and returns it as a dict for the results
file; ``python -m bench`` repeats every goal line at the end."""

from __future__ import annotations

from typing import Any

MET: list[str] = []  # the lines printed in this run, for the closing summary


def goal(
    name: str, figure: float, baseline: str, target: str, met: bool, unit: str = ""
) -> dict[str, Any]:
    """One goal: ``figure`` (measured now), the ``baseline`` it is relative
    to (measured in the same run, as text), the ``target`` and whether it was met."""
    line = (
        f"GOAL {name}: {figure:.2f}{unit}  (baseline: {baseline}; goal: {target})"
        f"  {'MET' if met else 'NOT MET'}"
    )
    print(f"   {line}")
    MET.append(line)
    return {"figure": round(figure, 3), "baseline": baseline, "goal": target, "met": met}
