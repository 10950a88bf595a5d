"""The kind registry: names as kubectl resolves them, messages, manifests."""

from __future__ import annotations

import pytest
from shoal import kinds
from shoal.api.v1 import apps_pb2, coordination_pb2, core_pb2, meta_pb2

EXPECTED = {
    # kind: (apiVersion, plural, short names, namespaced, has_status)
    "Namespace": ("v1", "namespaces", ("ns",), False, True),
    "Node": ("v1", "nodes", ("no",), False, True),
    "Pod": ("v1", "pods", ("po",), True, True),
    "Binding": ("v1", "bindings", (), True, False),
    "ReplicationController": ("v1", "replicationcontrollers", ("rc",), True, True),
    "Service": ("v1", "services", ("svc",), True, True),
    "Endpoints": ("v1", "endpoints", ("ep",), True, False),
    "Event": ("v1", "events", ("ev",), True, False),
    "ConfigMap": ("v1", "configmaps", ("cm",), True, False),
    "Secret": ("v1", "secrets", (), True, False),
    "ReplicaSet": ("apps/v1", "replicasets", ("rs",), True, True),
    "Deployment": ("apps/v1", "deployments", ("deploy",), True, True),
    "DaemonSet": ("apps/v1", "daemonsets", ("ds",), True, True),
    "StatefulSet": ("apps/v1", "statefulsets", ("sts",), True, True),
    "ControllerRevision": ("apps/v1", "controllerrevisions", (), True, False),
    "Lease": ("coordination.k8s.io/v1", "leases", (), True, False),
    "CustomResourceDefinition": (
        "apiextensions.k8s.io/v1",
        "customresourcedefinitions",
        ("crd", "crds"),
        False,
        True,
    ),
    "Job": ("batch/v1", "jobs", (), True, True),
    "CronJob": ("batch/v1", "cronjobs", ("cj",), True, True),
    "ServiceAccount": ("v1", "serviceaccounts", ("sa",), True, False),
    "PersistentVolume": ("v1", "persistentvolumes", ("pv",), False, True),
    "PersistentVolumeClaim": ("v1", "persistentvolumeclaims", ("pvc",), True, True),
    "StorageClass": ("storage.k8s.io/v1", "storageclasses", ("sc",), False, False),
    "Role": ("rbac.authorization.k8s.io/v1", "roles", (), True, False),
    "ClusterRole": ("rbac.authorization.k8s.io/v1", "clusterroles", (), False, False),
    "RoleBinding": ("rbac.authorization.k8s.io/v1", "rolebindings", (), True, False),
    "ClusterRoleBinding": (
        "rbac.authorization.k8s.io/v1",
        "clusterrolebindings",
        (),
        False,
        False,
    ),
    "PriorityClass": ("scheduling.k8s.io/v1", "priorityclasses", ("pc",), False, False),
    "PodDisruptionBudget": ("policy/v1", "poddisruptionbudgets", ("pdb",), True, True),
    "Eviction": ("policy/v1", "evictions", (), True, False),
    "HorizontalPodAutoscaler": (
        "autoscaling/v2",
        "horizontalpodautoscalers",
        ("hpa",),
        True,
        True,
    ),
}


def test_every_builtin_kind_is_registered_as_kubectl_knows_it() -> None:
    got = {
        k.kind: (k.api_version, k.plural, k.short_names, k.namespaced, k.has_status)
        for k in kinds.all_kinds()
        if kinds.generic_message(k.message) is None  # not the CRD tests' kinds
        and kinds.versions_of(k)[0] is k  # the preferred version
    }
    assert got == EXPECTED
    also_served = [
        (k.api_version, k.kind) for k in kinds.all_kinds() if kinds.versions_of(k)[0] is not k
        and kinds.generic_message(k.message) is None
    ]  # fmt: skip
    assert also_served == [("autoscaling/v1", "HorizontalPodAutoscaler")]


@pytest.mark.parametrize("name", ["Pod", "pod", "pods", "po", "PODS", "Po", " pod "])
def test_resolve_pod_by_every_name_form(name: str) -> None:
    assert kinds.resolve(name).message is core_pb2.Pod


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("deploy", "Deployment"),
        ("deployments", "Deployment"),
        ("deployments.apps", "Deployment"),
        ("deploy.apps", "Deployment"),
        ("deployments.v1.apps", "Deployment"),
        ("rs", "ReplicaSet"),
        ("replicaset", "ReplicaSet"),
        ("rc", "ReplicationController"),
        ("replicationcontroller", "ReplicationController"),
        ("svc", "Service"),
        ("ep", "Endpoints"),
        ("endpoints", "Endpoints"),
        ("no", "Node"),
        ("ns", "Namespace"),
        ("cm", "ConfigMap"),
        ("configmaps", "ConfigMap"),
        ("ev", "Event"),
        ("secret", "Secret"),
        ("Secrets", "Secret"),
        ("lease", "Lease"),
        ("leases.coordination.k8s.io", "Lease"),
        ("leases.v1.coordination.k8s.io", "Lease"),
        ("pods.v1", "Pod"),
    ],
)
def test_resolve_names_and_group_qualified_names(name: str, kind: str) -> None:
    assert kinds.resolve(name).kind == kind


@pytest.mark.parametrize("name", ["podz", "pods.apps", "deployments.extensions", "", "lease.x"])
def test_resolve_unknown_name_says_what_kubectl_says(name: str) -> None:
    with pytest.raises(kinds.UnknownKindError) as err:
        kinds.resolve(name)
    assert str(err.value) == f'the server doesn\'t have a resource type "{name}"'


def test_group_version_and_full_name() -> None:
    assert kinds.resolve("po").group == ""
    assert kinds.resolve("deploy").group == "apps"
    assert kinds.resolve("lease").group == "coordination.k8s.io"
    assert kinds.resolve("lease").version == "v1"
    assert kinds.resolve("po").full_name == "shoal.v1.Pod"
    assert kinds.resolve("rs").full_name == "shoal.v1.ReplicaSet"


@pytest.mark.parametrize(
    "key",
    [
        apps_pb2.Deployment,
        apps_pb2.Deployment(),
        "shoal.v1.Deployment",
        "type.googleapis.com/shoal.v1.Deployment",
    ],
)
def test_for_message(key: object) -> None:
    assert kinds.for_message(key).kind == "Deployment"  # type: ignore[arg-type]


def test_for_message_unknown() -> None:
    with pytest.raises(kinds.UnknownKindError) as err:
        kinds.for_message(meta_pb2.ObjectMeta)
    assert str(err.value) == 'no kind is registered for message "shoal.v1.ObjectMeta"'


def test_by_api_version_kind() -> None:
    assert kinds.by_api_version_kind("coordination.k8s.io/v1", "Lease").message is (
        coordination_pb2.Lease
    )
    assert kinds.by_api_version_kind("apps/v1", "ReplicaSet").plural == "replicasets"


@pytest.mark.parametrize(
    ("api_version", "kind"), [("apps/v1", "Pod"), ("v1", "Deployment"), ("v1", "pod")]
)
def test_by_api_version_kind_errors_name_both(api_version: str, kind: str) -> None:
    with pytest.raises(kinds.UnknownKindError) as err:
        kinds.by_api_version_kind(api_version, kind)
    assert str(err.value) == f'no kind "{kind}" is registered for version "{api_version}"'


def _kind(**overrides: object) -> kinds.Kind:
    fields: dict[str, object] = dict(
        kind="Widget",
        api_version="example.com/v1",
        plural="widgets",
        singular="widget",
        short_names=("wd",),
        namespaced=True,
        message=meta_pb2.LocalObjectReference,
        has_status=False,
    )
    fields.update(overrides)
    return kinds.Kind(**fields)  # type: ignore[arg-type]


@pytest.fixture
def isolated_registry(monkeypatch: pytest.MonkeyPatch) -> None:
    # register() mutates module state: give each test its own copy.
    for attr in ("_kinds", "_by_message", "_by_api_version_kind", "_generic"):
        monkeypatch.setattr(kinds, attr, getattr(kinds, attr).copy())
    monkeypatch.setattr(kinds, "_by_name", {k: list(v) for k, v in kinds._by_name.items()})


@pytest.mark.usefixtures("isolated_registry")
def test_register_a_plugin_kind() -> None:
    kinds.register(_kind())
    assert kinds.resolve("widgets.example.com").kind == "Widget"
    assert kinds.resolve("wd").namespaced
    assert kinds.for_message("shoal.v1.LocalObjectReference").kind == "Widget"
    assert kinds.all_kinds()[-1].kind == "Widget"


@pytest.mark.usefixtures("isolated_registry")
@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (
            {"short_names": ("po",), "api_version": "v1"},
            'kind Widget: name "po" is already used by Pod',
        ),
        (
            {"plural": "Services", "api_version": "v1"},
            'kind Widget: name "services" is already used by Service',
        ),
        ({"kind": "Secret", "api_version": "v1"}, "kind Secret is already registered for v1"),
        (
            {"message": core_pb2.Pod},
            "kind Widget: message shoal.v1.Pod is already registered",
        ),
    ],
)
def test_register_rejects_duplicate_names(overrides: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError) as err:
        kinds.register(_kind(**overrides))
    assert str(err.value) == message
    assert "Widget" not in {k.kind for k in kinds.all_kinds()}


@pytest.mark.usefixtures("isolated_registry")
def test_names_are_unique_within_a_group_only() -> None:
    """As in Kubernetes: another group may use a name; the unqualified name
    keeps finding the kind registered first, the qualified one finds each."""
    kinds.register(_kind(short_names=("po",)))
    assert kinds.resolve("po").kind == "Pod"
    assert kinds.resolve("po.example.com").kind == "Widget"


@pytest.mark.usefixtures("isolated_registry")
def test_register_again_is_idempotent_and_unregister_forgets() -> None:
    kinds.register(_kind())
    kinds.register(_kind())
    assert [k.kind for k in kinds.all_kinds()].count("Widget") == 1
    v2 = _kind(api_version="example.com/v2", message=meta_pb2.OwnerReference)
    kinds.register(v2)
    assert kinds.resolve("widgets").api_version == "example.com/v1"  # first version
    assert kinds.resolve("widgets.v2.example.com") is v2
    kinds.unregister(_kind())
    assert kinds.resolve("wd") is v2
    kinds.unregister(v2)
    with pytest.raises(kinds.UnknownKindError):
        kinds.resolve("widgets")
