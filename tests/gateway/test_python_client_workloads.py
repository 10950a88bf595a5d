"""The official ``kubernetes`` Python client on the workload, policy and
storage kinds: every object the gateway returns must load into the client's
model classes (which refuse a missing required field), and refusals must
come back as the client's ApiException with Kubernetes' Status body."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from tests.gateway.conftest import GatewayServer
from tests.requirements import require_module

kubernetes = require_module("kubernetes")


def _api(url: str) -> Any:
    configuration = kubernetes.client.Configuration()
    configuration.host = url
    return kubernetes.client.ApiClient(configuration)


def _budget_with_condition(url: str) -> tuple[Any, Any, Any]:
    """A budget whose DisruptionAllowed condition has an empty message, as
    the disruption controller writes it (metav1.Condition: message and
    reason are required, and may be empty)."""
    m = kubernetes.client
    with _api(url) as api:
        policy = m.PolicyV1Api(api)
        selector = m.V1LabelSelector(match_labels={"app": "b"})
        body = m.V1PodDisruptionBudget(
            metadata=m.V1ObjectMeta(name="b"),
            spec=m.V1PodDisruptionBudgetSpec(min_available=1, selector=selector),
        )
        policy.create_namespaced_pod_disruption_budget("default", body)
        condition = {
            "type": "DisruptionAllowed", "status": "False", "reason": "InsufficientPods",
            "message": "", "lastTransitionTime": "2026-01-01T00:00:00Z",
        }  # fmt: skip
        patched = policy.patch_namespaced_pod_disruption_budget_status(
            "b", "default", {"status": {"conditions": [condition]}}
        )
        listed = policy.list_pod_disruption_budget_for_all_namespaces()
        raw = policy.read_namespaced_pod_disruption_budget_status(
            "b", "default", _preload_content=False
        )
        return patched, listed, json.loads(raw.data)


async def test_budget_condition_with_empty_message_loads(gateway_server: GatewayServer) -> None:
    patched, listed, raw = await asyncio.to_thread(_budget_with_condition, gateway_server.url)
    condition = patched.status.conditions[0]
    assert (condition.reason, condition.message) == ("InsufficientPods", "")
    assert [b.metadata.name for b in listed.items] == ["b"]
    assert raw["status"]["conditions"][0]["message"] == ""


def _service_condition(url: str) -> Any:
    """A Service's status conditions are metav1.Conditions too."""
    m = kubernetes.client
    with _api(url) as api:
        core = m.CoreV1Api(api)
        port = m.V1ServicePort(port=80)
        body = m.V1Service(metadata=m.V1ObjectMeta(name="s"), spec=m.V1ServiceSpec(ports=[port]))
        core.create_namespaced_service("default", body)
        condition = {
            "type": "LoadBalancerReady", "status": "True", "reason": "",
            "message": "", "lastTransitionTime": "2026-01-01T00:00:00Z",
        }  # fmt: skip
        patch = {"status": {"conditions": [condition]}}
        core.patch_namespaced_service_status("s", "default", patch)
        return core.read_namespaced_service("s", "default")


async def test_service_condition_with_empty_reason_loads(gateway_server: GatewayServer) -> None:
    read = await asyncio.to_thread(_service_condition, gateway_server.url)
    condition = read.status.conditions[0]
    assert (condition.type, condition.reason, condition.message) == ("LoadBalancerReady", "", "")


def _stateful_set(m: Any) -> Any:
    container = m.V1Container(name="c", image="busybox")
    template = m.V1PodTemplateSpec(
        metadata=m.V1ObjectMeta(labels={"app": "web"}),
        spec=m.V1PodSpec(containers=[container]),
    )
    spec = m.V1StatefulSetSpec(
        service_name="web", replicas=1, template=template,
        selector=m.V1LabelSelector(match_labels={"app": "web"}),
    )  # fmt: skip
    return m.V1StatefulSet(metadata=m.V1ObjectMeta(name="web"), spec=spec)


def _negative_scale(url: str) -> tuple[int, dict[str, Any], int]:
    m = kubernetes.client
    with _api(url) as api:
        apps = m.AppsV1Api(api)
        apps.create_namespaced_stateful_set("default", _stateful_set(m))
        scale = apps.read_namespaced_stateful_set_scale("web", "default")
        scale.spec.replicas = -1
        try:
            apps.replace_namespaced_stateful_set_scale("web", "default", scale)
        except m.ApiException as err:
            replicas = apps.read_namespaced_stateful_set("web", "default").spec.replicas
            return err.status, json.loads(err.body), replicas
    raise AssertionError("a negative scale was accepted")


async def test_negative_scale_is_invalid_with_kubernetes_status(
    gateway_server: GatewayServer,
) -> None:
    code, body, replicas = await asyncio.to_thread(_negative_scale, gateway_server.url)
    assert (code, body["reason"], replicas) == (422, "Invalid", 1)
    message = "Invalid value: -1: must be greater than or equal to 0"
    assert body["message"] == f'Scale.autoscaling "web" is invalid: spec.replicas: {message}'
    assert body["details"] == {
        "name": "web", "group": "autoscaling", "kind": "Scale",
        "causes": [{"reason": "FieldValueInvalid", "message": message, "field": "spec.replicas"}],
    }  # fmt: skip


def _refused_eviction(url: str) -> tuple[int, dict[str, Any]]:
    """An eviction of a running pod a budget covers, before the disruption
    controller has looked at the budget."""
    m = kubernetes.client
    with _api(url) as api:
        core, policy = m.CoreV1Api(api), m.PolicyV1Api(api)
        selector = m.V1LabelSelector(match_labels={"app": "e"})
        budget = m.V1PodDisruptionBudget(
            metadata=m.V1ObjectMeta(name="e"),
            spec=m.V1PodDisruptionBudgetSpec(max_unavailable=0, selector=selector),
        )
        policy.create_namespaced_pod_disruption_budget("default", budget)
        pod = m.V1Pod(
            metadata=m.V1ObjectMeta(name="e", labels={"app": "e"}),
            spec=m.V1PodSpec(containers=[m.V1Container(name="c", image="busybox")]),
        )
        core.create_namespaced_pod("default", pod)
        core.patch_namespaced_pod_status("e", "default", {"status": {"phase": "Running"}})
        eviction = m.V1Eviction(metadata=m.V1ObjectMeta(name="e", namespace="default"))
        try:
            core.create_namespaced_pod_eviction("e", "default", eviction)
        except m.ApiException as err:
            return err.status, json.loads(err.body)
    raise AssertionError("the eviction was allowed")


async def test_refused_eviction_names_the_budget(gateway_server: GatewayServer) -> None:
    """Kubernetes' 429 carries the budget's reason as a DisruptionBudget cause."""
    code, body = await asyncio.to_thread(_refused_eviction, gateway_server.url)
    assert (code, body["reason"]) == (429, "TooManyRequests")
    assert body["message"] == "Cannot evict pod as it would violate the pod's disruption budget."
    assert body["details"]["causes"] == [{
        "reason": "DisruptionBudget",
        "message": "The disruption budget e is still being processed by the server.",
    }]  # fmt: skip


def _refused(call: Any) -> tuple[int, dict[str, Any]]:
    try:
        call()
    except kubernetes.client.ApiException as err:
        return err.status, json.loads(err.body)
    raise AssertionError("accepted")


def _long_names(url: str) -> tuple[tuple[int, dict[str, Any]], tuple[int, dict[str, Any]]]:
    m = kubernetes.client
    container = m.V1Container(name="c", image="busybox")
    with _api(url) as api:
        core, batch = m.CoreV1Api(api), m.BatchV1Api(api)
        pod = m.V1Pod(
            metadata=m.V1ObjectMeta(name="p", labels={"app": "x" * 64}),
            spec=m.V1PodSpec(containers=[container]),
        )
        template = m.V1PodTemplateSpec(
            spec=m.V1PodSpec(restart_policy="Never", containers=[container])
        )
        job = m.V1Job(metadata=m.V1ObjectMeta(name="j" * 64), spec=m.V1JobSpec(template=template))
        return (
            _refused(lambda: core.create_namespaced_pod("default", pod)),
            _refused(lambda: batch.create_namespaced_job("default", job)),
        )


async def test_label_values_over_63_characters(gateway_server: GatewayServer) -> None:
    """A label error names its field once; a Job whose name (a label value
    on its pods) is too long is refused up front, as Kubernetes does, rather
    than accepted with pods that can never be created."""
    (pod_code, pod), (job_code, job) = await asyncio.to_thread(_long_names, gateway_server.url)
    too_long = f'Invalid value: "{"x" * 64}": must be no more than 63 characters'
    assert pod_code == 422 and pod["message"] == f'Pod "p" is invalid: metadata.labels: {too_long}'
    assert pod["details"]["causes"] == [
        {"reason": "FieldValueInvalid", "message": too_long, "field": "metadata.labels"}
    ]
    assert job_code == 422
    name = "j" * 64
    too_long = f'Invalid value: "{name}": must be no more than 63 characters'
    fields = {(c["field"], c["message"]) for c in job["details"]["causes"]}
    # the job-name labels, generated on the Job and its pod template
    assert fields == {("metadata.labels", too_long), ("spec.template.labels", too_long)}


def _scale_patches(url: str) -> tuple[int, int, tuple[int, dict[str, Any]]]:
    """A JSON patch of the scale subresource (the client sends a list body
    as application/json-patch+json), and a Scale PUT naming another object."""
    m = kubernetes.client
    with _api(url) as api:
        apps = m.AppsV1Api(api)
        apps.create_namespaced_stateful_set("default", _stateful_set(m))
        operations = [{"op": "replace", "path": "/spec/replicas", "value": 3}]
        patched = apps.patch_namespaced_stateful_set_scale("web", "default", operations)
        stored = apps.read_namespaced_stateful_set("web", "default").spec.replicas
        scale = apps.read_namespaced_stateful_set_scale("web", "default")
        scale.metadata.name, scale.spec.replicas = "other", 5
        refused = _refused(
            lambda: apps.replace_namespaced_stateful_set_scale("web", "default", scale)
        )
        return patched.spec.replicas, stored, refused


async def test_scale_json_patch_and_name_mismatch(gateway_server: GatewayServer) -> None:
    patched, stored, (code, body) = await asyncio.to_thread(_scale_patches, gateway_server.url)
    assert (patched, stored) == (3, 3)
    assert (code, body["reason"]) == (400, "BadRequest")
    mismatch = "the name of the object (other) does not match the name on the URL (web)"
    assert body["message"] == mismatch


def _lists_at_versions(url: str) -> dict[str, Any]:
    """Lists at a resourceVersion older than the latest: Kubernetes reads an
    unqualified or NotOlderThan version as 'at least this fresh' (the
    current state), and only Exact as the state at that version."""
    m = kubernetes.client
    container = m.V1Container(name="c", image="busybox")
    template = m.V1PodTemplateSpec(spec=m.V1PodSpec(restart_policy="Never", containers=[container]))

    def job(name: str) -> Any:
        return m.V1Job(metadata=m.V1ObjectMeta(name=name), spec=m.V1JobSpec(template=template))

    with _api(url) as api:
        batch = m.BatchV1Api(api)
        batch.create_namespaced_job("default", job("a"))
        version = batch.list_namespaced_job("default").metadata.resource_version
        batch.create_namespaced_job("default", job("b"))

        def names(**options: Any) -> list[str]:
            listed = batch.list_namespaced_job("default", **options)
            return [j.metadata.name for j in listed.items]

        future = str(int(version) + 1000)
        return {
            "unqualified": names(resource_version=version),
            "not older": names(resource_version=version, resource_version_match="NotOlderThan"),
            "exact": names(resource_version=version, resource_version_match="Exact"),
            "future": _refused(lambda: names(resource_version=future))[0],
            "match alone": _refused(lambda: names(resource_version_match="NotOlderThan")),
        }


async def test_list_resource_version_match(gateway_server: GatewayServer) -> None:
    seen = await asyncio.to_thread(_lists_at_versions, gateway_server.url)
    assert seen["unqualified"] == seen["not older"] == ["a", "b"]
    assert seen["exact"] == ["a"]
    assert seen["future"] == 504  # Too large resource version
    code, body = seen["match alone"]
    assert (code, body["reason"]) == (422, "Invalid")
    forbidden = "Forbidden: resourceVersionMatch is forbidden unless resourceVersion is provided"
    assert body["details"]["causes"] == [
        {"reason": "FieldValueForbidden", "message": forbidden, "field": "resourceVersionMatch"}
    ]


def _watch_list(url: str) -> tuple[list[tuple[str, Any]], tuple[int, dict[str, Any]]]:
    """A watch list of Jobs: the existing one as ADDED, the end-of-initial-
    events bookmark, then a change made after it."""
    m = kubernetes.client
    container = m.V1Container(name="c", image="busybox")
    template = m.V1PodTemplateSpec(spec=m.V1PodSpec(restart_policy="Never", containers=[container]))
    with _api(url) as api:
        batch = m.BatchV1Api(api)
        batch.create_namespaced_job(
            "default",
            m.V1Job(metadata=m.V1ObjectMeta(name="old"), spec=m.V1JobSpec(template=template)),
        )
        stream = kubernetes.watch.Watch().stream(
            batch.list_namespaced_job, "default",
            send_initial_events=True, resource_version_match="NotOlderThan",
            allow_watch_bookmarks=True, timeout_seconds=10,
        )  # fmt: skip
        seen: list[tuple[str, Any]] = []
        for event in stream:
            if event["type"] == "BOOKMARK":
                seen.append(("BOOKMARK", event["object"]["metadata"].get("annotations")))
                batch.patch_namespaced_job("old", "default", {"metadata": {"labels": {"a": "b"}}})
            else:
                seen.append((event["type"], event["object"].metadata.name))
            if event["type"] == "MODIFIED":
                break
        without_match = _refused(
            lambda: batch.list_namespaced_job(
                "default", watch=True, send_initial_events=True, _preload_content=False
            )
        )
        return seen, without_match


async def test_watch_list_ends_initial_events_with_a_bookmark(
    gateway_server: GatewayServer,
) -> None:
    seen, (code, body) = await asyncio.to_thread(_watch_list, gateway_server.url)
    assert seen == [
        ("ADDED", "old"),
        ("BOOKMARK", {"k8s.io/initial-events-end": "true"}),
        ("MODIFIED", "old"),
    ]
    assert (code, body["details"]["causes"][0]["field"]) == (422, "resourceVersionMatch")


def _managed_by(url: str) -> dict[str, Any]:
    m = kubernetes.client
    container = m.V1Container(name="c", image="busybox")
    template = m.V1PodTemplateSpec(spec=m.V1PodSpec(restart_policy="Never", containers=[container]))

    def job(name: str, managed_by: str) -> Any:
        spec = m.V1JobSpec(template=template, managed_by=managed_by)
        return m.V1Job(metadata=m.V1ObjectMeta(name=name), spec=spec)

    with _api(url) as api:
        batch = m.BatchV1Api(api)
        created = batch.create_namespaced_job("default", job("kueue", "kueue.x-k8s.io/multikueue"))
        change = {"spec": {"managedBy": "example.com/other"}}
        return {
            "created": created.spec.managed_by,
            "bad": _refused(lambda: batch.create_namespaced_job("default", job("b", "nodomain"))),
            "changed": _refused(lambda: batch.patch_namespaced_job("kueue", "default", change)),
        }


async def test_job_managed_by(gateway_server: GatewayServer) -> None:
    """batch/v1 Job's spec.managedBy: kept, validated, immutable."""
    seen = await asyncio.to_thread(_managed_by, gateway_server.url)
    assert seen["created"] == "kueue.x-k8s.io/multikueue"
    code, body = seen["bad"]
    invalid = 'Invalid value: "nodomain": must be a domain-prefixed path (such as "acme.io/foo")'
    assert code == 422 and body["details"]["causes"] == [
        {"reason": "FieldValueInvalid", "message": invalid, "field": "spec.managedBy"}
    ]
    code, body = seen["changed"]
    assert code == 422 and body["details"]["causes"][0]["field"] == "spec.managedBy"


def _dry_run_eviction(url: str) -> Any:
    m = kubernetes.client
    with _api(url) as api:
        core = m.CoreV1Api(api)
        pod = m.V1Pod(
            metadata=m.V1ObjectMeta(name="d"),
            spec=m.V1PodSpec(containers=[m.V1Container(name="c", image="busybox")]),
        )
        core.create_namespaced_pod("default", pod)
        eviction = m.V1Eviction(
            metadata=m.V1ObjectMeta(name="d", namespace="default"),
            delete_options=m.V1DeleteOptions(dry_run=["All"]),
        )
        core.create_namespaced_pod_eviction("d", "default", eviction)
        return core.read_namespaced_pod("d", "default")


async def test_dry_run_eviction_deletes_nothing(gateway_server: GatewayServer) -> None:
    """kubectl drain --dry-run=server puts dryRun in the Eviction's deleteOptions."""
    pod = await asyncio.to_thread(_dry_run_eviction, gateway_server.url)
    assert pod.metadata.name == "d" and pod.metadata.deletion_timestamp is None


def _dry_run_delete_collection(url: str) -> list[str]:
    m = kubernetes.client
    container = m.V1Container(name="c", image="busybox")
    template = m.V1PodTemplateSpec(spec=m.V1PodSpec(restart_policy="Never", containers=[container]))
    with _api(url) as api:
        batch = m.BatchV1Api(api)
        for name in ("x", "y"):
            job = m.V1Job(metadata=m.V1ObjectMeta(name=name), spec=m.V1JobSpec(template=template))
            batch.create_namespaced_job("default", job)
        batch.delete_collection_namespaced_job("default", body=m.V1DeleteOptions(dry_run=["All"]))
        return [j.metadata.name for j in batch.list_namespaced_job("default").items]


async def test_delete_collection_dry_run_in_the_body(gateway_server: GatewayServer) -> None:
    """DeleteOptions' dryRun in the body counts for a collection as for one object."""
    names = await asyncio.to_thread(_dry_run_delete_collection, gateway_server.url)
    assert names == ["x", "y"]


def _negative_job_status(url: str) -> tuple[tuple[int, dict[str, Any]], Any]:
    m = kubernetes.client
    container = m.V1Container(name="c", image="busybox")
    template = m.V1PodTemplateSpec(spec=m.V1PodSpec(restart_policy="Never", containers=[container]))
    with _api(url) as api:
        batch = m.BatchV1Api(api)
        job = m.V1Job(metadata=m.V1ObjectMeta(name="n"), spec=m.V1JobSpec(template=template))
        batch.create_namespaced_job("default", job)
        patch = {"status": {"active": -1}}
        refused = _refused(lambda: batch.patch_namespaced_job_status("n", "default", patch))
        return refused, batch.read_namespaced_job_status("n", "default").status


async def test_negative_job_status_is_invalid(gateway_server: GatewayServer) -> None:
    (code, body), status = await asyncio.to_thread(_negative_job_status, gateway_server.url)
    assert code == 422 and body["details"]["causes"] == [{
        "reason": "FieldValueInvalid",
        "message": "Invalid value: -1: must be greater than or equal to 0",
        "field": "status.active",
    }]  # fmt: skip
    assert status.active is None


def _revision_without_data(url: str) -> tuple[int, list[str]]:
    m = kubernetes.client
    with _api(url) as api:
        body = {"apiVersion": "apps/v1", "kind": "ControllerRevision", "metadata": {"name": "r"}}
        response = api.call_api(
            "POST", f"{url}/apis/apps/v1/namespaces/default/controllerrevisions",
            header_params={"Content-Type": "application/json"}, body={**body, "revision": 1},
        )  # fmt: skip
        response.read()
        listed = m.AppsV1Api(api).list_namespaced_controller_revision("default")
        return response.status, [r.metadata.name for r in listed.items]


async def test_controller_revision_without_data_is_invalid(gateway_server: GatewayServer) -> None:
    code, names = await asyncio.to_thread(_revision_without_data, gateway_server.url)
    assert (code, names) == (422, [])


def _job_policies(url: str) -> tuple[Any, Any]:
    """A Job with the per-index, success and replacement policies, made and
    read through the client's models (V1SuccessPolicy and the new JobSpec
    and JobStatus fields), its status written as the job controller would."""
    m = kubernetes.client
    container = m.V1Container(name="c", image="busybox")
    template = m.V1PodTemplateSpec(spec=m.V1PodSpec(restart_policy="Never", containers=[container]))
    rule = m.V1SuccessPolicyRule(succeeded_indexes="0,2-3", succeeded_count=1)
    spec = m.V1JobSpec(
        template=template,
        completions=4,
        completion_mode="Indexed",
        backoff_limit_per_index=1,
        max_failed_indexes=2,
        pod_replacement_policy="Failed",
        success_policy=m.V1SuccessPolicy(rules=[rule]),
    )
    with _api(url) as api:
        batch = m.BatchV1Api(api)
        created = batch.create_namespaced_job(
            "default", m.V1Job(metadata=m.V1ObjectMeta(name="policies"), spec=spec)
        )
        batch.patch_namespaced_job_status(
            "policies", "default", {"status": {"failedIndexes": "1", "completedIndexes": "0"}}
        )
        return created, batch.read_namespaced_job_status("policies", "default")


async def test_job_policies_through_the_client_models(gateway_server: GatewayServer) -> None:
    created, read = await asyncio.to_thread(_job_policies, gateway_server.url)
    spec = created.spec
    assert (spec.backoff_limit_per_index, spec.max_failed_indexes) == (1, 2)
    assert spec.backoff_limit == 2**31 - 1 and spec.pod_replacement_policy == "Failed"
    [rule] = spec.success_policy.rules
    assert (rule.succeeded_indexes, rule.succeeded_count) == ("0,2-3", 1)
    assert (read.status.failed_indexes, read.status.completed_indexes) == ("1", "0")
