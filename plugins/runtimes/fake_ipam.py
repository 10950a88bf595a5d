"""Pod IP addresses of one fake-runtime node, handed out as the host-local
IPAM plugin of CNI does: the next free address after the last one given,
wrapping around the range, and an address is free again once its sandbox
stops. A node runs any number of pods over its life, at most as many at
once as its range holds."""

from __future__ import annotations

import ipaddress

from shoal.runtime import RuntimeFailure


class PodAddresses:
    def __init__(self, cidr: str) -> None:
        self.network = ipaddress.ip_network(cidr)
        first, last = int(self.network.network_address), int(self.network.broadcast_address)
        if self.network.num_addresses > 2:  # not the network's own address...
            first += 1
            if self.network.version == 4:  # ...nor IPv4's broadcast
                last -= 1
        self._first, self._size = first, last - first + 1
        self._last_given = last
        self._held: dict[str, int] = {}  # sandbox id -> its address
        self._taken: set[int] = set()

    def allocate(self, sandbox_id: str) -> str:
        for step in range(1, self._size + 1):
            candidate = self._first + (self._last_given - self._first + step) % self._size
            if candidate not in self._taken:
                self._taken.add(candidate)
                self._held[sandbox_id] = self._last_given = candidate
                return str(ipaddress.ip_address(candidate))
        raise RuntimeFailure(
            f"no free pod IP address left in {self.network} ({self._size} sandboxes running)",
            "CreatePodSandboxError",
        )

    def release(self, sandbox_id: str) -> None:
        """The sandbox stopped or is gone (either may come first, or both)."""
        address = self._held.pop(sandbox_id, None)
        if address is not None:
            self._taken.discard(address)
