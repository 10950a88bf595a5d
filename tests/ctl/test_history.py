"""``shoal history``: the revision table with changed fields, ``--diff``,
and refusals of bad arguments."""

from __future__ import annotations

from shoal.client import Client

from tests.ctl.conftest import Shoal


async def test_history_table_and_diff(shoal: Shoal, shoal_client: Client) -> None:
    await shoal("create", "namespace", "hist")
    await shoal("create", "deployment", "web", "--image=shoal.local/hello:v1", "-n", "hist")
    await shoal("scale", "deployment/web", "--replicas=3", "-n", "hist")
    await shoal("set", "image", "deployment/web", "hello=shoal.local/hello:v2", "-n", "hist")
    entries = await shoal_client.history("Deployment", "web", "hist")
    revs = [e.resource_version for e in entries]
    assert len(revs) == 3

    table = await shoal("history", "deployment/web", "-n", "hist")
    assert table.code == 0, table.err
    lines = table.out.splitlines()
    assert lines[0].split() == ["REVISION", "TIME", "VERB", "USER", "CHANGED-FIELDS"]
    assert [line.split()[0] for line in lines[1:]] == revs
    assert [line.split()[2] for line in lines[1:]] == ["create", "patch", "update"]
    assert lines[1].endswith("(created)")
    assert lines[2].split()[-1] == "metadata.generation,spec.replicas"
    assert lines[3].split()[-1] == "metadata.generation,spec.template.spec.containers"

    diff = await shoal("history", "deploy/web", "-n", "hist", "--diff", revs[1], revs[2])
    assert diff.code == 0, diff.err
    assert f"--- revision {revs[1]}" in diff.out
    changed = [line for line in diff.out.splitlines() if line[:1] in "+-"]
    assert [line for line in changed if "image" in line] == [
        "-      - image: shoal.local/hello:v1",
        "+      - image: shoal.local/hello:v2",
    ]


async def test_history_refuses_bad_arguments(shoal: Shoal) -> None:
    await shoal("create", "configmap", "cfg", "--from-literal=a=1")
    assert (await shoal("history", "configmaps")).code != 0  # no name
    missing = await shoal("history", "configmap/cfg", "--diff", "1", "999999")
    assert missing.code != 0
    assert "not retained" in missing.err
    absent = await shoal("history", "configmap/nothing")
    assert absent.code != 0
    assert "not found" in absent.err
