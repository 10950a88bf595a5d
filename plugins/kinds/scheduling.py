"""The ``scheduling.k8s.io/v1`` kinds: PriorityClass, and the ``Priority``
admission that gives each new pod the value of the class it names.

As in Kubernetes: two system classes exist from the start
(``system-cluster-critical``, ``system-node-critical``); user classes go up to
one billion; a pod naming no class gets the global default class's value (or
0); a pod naming an unknown class is refused; a class's value is fixed once
created.
"""

from __future__ import annotations

import contextlib
from typing import Any

from shoal import errors, hookimpl
from shoal.age import age
from shoal.api.v1 import scheduling_pb2
from shoal.apiserver.storecache import StoreCache
from shoal.hookspecs import AdmissionRequest
from shoal.kinds import Kind
from shoal.plugins.kinds._register import kind, register_all
from shoal.registry import Registry
from shoal.strategy import Causes, StorageContext, Strategy, Table

API_VERSION = "scheduling.k8s.io/v1"
HIGHEST_USER_PRIORITY = 1_000_000_000
SYSTEM_PREFIX = "system-"
SYSTEM_CLASSES = {
    "system-cluster-critical": (
        2_000_000_000,
        "Used for system critical pods that must run in the cluster, but can be moved "
        "to another node if necessary.",
    ),
    "system-node-critical": (
        2_000_001_000,
        "Used for system critical pods that must not be moved from their current node.",
    ),
}
PREEMPTION_POLICIES = ("PreemptLowerPriority", "Never")
CACHE = "priorityclasses"  # the per-server PriorityClasses in StorageContext.extensions


def _cells(obj: dict[str, Any], now: float) -> list[str]:
    # Kubernetes 1.32's printPriorityClass: PREEMPTIONPOLICY after AGE
    created = (obj.get("metadata") or {}).get("creationTimestamp", "")
    default = "true" if obj.get("globalDefault") else "false"
    policy = str(obj.get("preemptionPolicy") or "")
    return [str(obj.get("value", 0)), default, age(created, now), policy]


class PriorityClassStrategy(Strategy):
    table = Table(("VALUE", "GLOBAL-DEFAULT", "AGE", "PREEMPTIONPOLICY"), _cells)

    def default(self, obj: Any) -> None:
        if not obj.HasField("preemption_policy"):
            obj.preemption_policy = "PreemptLowerPriority"

    def validate(self, obj: Any) -> Causes:
        causes: Causes = []
        name = obj.metadata.name
        system = SYSTEM_CLASSES.get(name)
        if name.startswith(SYSTEM_PREFIX) and system is None:
            causes.append(
                ("metadata.name", f'Invalid value: "{name}": priority class names with '
                 f'"{SYSTEM_PREFIX}" prefix are reserved for system use only')
            )  # fmt: skip
        if system is not None and obj.value != system[0]:
            causes.append(("value", f"Invalid value: {obj.value}: must be {system[0]}"))
        if system is None and obj.value > HIGHEST_USER_PRIORITY:
            causes.append(
                ("value", f"Invalid value: {obj.value}: maximum allowed value of a user "
                 f"defined priority is {HIGHEST_USER_PRIORITY}")
            )  # fmt: skip
        if obj.preemption_policy not in PREEMPTION_POLICIES:
            allowed = ", ".join(f'"{p}"' for p in PREEMPTION_POLICIES)
            causes.append(
                ("preemptionPolicy",
                 f'Unsupported value: "{obj.preemption_policy}": supported values: {allowed}')
            )  # fmt: skip
        return causes

    def validate_update(self, old: Any, new: Any) -> Causes:
        causes: Causes = []
        if old.value != new.value:
            causes.append(("value", "Forbidden: may not be changed in an update."))
        if old.preemption_policy != new.preemption_policy:
            causes.append(("preemptionPolicy", "Invalid value: field is immutable"))
        return causes

    async def start(self, context: StorageContext) -> None:
        """The system classes exist from the start, as in Kubernetes; the
        Priority admission reads classes from a cache that follows the store."""
        for name, (value, description) in SYSTEM_CLASSES.items():
            pc = scheduling_pb2.PriorityClass(value=value, description=description)
            pc.metadata.name = name
            with contextlib.suppress(errors.AlreadyExistsError):
                await context.create(pc)
        classes = PriorityClasses(context)
        await classes.start()
        context.extensions[CACHE] = classes

    async def stop(self, context: StorageContext) -> None:
        classes = context.extensions.pop(CACHE, None)
        if classes is not None:
            await classes.stop()


class PriorityClasses:
    """Every PriorityClass of one API server, followed from the store, so a
    pod create reads no class from the store."""

    def __init__(self, context: StorageContext) -> None:
        self.by_name: dict[str, Any] = {}
        self._cache = StoreCache(context.store, PRIORITY_CLASS, self._changed)

    async def start(self) -> None:
        await self._cache.start()

    async def stop(self) -> None:
        await self._cache.stop()

    def _changed(self, key: str, pc: Any | None) -> None:
        name = key.rsplit("/", 1)[-1]
        if pc is None:
            self.by_name.pop(name, None)
        else:
            self.by_name[name] = pc

    def default(self) -> Any:
        """The global default class; with several (raced in), the lowest value."""
        found = [pc for pc in self.by_name.values() if pc.global_default]
        return min(found, key=lambda pc: pc.value) if found else None


PRIORITY_CLASS = kind(
    "PriorityClass",
    API_VERSION,
    scheduling_pb2.PriorityClass,
    ("pc",),
    strategy=PriorityClassStrategy(),
    plural="priorityclasses",
    namespaced=False,
)


class PriorityAdmission:
    """Kubernetes' ``Priority`` admission: a new pod's ``spec.priority`` and
    ``preemptionPolicy`` come from its PriorityClass; a global default class
    also forbids (on create) a second one."""

    async def mutate(self, request: AdmissionRequest) -> None:
        if request.operation != "CREATE" or request.context is None:
            return
        if request.kind == "Pod":
            await self._admit_pod(request.context, request.object)
        elif request.kind == "PriorityClass" and request.object.global_default:
            await self._one_default(request.context, request.object)

    async def _admit_pod(self, context: StorageContext, pod: Any) -> None:
        spec = pod.spec
        name = spec.priority_class_name
        found = await self._class(context, name) if name else await self._default(context)
        if name and found is None:
            raise errors.ForbiddenError(
                f'pods "{pod.metadata.name}" is forbidden: no PriorityClass with name '
                f"{name} was found",
                name=pod.metadata.name,
                kind="pods",
            )
        value = found.value if found is not None else 0
        if spec.HasField("priority") and spec.priority != value:
            raise errors.ForbiddenError(
                f'pods "{pod.metadata.name}" is forbidden: the integer value of priority '
                f"({spec.priority}) must not be provided in pod spec; priority admission "
                "controller computed "
                f"{value} from the given PriorityClass name",
                name=pod.metadata.name,
                kind="pods",
            )
        spec.priority = value
        if found is not None and not spec.preemption_policy:
            spec.preemption_policy = found.preemption_policy
        if found is not None and not name and found.global_default:
            spec.priority_class_name = found.metadata.name

    async def _class(self, context: StorageContext, name: str) -> Any:
        classes = context.extensions.get(CACHE)
        if classes is not None and name in classes.by_name:
            return classes.by_name[name]
        try:  # the cache may lag a class created a moment ago
            return await context.get(PRIORITY_CLASS, "", name)
        except errors.NotFoundError:
            return None

    async def _default(self, context: StorageContext) -> Any:
        classes = context.extensions.get(CACHE)
        if classes is not None:
            return classes.default()
        found = [pc for pc in (await context.list(PRIORITY_CLASS)).items if pc.global_default]
        return min(found, key=lambda pc: pc.value) if found else None

    async def _one_default(self, context: StorageContext, new: Any) -> None:
        existing = await self._default(context)
        if existing is not None and existing.metadata.name != new.metadata.name:
            raise errors.invalid(
                "PriorityClass",
                new.metadata.name,
                [("globalDefault", "Invalid value: true: globalDefault is already "
                  f"set by PriorityClass {existing.metadata.name}")],
                "scheduling.k8s.io",
            )  # fmt: skip


@hookimpl
def register_kinds(registry: Registry[Kind]) -> None:
    register_all(registry, PRIORITY_CLASS)


@hookimpl
def register_admission(registry: Registry[Any]) -> None:
    registry.register("Priority", PriorityAdmission())


__all__ = ["PRIORITY_CLASS", "PriorityAdmission", "PriorityClassStrategy"]
