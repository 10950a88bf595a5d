"""Jobs and CronJobs through the REST gateway: discovery, refusals (422 as
over gRPC INVALID_ARGUMENT), Kubernetes' documentation manifests, kubectl's
create/get/wait/logs and the official Python client's BatchV1Api."""

from __future__ import annotations

import asyncio
import json
import re
from typing import Any

import pytest
import yaml
from shoal import errors
from shoal.manifest import from_dict

from tests.gateway.conftest import MANIFESTS, GatewayCluster, GatewayServer
from tests.gateway.test_http import call
from tests.integration.helpers import eventually
from tests.requirements import require_module

JOBS = "/apis/batch/v1/namespaces/default/jobs"
CRONJOBS = "/apis/batch/v1/namespaces/default/cronjobs"


def _job(**spec: Any) -> dict[str, Any]:
    pod = {"restartPolicy": "Never", "containers": [{"name": "c", "image": "busybox"}]}
    pod.update(spec.pop("pod", {}))
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": "j"},
        "spec": {"template": {"spec": pod}, **spec},
    }


def _cron(schedule: str, **spec: Any) -> dict[str, Any]:
    template = _job()["spec"]
    return {
        "apiVersion": "batch/v1",
        "kind": "CronJob",
        "metadata": {"name": "cj"},
        "spec": {"schedule": schedule, "jobTemplate": {"spec": template}, **spec},
    }


BAD: list[tuple[str, dict[str, Any], str]] = [
    (JOBS, _job(pod={"restartPolicy": "Always"}), "spec.template.spec.restartPolicy"),
    (JOBS, _job(pod={"restartPolicy": ""}), "spec.template.spec.restartPolicy"),
    (JOBS, _job(completions=-1), "spec.completions"),
    (JOBS, _job(parallelism=-2), "spec.parallelism"),
    (JOBS, _job(completionMode="Indexed", parallelism=2), "spec.completions"),
    (JOBS, _job(completionMode="Sideways"), "spec.completionMode"),
    (JOBS, _job(backoffLimitPerIndex=1), "spec.backoffLimitPerIndex"),
    (JOBS, _job(podReplacementPolicy="Sometimes"), "spec.podReplacementPolicy"),
    (
        JOBS,
        _job(
            completionMode="Indexed",
            completions=2,
            successPolicy={"rules": [{"succeededIndexes": "5"}]},
        ),
        "spec.successPolicy.rules[0].succeededIndexes",
    ),
    (CRONJOBS, _cron("not a schedule"), "spec.schedule"),
    (CRONJOBS, _cron("61 * * * *"), "spec.schedule"),
    (CRONJOBS, _cron("* * * * * *"), "spec.schedule"),
    (CRONJOBS, _cron("TZ=UTC * * * * *"), "spec.schedule"),
    (CRONJOBS, _cron("@hourly", timeZone="Mars/Olympus"), "spec.timeZone"),
    (CRONJOBS, _cron("@hourly", concurrencyPolicy="Sometimes"), "spec.concurrencyPolicy"),
]


@pytest.mark.parametrize(("path", "body", "field"), BAD)
async def test_refusals_are_422_and_invalid_argument(
    gateway_server: GatewayServer, path: str, body: dict[str, Any], field: str
) -> None:
    code, status = await call(gateway_server, "POST", path, body)
    assert (code, status["reason"]) == (422, "Invalid"), status
    assert field in [c["field"] for c in status["details"]["causes"]], status
    with pytest.raises(errors.InvalidError) as refused:
        await gateway_server.client.create(from_dict(body))
    assert field in str(refused.value)
    kind = body["kind"]
    assert not (await gateway_server.client.list(kind, "default")).items


async def test_discovery_defaults_and_immutable_selector(gateway_server: GatewayServer) -> None:
    code, group = await call(gateway_server, "GET", "/apis/batch/v1")
    assert code == 200
    resources = {r["name"]: r for r in group["resources"]}
    assert {"jobs", "jobs/status", "cronjobs", "cronjobs/status"} <= set(resources)
    assert resources["cronjobs"]["shortNames"] == ["cj"]
    assert "all" in resources["jobs"].get("categories", [])
    code, created = await call(gateway_server, "POST", JOBS, _job())
    assert code == 201, created
    spec = created["spec"]
    assert (spec["completions"], spec["parallelism"], spec["backoffLimit"]) == (1, 1, 6)
    assert (spec["completionMode"], spec["suspend"]) == ("NonIndexed", False)
    uid = created["metadata"]["uid"]
    assert spec["selector"] == {"matchLabels": {"batch.kubernetes.io/controller-uid": uid}}
    changed = {**created, "spec": {**spec, "selector": {"matchLabels": {"a": "b"}}}}
    code, status = await call(gateway_server, "PUT", f"{JOBS}/j", changed)
    assert code == 422 and "spec.selector" in status["message"]
    code, cron = await call(gateway_server, "POST", CRONJOBS, _cron("*/5 * * * *"))
    assert code == 201, cron
    cspec = cron["spec"]
    assert (cspec["concurrencyPolicy"], cspec["suspend"]) == ("Allow", False)
    limits = (cspec["successfulJobsHistoryLimit"], cspec["failedJobsHistoryLimit"])
    assert limits == (3, 1)


async def test_documentation_manifests_apply(gateway_server: GatewayServer) -> None:
    for name in (
        "job-pi.yaml",
        "cronjob-hello.yaml",
        "job-backoff-limit-per-index.yaml",
        "job-success-policy.yaml",
    ):
        run = await gateway_server.kubectl("apply", "-f", str(MANIFESTS / name))
        assert run.code == 0, run.err
        again = await gateway_server.kubectl("apply", "-f", str(MANIFESTS / name))
        assert again.code == 0 and "unchanged" in again.out, again.err
    pi = yaml.safe_load((MANIFESTS / "job-pi.yaml").read_text())
    stored = await gateway_server.client.get("Job", "pi", "default")
    assert (
        list(stored.spec.template.spec.containers[0].command)
        == pi["spec"]["template"]["spec"]["containers"][0]["command"]
    )
    hello = await gateway_server.client.get("CronJob", "hello", "default")
    assert hello.spec.schedule == "* * * * *"
    per_index = await gateway_server.client.get("Job", "job-backoff-limit-per-index-example")
    assert (per_index.spec.backoff_limit_per_index, per_index.spec.max_failed_indexes) == (1, 5)
    success = await gateway_server.client.get("Job", "job-success", "default")
    [rule] = success.spec.success_policy.rules
    assert (rule.succeeded_indexes, rule.succeeded_count) == ("0,2-3", 1)


@pytest.mark.usefixtures("needs_kubectl")
async def test_kubectl_create_job_from_a_cronjob_with_index_policies(
    gateway_server: GatewayServer,
) -> None:
    """kubectl copies the cronjob's job template into a protobuf body: the
    per-index, success and replacement policies decode."""
    template = _job(
        completionMode="Indexed",
        completions=3,
        backoffLimitPerIndex=1,
        maxFailedIndexes=1,
        podReplacementPolicy="Failed",
        successPolicy={"rules": [{"succeededIndexes": "0-1", "succeededCount": 1}]},
    )["spec"]
    cron = {**_cron("@hourly"), "metadata": {"name": "nightly"}}
    cron["spec"]["jobTemplate"] = {"spec": template}
    run = await gateway_server.kubectl("apply", "-f", "-", input=json.dumps(cron))
    assert run.code == 0, run.err
    run = await gateway_server.kubectl("create", "job", "now", "--from=cronjob/nightly")
    assert run.code == 0, run.err
    spec = (await gateway_server.client.get("Job", "now", "default")).spec
    assert (spec.backoff_limit_per_index, spec.max_failed_indexes) == (1, 1)
    assert spec.pod_replacement_policy == "Failed"
    [rule] = spec.success_policy.rules
    assert (rule.succeeded_indexes, rule.succeeded_count) == ("0-1", 1)


@pytest.mark.usefixtures("needs_kubectl")
async def test_kubectl_create_get_wait_logs(gateway_cluster: GatewayCluster) -> None:
    k = gateway_cluster.kubectl
    run = await k("create", "job", "hello", "--image=busybox", "--", "sh", "-c", "echo hi there")
    assert run.code == 0, run.err
    wait = await k("wait", "--for=condition=complete", "job/hello", "--timeout=60s")
    assert wait.code == 0, wait.err
    assert "job.batch/hello condition met" in wait.out
    logs = await eventually(lambda: _nonempty(k("logs", "job/hello")), timeout=15)
    assert logs.out == "hi there\n"
    # kubectl events --for selects on involvedObject.apiVersion (and kind, name)
    events = await k("events", "--for", "job/hello")
    assert events.code == 0, events.err
    assert re.search(r"Normal\s+SuccessfulCreate\s+Job/hello\s+Created pod: hello-", events.out)
    assert "Pod/" not in events.out, events.out  # kubectl events prints Kind/name
    got = await k("get", "jobs")
    assert got.code == 0, got.err
    assert re.match(r"NAME\s+STATUS\s+COMPLETIONS\s+DURATION\s+AGE\n", got.out), got.out
    assert re.search(r"^hello\s+Complete\s+1/1\s+\d+s\s+\d+s$", got.out, re.M), got.out
    wide = await k("get", "jobs", "-o", "wide")
    assert re.match(r"NAME.*AGE\s+CONTAINERS\s+IMAGES\s+SELECTOR\n", wide.out), wide.out
    assert "batch.kubernetes.io/controller-uid=" in wide.out
    run = await k("create", "cronjob", "tick", "--image=busybox", "--schedule=*/5 * * * *")
    assert run.code == 0, run.err
    run = await k("create", "job", "manual", "--from=cronjob/tick")
    assert run.code == 0, run.err
    manual = await gateway_cluster.cluster.client.get("Job", "manual", "default")
    assert manual.metadata.annotations["cronjob.kubernetes.io/instantiate"] == "manual"
    got = await k("get", "cronjobs")
    assert re.match(
        r"NAME\s+SCHEDULE\s+TIMEZONE\s+SUSPEND\s+ACTIVE\s+LAST SCHEDULE\s+AGE\n", got.out
    ), got.out
    # The manual job is the cronjob's (ownerReference), yet not in its active
    # list: ACTIVE does not count it, as in Kubernetes.
    assert re.search(r"^tick\s+\*/5 \* \* \* \*\s+<none>\s+False\s+0\s+<none>", got.out, re.M)
    every = await k("get", "all")
    assert "cronjob.batch/tick" in every.out and "job.batch/manual" in every.out, every.out


async def _nonempty(run: Any) -> Any:
    result = await run
    return result if result.out else None


def _batch_client(url: str) -> tuple[Any, Any, Any]:
    kubernetes = require_module("kubernetes")
    m = kubernetes.client
    configuration = m.Configuration()
    configuration.host = url
    with m.ApiClient(configuration) as api:
        batch = m.BatchV1Api(api)
        container = m.V1Container(name="c", image="busybox", command=["sh", "-c", "echo py"])
        body = m.V1Job(
            metadata=m.V1ObjectMeta(name="py"),
            spec=m.V1JobSpec(
                template=m.V1PodTemplateSpec(
                    spec=m.V1PodSpec(containers=[container], restart_policy="Never")
                )
            ),
        )
        created = batch.create_namespaced_job("default", body)
        read = batch.read_namespaced_job("py", "default")
        listed = batch.list_namespaced_job("default")
        cron = m.V1CronJob(
            metadata=m.V1ObjectMeta(name="pycron"),
            spec=m.V1CronJobSpec(
                schedule="@hourly", job_template=m.V1JobTemplateSpec(spec=body.spec)
            ),
        )
        batch.create_namespaced_cron_job("default", cron)
        crons = batch.list_namespaced_cron_job("default")
        return created, (read, listed), crons


async def test_python_client_batch_v1(gateway_server: GatewayServer) -> None:
    created, (read, listed), crons = await asyncio.to_thread(_batch_client, gateway_server.url)
    assert created.spec.backoff_limit == 6 and created.metadata.uid
    assert read.spec.template.metadata.labels["job-name"] == "py"
    assert [j.metadata.name for j in listed.items] == ["py"]
    assert [c.spec.schedule for c in crons.items] == ["@hourly"]
    assert crons.items[0].spec.successful_jobs_history_limit == 3
