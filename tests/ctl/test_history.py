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


async def test_history_deleted_and_limit(shoal: Shoal, shoal_client: Client) -> None:
    await shoal("create", "namespace", "gone")
    for name in ("one", "two"):
        await shoal("create", "configmap", name, "--from-literal=a=1", "-n", "gone")
        await shoal("delete", "configmap", name, "-n", "gone")
    await shoal("create", "configmap", "kept", "--from-literal=a=1", "-n", "gone")
    for n in range(2, 5):
        await shoal("patch", "configmap/kept", "-p", f'{{"data": {{"a": "{n}"}}}}', "-n", "gone")

    listed = await shoal("history", "--deleted", "configmaps", "-n", "gone")
    assert listed.code == 0, listed.err
    lines = listed.out.splitlines()
    assert lines[0].split() == ["KIND", "NAMESPACE", "NAME", "DELETED", "REVISION", "USER"]
    assert [line.split()[:3] for line in lines[1:]] == [
        ["ConfigMap", "gone", "one"],
        ["ConfigMap", "gone", "two"],
    ]
    everywhere = await shoal("history", "--deleted", "-A")  # every kind, every namespace
    assert everywhere.code == 0, everywhere.err
    assert "two" in everywhere.out and "kept" not in everywhere.out
    first = await shoal("history", "--deleted", "configmaps", "-A", "--limit", "1")
    assert [line.split()[2] for line in first.out.splitlines()[1:]] == ["one"]
    assert "more follow" in first.err

    one = await shoal("history", "configmap/one", "-n", "gone")  # a deleted object
    assert one.code == 0, one.err
    assert one.out.splitlines()[-1].endswith("(deleted)")

    whole = await shoal("history", "configmap/kept", "-n", "gone")
    assert len(whole.out.splitlines()) == 1 + 4
    limited = await shoal("history", "configmap/kept", "-n", "gone", "--limit", "2")
    assert limited.out.splitlines() == whole.out.splitlines()[:3]
    assert "more follow" in limited.err
    bad = await shoal("history", "configmap/kept", "--limit", "0")
    assert bad.code != 0
    assert (await shoal("history", "--deleted", "configmap/one")).code != 0


def test_history_retention_flag_parses_kinds_and_durations() -> None:
    import click
    import pytest
    from shoal.ctl.retention import parse_retention

    assert parse_retention(
        "deployments.apps=720h, roles.rbac.authorization.k8s.io=90d,events=0"
    ) == {
        "/registry/deployments.apps/": 720 * 3600.0,
        "/registry/roles.rbac.authorization.k8s.io/": 90 * 86400.0,
        "/registry/events/": 0.0,
    }
    assert parse_retention("") == {}
    for bad in ("deployments", "nothings=1h", "deployments.apps=soon", "=1h"):
        with pytest.raises(click.BadParameter):
            parse_retention(bad)


def test_server_refuses_a_bad_history_retention(tmp_path: object) -> None:
    from click.testing import CliRunner
    from shoal.ctl.server import server_command

    result = CliRunner().invoke(
        server_command,
        ["--data-dir", str(tmp_path), "--history-retention", "deployments.apps=soon"],
    )
    assert result.exit_code == 2, result.output
    assert "--history-retention" in result.output and "invalid duration" in result.output
