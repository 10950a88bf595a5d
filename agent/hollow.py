"""Hollow nodes: many nodes in one agent process, each with its own Node,
Lease and fake runtime, sharing the process's client, informers and stream
server, so one core can carry hundreds (``shoal agent --runtime fake
--hollow-nodes 500``). Used for scale tests and benchmarks, like kubemark.
"""

from __future__ import annotations


def node_names(prefix: str, count: int) -> list[str]:
    """``hollow-0000``... sorted as numbers sort."""
    width = max(4, len(str(count - 1)))
    return [f"{prefix}-{i:0{width}d}" for i in range(count)]


def pod_cidr(index: int) -> str:
    """A /24 per hollow node inside 10.128.0.0/9 (32768 nodes)."""
    if not 0 <= index < 32768:
        raise ValueError("at most 32768 hollow nodes")
    return f"10.{128 + index // 256}.{index % 256}.0/24"
