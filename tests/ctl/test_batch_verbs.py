"""``shoal create job|cronjob``, ``logs job/NAME``, ``wait
--for=condition=complete``, ``get jobs,cronjobs`` and ``delete job`` on an
in-process cluster of hollow nodes (the fake runtime runs the commands)."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest_asyncio
from shoal import errors
from shoal.agent.testing import Cluster, start_cluster, stop_cluster

from tests.ctl.conftest import Result, Shoal, invoke
from tests.integration.helpers import eventually


@pytest_asyncio.fixture
async def cluster(tmp_path: Path) -> AsyncIterator[Cluster]:
    c = await start_cluster(tmp_path, nodes=2)
    try:
        yield c
    finally:
        await stop_cluster(c)


@pytest_asyncio.fixture
async def shoal_on(cluster: Cluster) -> Shoal:
    address = f"127.0.0.1:{cluster.server.port}"

    async def run(*args: str, **_: object) -> Result:
        return await asyncio.to_thread(invoke, ["--server", address, *args])

    return run


async def test_create_job_wait_logs_delete(shoal_on: Shoal, cluster: Cluster) -> None:
    made = await shoal_on(
        "create", "job", "pi", "--image=busybox", "--", "sh", "-c", "echo 3.14159"
    )
    assert (made.code, made.out) == (0, "job.batch/pi created\n"), made.err
    job = await cluster.client.get("Job", "pi", "default")
    assert job.spec.template.spec.restart_policy == "Never"
    assert job.spec.template.spec.containers[0].name == "pi"
    waited = await shoal_on("wait", "--for=condition=complete", "job/pi", "--timeout=60s")
    assert (waited.code, waited.out) == (0, "job.batch/pi condition met\n"), waited.err
    logs = await shoal_on("logs", "job/pi")
    assert (logs.code, logs.out) == (0, "3.14159\n"), logs.err
    got = await shoal_on("get", "jobs")
    assert got.code == 0, got.err
    assert re.match(r"NAME\s+STATUS\s+COMPLETIONS\s+DURATION\s+AGE\n", got.out), got.out
    assert re.search(r"^pi\s+Complete\s+1/1\s+", got.out, re.M), got.out
    every = await shoal_on("get", "all")
    assert "job.batch/pi" in every.out, every.out
    gone = await shoal_on("delete", "job", "pi")
    assert gone.code == 0, gone.err

    async def pods_gone() -> bool:
        pods = (await cluster.client.list("Pod", "default", label_selector="job-name=pi")).items
        return not pods

    await eventually(pods_gone, timeout=30)


async def test_create_cronjob_and_job_from_it(shoal_on: Shoal, cluster: Cluster) -> None:
    made = await shoal_on(
        "create",
        "cronjob",
        "tick",
        "--image=busybox",
        "--schedule=*/1 * * * *",
        "--",
        "echo",
        "tick",
    )
    assert (made.code, made.out) == (0, "cronjob.batch/tick created\n"), made.err
    cj = await cluster.client.get("CronJob", "tick", "default")
    assert cj.spec.job_template.spec.template.spec.restart_policy == "OnFailure"
    assert list(cj.spec.job_template.spec.template.spec.containers[0].command) == ["echo", "tick"]
    listed = await shoal_on("get", "cronjobs")
    assert re.match(
        r"NAME\s+SCHEDULE\s+TIMEZONE\s+SUSPEND\s+ACTIVE\s+LAST SCHEDULE\s+AGE\n", listed.out
    ), listed.out
    assert re.search(r"^tick\s+\*/1 \* \* \* \*\s+<none>\s+False\s+", listed.out, re.M)
    now = await shoal_on("create", "job", "tick-now", "--from=cronjob/tick")
    assert now.code == 0, now.err
    job = await cluster.client.get("Job", "tick-now", "default")
    assert job.metadata.annotations["cronjob.kubernetes.io/instantiate"] == "manual"
    [owner] = job.metadata.owner_references
    assert (owner.kind, owner.uid) == ("CronJob", cj.metadata.uid)
    waited = await shoal_on("wait", "--for=condition=complete", "job/tick-now", "--timeout=60s")
    assert waited.code == 0, waited.err
    logs = await shoal_on("logs", "job/tick-now")
    assert logs.out == "tick\n", logs.err
    bad = await shoal_on("create", "cronjob", "bad", "--image=busybox", "--schedule=every day")
    assert bad.code != 0 and "spec.schedule" in bad.err and "Traceback" not in bad.err
    try:
        await cluster.client.get("CronJob", "bad", "default")
        raise AssertionError("a refused cronjob was stored")
    except errors.NotFoundError:
        pass
    missing = await shoal_on("create", "job", "x", "--from=cronjob/none")
    assert missing.code != 0 and "not found" in missing.err


async def test_apply_documentation_manifests_twice(shoal_on: Shoal, cluster: Cluster) -> None:
    manifests = Path(__file__).parent.parent / "manifests"
    for name, ref in (
        ("job-pi.yaml", "job.batch/pi"),
        ("cronjob-hello.yaml", "cronjob.batch/hello"),
    ):
        first = await shoal_on("apply", "-f", str(manifests / name))
        assert (first.code, first.out) == (0, f"{ref} created\n"), first.err
        again = await shoal_on("apply", "-f", str(manifests / name))
        assert (again.code, again.out) == (0, f"{ref} unchanged\n"), again.err
