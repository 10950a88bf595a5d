"""``shoal snapshot save|restore``: back up and restore the store (etcdctl's
``snapshot`` verbs, for either backend; see shoal.snapshot)."""

from __future__ import annotations

import asyncio
import pathlib
from typing import Any

import click

DATA_DIR_HELP = "The server's data dir (the sqlite store lives there)."


def _store_flags(f: Any) -> Any:
    for option in reversed(
        [
            click.option(
                "--data-dir", default="~/.shoal/server", show_default=True, help=DATA_DIR_HELP
            ),
            click.option("--store", "store_name", default="sqlite", show_default=True),
            click.option("--etcd-endpoints", default="", metavar="URL,..."),
            click.option("--etcd-prefix", default="/registry/", show_default=True),
            click.option("--etcd-cafile", default=""),
            click.option("--etcd-certfile", default=""),
            click.option("--etcd-keyfile", default=""),
        ]
    ):
        f = option(f)
    return f


@click.group("snapshot")
def snapshot_command() -> None:
    """Back up the store to a file, or restore one into a fresh store.

    \b
    Examples:
      shoal snapshot save backup.db --data-dir ./data
      shoal snapshot restore backup.db --data-dir ./restored
      shoal snapshot save backup.dump --store etcd --etcd-endpoints http://127.0.0.1:2379
      shoal snapshot restore backup.dump --store etcd --etcd-endpoints http://10.0.0.9:2379
    """


@snapshot_command.command("save")
@click.argument("file", type=click.Path(dir_okay=False, path_type=pathlib.Path))
@_store_flags
def save_command(file: pathlib.Path, data_dir: str, store_name: str, **etcd: str) -> None:
    """Write a consistent snapshot of the store (safe while the server runs)."""
    from shoal import snapshot

    store_dir = pathlib.Path(data_dir).expanduser()
    if store_name == "sqlite":
        info = _run(asyncio.to_thread(snapshot.save_sqlite, store_dir / "state.db", file))
    else:
        info = _run(_with_store(store_name, store_dir, etcd, lambda s: snapshot.save_dump(s, file)))
    click.echo(f"Snapshot saved at {info.path} ({info.keys} keys, revision {info.revision})")


@snapshot_command.command("restore")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=pathlib.Path))
@_store_flags
def restore_command(file: pathlib.Path, data_dir: str, store_name: str, **etcd: str) -> None:
    """Restore a snapshot into an empty data dir (sqlite) or an empty etcd prefix."""
    from shoal import snapshot

    store_dir = pathlib.Path(data_dir).expanduser()
    fmt = _run(asyncio.to_thread(snapshot.snapshot_format, file))
    if store_name == "sqlite" and fmt == "sqlite":
        db = store_dir / "state.db"
        info = _run(asyncio.to_thread(snapshot.restore_sqlite_file, file, db))
    else:
        info = _run(
            _with_store(store_name, store_dir, etcd, lambda s: snapshot.restore_items(file, s))
        )
    click.echo(f"Restored {info.keys} keys from {file} into the {store_name} store")


async def _with_store(name: str, data_dir: pathlib.Path, etcd: dict[str, str], work: Any) -> Any:
    from shoal.apiserver.server import open_store
    from shoal.ctl.server import _store_options

    options: dict[str, Any] = dict(_store_options(name, *_etcd_args(etcd)))
    options["compact_keep"] = 0  # a short-lived tool never compacts
    if name == "sqlite":
        data_dir.mkdir(parents=True, exist_ok=True)
    store = open_store(name, data_dir, options)
    await store.start()
    try:
        return await work(store)
    finally:
        await store.close()


def _etcd_args(etcd: dict[str, str]) -> tuple[str, str, str, str, str]:
    keys = ("etcd_endpoints", "etcd_prefix", "etcd_cafile", "etcd_certfile", "etcd_keyfile")
    endpoints, prefix, cafile, certfile, keyfile = (etcd[k] for k in keys)
    return endpoints, prefix, cafile, certfile, keyfile


def _run(work: Any) -> Any:
    from shoal.snapshot import SnapshotError
    from shoal.store import StoreError

    try:
        return asyncio.run(work)
    except (SnapshotError, StoreError, ValueError, KeyError) as err:
        raise click.ClickException(str(err)) from None
