"""``shoal cp``'s reading of its arguments and its unpacking of the pod's
archive, without a cluster."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import click
import pytest
from shoal.ctl.cp import PodPath, _unpack, pod_path


def test_pod_paths_read_as_kubectl_reads_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert pod_path("web:/tmp/a", "default") == PodPath("default", "web", "/tmp/a")
    assert pod_path("shop/web:/tmp/a", "default") == PodPath("shop", "web", "/tmp/a")
    assert pod_path("./local/file", "default") is None
    monkeypatch.chdir(tmp_path)
    (tmp_path / "odd:name").write_text("")
    assert pod_path("odd:name", "default") is None  # an existing local file wins
    for bad in ("a/b/c:/x", "web:", ":/x"):
        with pytest.raises(click.UsageError, match="canonical format"):
            pod_path(bad, "default")


def _archive(members: dict[str, bytes]) -> tarfile.TarFile:
    data = io.BytesIO()
    with tarfile.open(fileobj=data, mode="w") as tar:
        for name, body in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(body)
            tar.addfile(info, io.BytesIO(body))
    data.seek(0)
    return tarfile.open(fileobj=data, mode="r")


def test_unpack_keeps_to_the_destination(tmp_path: Path) -> None:
    tree = {"tmp/tree/a.txt": b"a", "tmp/tree/sub/b.txt": b"b", "tmp/other.txt": b"no"}
    _unpack(_archive(tree), "tmp/tree", tmp_path / "out")
    assert sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*.txt")) == [
        "out/a.txt", "out/sub/b.txt",
    ]  # fmt: skip
    _unpack(_archive({"tmp/one.txt": b"1"}), "tmp/one.txt", tmp_path)  # into a directory
    assert (tmp_path / "one.txt").read_bytes() == b"1"
    with pytest.raises(tarfile.OutsideDestinationError):  # a hostile archive
        hostile = {"tmp/tree/ok": b"", "tmp/tree/../../../escape": b"x"}
        _unpack(_archive(hostile), "tmp/tree", tmp_path / "safe")
    assert not (tmp_path.parent / "escape").exists()
