"""etcd's memory per watch stream, measured: a real etcd member started here
(``LocalEtcd``, as the etcd benchmark does), STREAMS Watch RPC streams opened
on it, each with one watch on its own key prefix; the member's RSS once every
watch is confirmed created, minus its RSS before, per stream."""

from __future__ import annotations

import asyncio
import pathlib
import time
from collections.abc import AsyncIterator

from aetcd import rpc
from shoal.plugins.stores.etcd_client import EtcdClient, prefix_end
from shoal.plugins.stores.etcd_local import LocalEtcd


def rss_bytes(pid: int) -> int:
    for line in pathlib.Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


async def _open_watches(
    endpoints: str, streams: int, timeout: float = 60.0
) -> tuple[EtcdClient, list[asyncio.Task[None]]]:
    """Open ``streams`` Watch streams; return once etcd confirmed every watch
    created, with the tasks reading them (the caller cancels them)."""
    client = EtcdClient(endpoints)
    created = [asyncio.Event() for _ in range(streams)]
    hold = asyncio.Event()  # never set: keeps each request stream open

    async def requests(i: int) -> AsyncIterator[rpc.WatchRequest]:
        key = f"/configmaps/ns{i}/".encode()
        create = rpc.WatchCreateRequest(key=key, range_end=prefix_end(key))
        yield rpc.WatchRequest(create_request=create)
        await hold.wait()

    async def watch(i: int) -> None:
        async for response in client.watch.Watch(requests(i)):
            if response.created:
                created[i].set()

    tasks = [asyncio.create_task(watch(i)) for i in range(streams)]
    try:
        await asyncio.wait_for(asyncio.gather(*(e.wait() for e in created)), timeout)
    except TimeoutError:
        done = sum(e.is_set() for e in created)
        raise TimeoutError(f"etcd created {done} of {streams} watches in {timeout} s") from None
    return client, tasks


async def _memory_per_stream(etcd: LocalEtcd, streams: int) -> float:
    process = etcd.members[0].process
    assert process is not None
    before = rss_bytes(process.pid)
    client, tasks = await _open_watches(etcd.endpoints, streams)
    after = rss_bytes(process.pid)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    await client.close()
    return (after - before) / streams


def etcd_memory_per_stream_kb(root: pathlib.Path, streams: int) -> float:
    """kB of etcd RSS per Watch stream, on a fresh single member."""
    etcd = LocalEtcd(root)
    root.mkdir(parents=True, exist_ok=True)
    etcd.start()
    try:
        time.sleep(0.5)  # the member's own start-up allocations first
        return asyncio.run(_memory_per_stream(etcd, streams)) / 1024
    finally:
        etcd.stop()
