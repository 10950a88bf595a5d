"""The core (``v1``) kinds and their strategies: Namespace, Node, Pod,
Binding, ReplicationController, Service, Endpoints, Event, ConfigMap,
Secret and ServiceAccount."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from shoal import errors, hookimpl
from shoal import validation as names
from shoal.api.v1 import core_pb2
from shoal.apiserver import defaults, validate
from shoal.apiserver.binding import bind
from shoal.apiserver.services import Allocation, ServiceAllocator
from shoal.kinds import Kind
from shoal.plugins.kinds import columns
from shoal.plugins.kinds._register import kind, register_all
from shoal.registry import Registry
from shoal.strategy import Causes, Reservation, ScaleSubresource, StorageContext, Strategy

# Namespaces the API server makes at start and never deletes.
SYSTEM_NAMESPACES = ("default", "shoal-system")
# Per-server helpers the object registry puts in StorageContext.extensions.
SERVICES = "services"  # the ServiceAllocator (ClusterIPs and node ports)
SERVICE_ACCOUNTS = "service_accounts"  # ServiceAccountAdmission
ALL = ("all",)
# The workloads' scale subresource; their selector is in the spec (Kubernetes
# prints it into the Scale's status.selector).
REPLICAS = ScaleSubresource(".spec.replicas", ".status.replicas", ".spec.selector")
POD_CONNECT = ("log", "exec", "attach", "portforward", "proxy")


def _immutable(path: str) -> tuple[str, str]:
    return (path, "Invalid value: field is immutable")


class NamespaceStrategy(Strategy):
    table = columns.NAMESPACE
    selectable_fields = {"status.phase": lambda o: o.status.phase}

    def validate_name(self, name: str) -> list[str]:
        return names.validate_dns1123_label(name)  # namespaces become DNS labels

    def prepare_for_create(self, obj: Any) -> None:
        if not obj.spec.finalizers:
            obj.spec.finalizers.append("kubernetes")

    def default(self, obj: Any) -> None:
        defaults.default_namespace(obj)

    async def after_create(self, context: StorageContext, obj: Any) -> None:
        await context.extensions[SERVICE_ACCOUNTS].namespace_created(obj.metadata.name)

    async def start(self, context: StorageContext) -> None:
        """Make the system namespaces (and, in a store from before, their
        default ServiceAccount)."""
        for name in SYSTEM_NAMESPACES:
            obj = core_pb2.Namespace()
            obj.metadata.name = name
            try:
                await context.create(obj)
            except errors.AlreadyExistsError:
                await context.extensions[SERVICE_ACCOUNTS].namespace_created(name)

    def check_delete(self, obj: Any) -> None:
        name = obj.metadata.name
        if name in SYSTEM_NAMESPACES:
            raise errors.ForbiddenError(
                f'namespaces "{name}" is forbidden: this namespace may not be deleted',
                name=name,
                kind="namespaces",
            )

    def ready_to_delete(self, obj: Any) -> bool:
        return not obj.spec.finalizers  # the namespace controller empties it first

    def mark_terminating(self, obj: Any) -> None:
        obj.status.phase = "Terminating"


class NodeStrategy(Strategy):
    table = columns.NODE
    selectable_fields = {"spec.unschedulable": lambda o: str(o.spec.unschedulable).lower()}

    def validate(self, obj: Any) -> Causes:
        return validate.validate_node(obj)


class PodStrategy(Strategy):
    categories = ALL
    table = columns.POD
    selectable_fields = {
        "spec.nodeName": lambda o: o.spec.node_name,
        "spec.restartPolicy": lambda o: o.spec.restart_policy,
        "spec.schedulerName": lambda o: o.spec.scheduler_name,
        "spec.serviceAccountName": lambda o: o.spec.service_account_name,
        "status.phase": lambda o: o.status.phase,
        "status.podIP": lambda o: o.status.pod_ip,
    }
    connect_subresources = POD_CONNECT
    reset_status_on_create = True

    def default(self, obj: Any) -> None:
        defaults.default_pod(obj)

    def validate(self, obj: Any) -> Causes:
        return validate.validate_pod(obj)

    def validate_update(self, old: Any, new: Any) -> Causes:
        return validate.pod_spec_update(old.spec, new.spec)

    async def before_create(self, context: StorageContext, obj: Any) -> None:
        await context.extensions[SERVICE_ACCOUNTS].admit_pod(obj)

    def grace_period(self, obj: Any, asked: int | None) -> int:
        # Pods never scheduled, or already finished, have nothing to stop.
        if not obj.spec.node_name or obj.status.phase in ("Succeeded", "Failed"):
            return 0
        if asked is not None:
            return max(asked, 0)
        spec = obj.spec
        if spec.HasField("termination_grace_period_seconds"):
            return int(spec.termination_grace_period_seconds)
        return 30


class BindingStrategy(Strategy):
    """Create-only, as in Kubernetes: a Binding is applied to its pod, never stored."""

    stored = False
    subresource_of = ("pods", "binding")

    async def create_unstored(
        self, context: StorageContext, obj: Any, *, dry_run: bool, user: str
    ) -> Any:
        obj.metadata.namespace = obj.metadata.namespace or "default"
        return await bind(context.guaranteed_update, obj, dry_run=dry_run, user=user)


class ReplicationControllerStrategy(Strategy):
    categories = ALL
    scale = REPLICAS
    table = columns.REPLICAS
    reset_status_on_create = True

    def default(self, obj: Any) -> None:
        defaults.default_replication_controller(obj)

    def validate(self, obj: Any) -> Causes:
        return validate.validate_replication_controller(obj)


class _ServiceReservation:
    def __init__(self, allocator: ServiceAllocator, allocation: Allocation) -> None:
        self.allocator, self.allocation = allocator, allocation

    def commit(self) -> None:
        self.allocator.commit(self.allocation)

    def rollback(self) -> None:
        self.allocator.rollback(self.allocation)


class ServiceStrategy(Strategy):
    categories = ALL
    table = columns.SERVICE
    reset_status_on_create = True

    def validate_name(self, name: str) -> list[str]:
        return names.validate_dns1123_label(name)  # a Service's name is a DNS label

    def default(self, obj: Any) -> None:
        defaults.default_service(obj)

    def validate(self, obj: Any) -> Causes:
        return validate.validate_service(obj)

    def validate_update(self, old: Any, new: Any) -> Causes:
        if old.spec.cluster_ip and new.spec.cluster_ip != old.spec.cluster_ip:
            return [_immutable("spec.clusterIP")]
        return []

    def reserve(self, context: StorageContext, old: Any | None, new: Any) -> Reservation | None:
        allocator: ServiceAllocator = context.extensions[SERVICES]
        if old is None:
            return _ServiceReservation(allocator, allocator.reserve_create(new))
        return _ServiceReservation(allocator, allocator.reserve_update(old, new))

    def released(self, context: StorageContext, obj: Any) -> None:
        context.extensions[SERVICES].release(obj)

    async def start(self, context: StorageContext) -> None:
        stored = await context.list(SERVICE)
        context.extensions[SERVICES].restore(stored.items)


class _ImmutableData(Strategy):
    """ConfigMaps and Secrets: ``immutable: true`` freezes the data."""

    def validate_update(self, old: Any, new: Any) -> Causes:
        if old.immutable and (old.data != new.data or not new.immutable):
            return [("data", "Forbidden: field is immutable when `immutable` is set")]
        return []


class ConfigMapStrategy(_ImmutableData):
    table = columns.CONFIG_MAP

    def validate(self, obj: Any) -> Causes:
        return validate.validate_config_map(obj)


class SecretStrategy(_ImmutableData):
    table = columns.SECRET
    selectable_fields = {"type": lambda o: o.type}

    def default(self, obj: Any) -> None:
        defaults.default_secret(obj)

    def validate(self, obj: Any) -> Causes:
        return validate.validate_secret(obj)

    def redact_history(self, obj: Any, mark: Callable[[bytes], bytes]) -> None:
        for key, value in list(obj.data.items()):
            obj.data[key] = mark(value)
        for key, text in list(obj.string_data.items()):
            obj.string_data[key] = mark(text.encode()).decode()


class EndpointsStrategy(Strategy):
    table = columns.ENDPOINTS


class EventStrategy(Strategy):
    table = columns.EVENT
    selectable_fields = {
        "involvedObject.kind": lambda o: o.involved_object.kind,
        "involvedObject.namespace": lambda o: o.involved_object.namespace,
        "involvedObject.name": lambda o: o.involved_object.name,
        "involvedObject.uid": lambda o: o.involved_object.uid,
        "involvedObject.apiVersion": lambda o: o.involved_object.api_version,
        "involvedObject.resourceVersion": lambda o: o.involved_object.resource_version,
        "involvedObject.fieldPath": lambda o: o.involved_object.field_path,
        "reason": lambda o: o.reason,
        "reportingComponent": lambda o: o.reporting_component,
        "type": lambda o: o.type,
        # Kubernetes' event ToSelectableFields: the reporter when no source is set
        "source": lambda o: o.source.component or o.reporting_component,
    }


POD = kind("Pod", "v1", core_pb2.Pod, ("po",), strategy=PodStrategy(), has_status=True)

SERVICE = kind(
    "Service", "v1", core_pb2.Service, ("svc",), strategy=ServiceStrategy(), has_status=True
)
KINDS: tuple[Kind, ...] = (
    kind(
        "Namespace",
        "v1",
        core_pb2.Namespace,
        ("ns",),
        strategy=NamespaceStrategy(),
        namespaced=False,
        has_status=True,
    ),
    kind(
        "Node",
        "v1",
        core_pb2.Node,
        ("no",),
        strategy=NodeStrategy(),
        namespaced=False,
        has_status=True,
    ),
    POD,
    kind("Binding", "v1", core_pb2.Binding, strategy=BindingStrategy()),
    kind(
        "ReplicationController",
        "v1",
        core_pb2.ReplicationController,
        ("rc",),
        strategy=ReplicationControllerStrategy(),
        has_status=True,
    ),
    SERVICE,
    kind(
        "Endpoints",
        "v1",
        core_pb2.Endpoints,
        ("ep",),
        strategy=EndpointsStrategy(),
        plural="endpoints",
    ),
    kind("Event", "v1", core_pb2.Event, ("ev",), strategy=EventStrategy()),
    kind("ConfigMap", "v1", core_pb2.ConfigMap, ("cm",), strategy=ConfigMapStrategy()),
    kind("Secret", "v1", core_pb2.Secret, strategy=SecretStrategy()),
    kind("ServiceAccount", "v1", core_pb2.ServiceAccount, ("sa",)),
)


@hookimpl
def register_kinds(registry: Registry[Kind]) -> None:
    register_all(registry, *KINDS)
