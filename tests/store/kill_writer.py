"""Helper for the kill -9 test: write forever, print each acknowledged create.

Usage: python kill_writer.py DB_PATH WRITERS. Prints "ready", then one line
"<key> <revision>" per create, flushed only after the create returned, so
every printed line is a write the store acknowledged.
"""

from __future__ import annotations

import asyncio
import sys

from shoal.store.sqlite import SQLiteStore


async def write_forever(store: SQLiteStore, writer: int) -> None:
    i = 0
    while True:
        key = f"w{writer}/{i:07d}"
        kv = await store.create(key, key.encode())
        print(key, kv.mod_revision, flush=True)
        i += 1


async def main(path: str, writers: int) -> None:
    store = SQLiteStore(path, compact_keep=0)
    await store.start()
    print("ready", flush=True)
    await asyncio.gather(*(write_forever(store, n) for n in range(writers)))


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], int(sys.argv[2])))
