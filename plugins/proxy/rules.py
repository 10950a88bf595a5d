"""Kernel mode: NAT rules that send ClusterIP traffic to the proxy, like
kube-proxy's old userspace mode. One chain per node, jumped to from
``nat PREROUTING`` (traffic from containers: REDIRECT rewrites it to the
bridge-side address of this host) and ``nat OUTPUT`` (traffic from the host
itself: rewritten to 127.0.0.1). The chain is rewritten whole and
atomically with ``iptables-restore --noflush`` on every sync, and removed
when the proxy stops.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import shutil
from dataclasses import dataclass

import structlog

log = structlog.get_logger("proxy")


class RulesError(Exception):
    """The host's rules could not be changed; the message says why."""


@dataclass(frozen=True)
class Redirect:
    cluster_ip: str
    port: int
    protocol: str  # TCP | UDP
    to_port: int


def unavailable_reason() -> str | None:
    """Why kernel mode cannot work here, or None when it can."""
    if os.geteuid() != 0:
        return "not running as root (changing the host's NAT rules needs CAP_NET_ADMIN)"
    if shutil.which("iptables") is None or shutil.which("iptables-restore") is None:
        return "iptables and iptables-restore are not installed"
    return None


def chain_name(node: str) -> str:
    """Per node, so two agents on one machine keep their rules apart."""
    return "SHOAL-SVC-" + hashlib.sha256(node.encode()).hexdigest()[:8].upper()


def restore_text(chain: str, redirects: list[Redirect]) -> str:
    lines = ["*nat", f":{chain} - [0:0]"]  # declaring a chain with --noflush flushes it
    for r in sorted(redirects, key=lambda r: (r.cluster_ip, r.port, r.protocol)):
        proto = r.protocol.lower()
        lines.append(
            f"-A {chain} -d {r.cluster_ip}/32 -p {proto} -m {proto} --dport {r.port} "
            f"-j REDIRECT --to-ports {r.to_port}"
        )
    return "\n".join([*lines, "COMMIT", ""])


async def _run(*args: str, stdin: str | None = None, check: bool = True) -> bool:
    proc = await asyncio.create_subprocess_exec(
        *args,
        stdin=asyncio.subprocess.PIPE if stdin is not None else asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    _, err = await proc.communicate(stdin.encode() if stdin is not None else None)
    if proc.returncode != 0 and check:
        raise RulesError(f"{' '.join(args)}: {err.decode(errors='replace').strip()}")
    return proc.returncode == 0


class IptablesRules:
    HOOKS = ("PREROUTING", "OUTPUT")

    def __init__(self, node: str) -> None:
        self.chain = chain_name(node)

    async def setup(self) -> None:
        await _run("iptables", "-w", "-t", "nat", "-N", self.chain, check=False)
        await self.sync([])
        for hook in self.HOOKS:
            jump = ("-t", "nat", hook, "-j", self.chain)
            if not await _run("iptables", "-w", jump[0], jump[1], "-C", *jump[2:], check=False):
                await _run("iptables", "-w", jump[0], jump[1], "-I", hook, "1", "-j", self.chain)

    async def sync(self, redirects: list[Redirect]) -> None:
        await _run("iptables-restore", "-w", "--noflush", stdin=restore_text(self.chain, redirects))

    async def cleanup(self) -> None:
        for hook in self.HOOKS:
            while await _run(
                "iptables", "-w", "-t", "nat", "-D", hook, "-j", self.chain, check=False
            ):
                pass
        await _run("iptables", "-w", "-t", "nat", "-F", self.chain, check=False)
        await _run("iptables", "-w", "-t", "nat", "-X", self.chain, check=False)
