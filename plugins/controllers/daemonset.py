"""The DaemonSet controller: one pod of the template on every node that
should run it (Kubernetes' ``DaemonSetsController``).

One reconcile: record the template in a ControllerRevision (history), claim
the set's pods and group them by node, create a pod for each eligible node
without one and delete pods from nodes that may no longer run them (or
duplicates), roll old pods to the new template (RollingUpdate; OnDelete
waits for a person to delete them), trim history, write status.

Daemon pods are not placed by the controller: each carries required node
affinity ``metadata.name In [node]`` and goes through the scheduler, which
binds it there, as in Kubernetes since 1.12.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import structlog
from shoal import clock, errors, hookimpl
from shoal.client import object_key
from shoal.controller import Controller
from shoal.plugins.controllers import claims, history, podutil
from shoal.plugins.controllers import daemonset_util as du
from shoal.plugins.controllers.expectations import Expectations
from shoal.registry import Registry

log = structlog.get_logger("daemonset")


class DaemonSetController(Controller):
    name = "daemonset"

    def __init__(self, client: Any, *, workers: int | None = None) -> None:
        super().__init__(client, workers=workers)
        self.sets = self.watch("DaemonSet")
        self.pods = self.informer("Pod")
        self.nodes = self.informer("Node")
        self.revisions = self.informer("ControllerRevision")
        self.expectations = Expectations()
        self._pod_events = _PodEvents(self)
        self.pods.add_handler(
            self._pod_events.added, self._pod_events.updated, self._pod_events.deleted
        )
        self.nodes.add_handler(self._node_changed, self._node_updated, self._node_changed)
        self.revisions.add_handler(self._revision_changed, None, self._revision_changed)

    # -- events ------------------------------------------------------------------

    def _all_sets(self) -> None:
        for ds in self.sets.list():
            self.enqueue(ds)

    def _node_changed(self, node: Any) -> None:
        self._all_sets()

    def _node_updated(self, old: Any, new: Any) -> None:
        if (
            old.metadata.labels != new.metadata.labels
            or old.spec.taints != new.spec.taints
            or old.spec.unschedulable != new.spec.unschedulable
        ):
            self._all_sets()

    def _revision_changed(self, revision: Any) -> None:
        ref = podutil.controller_of(revision)
        if ref is not None and ref.kind == "DaemonSet":
            self.queue.add(f"{revision.metadata.namespace}/{ref.name}")

    # -- reconcile ------------------------------------------------------------------

    async def reconcile(self, key: Any) -> float | None:
        namespace, name = podutil.split_key(key)
        ds = self.sets.get(name, namespace)
        if ds is None:
            self.expectations.forget(key)
            return None
        ds = podutil.copy(ds)
        if ds.metadata.HasField("deletion_timestamp"):
            return None
        revision, revisions = await history.sync(self.client, ds, history.owned(self.revisions, ds))
        revision_hash = history.hash_of(revision)
        pods = await self.claim_pods(ds)
        nodes = {n.metadata.name: n for n in self.nodes.list()}
        by_node = _by_node(pods)
        if self.expectations.satisfied(key):
            await self.manage(key, ds, nodes, by_node, revision_hash)
        live = {p.metadata.labels.get(history.HASH_LABEL, "") for p in pods}
        live_names = {r.metadata.name for r in revisions if history.hash_of(r) in live}
        await history.truncate(self.client, ds, revisions, live_names | {revision.metadata.name})
        return await self.update_status(ds, nodes, _by_node(pods), revision_hash)

    async def claim_pods(self, ds: Any) -> list[Any]:
        return await claims.claim_pods(self.client, self.pods, ds)

    async def manage(
        self, key: str, ds: Any, nodes: dict[str, Any], by_node: dict[str, list[Any]], hash_: str
    ) -> None:
        spec = du.daemon_pod_spec(ds)
        places = {name: du.placement(spec, node) for name, node in nodes.items()}
        eligible = sum(p.should_run for p in places.values())
        surge = _rolling(ds) and du.surge_and_unavailable(ds, eligible)[0] > 0
        create_on, delete = [], []
        for name, place in places.items():
            pods = by_node.get(name, [])
            active = [p for p in pods if podutil.is_active(p)]
            delete += [p for p in pods if p.status.phase == "Failed"]
            if place.should_run and not active:
                create_on.append(name)
            elif not place.should_continue:
                delete += active
            elif len(active) > 1:
                delete += _duplicates(active, hash_, surge)
        delete += [p for n, pods in by_node.items() if n not in nodes for p in pods]
        if _rolling(ds) and not create_on and not delete:
            wanted = {
                n: [p for p in by_node.get(n, []) if podutil.is_active(p)]
                for n, place in places.items()
                if place.should_run
            }
            plan = du.plan_rollout(ds, wanted, hash_, clock.time())
            create_on, delete = plan.create_on, plan.delete
        await self.sync_nodes(key, ds, create_on, delete, hash_)

    async def sync_nodes(
        self, key: str, ds: Any, create_on: list[str], delete: list[Any], hash_: str
    ) -> None:
        self.expectations.expect(key, len(create_on), {object_key(p) for p in delete})
        results = await asyncio.gather(
            *(self._create(key, ds, node, hash_) for node in create_on),
            *(podutil.delete_owned_pod(self, key, ds, pod) for pod in delete),
            return_exceptions=True,
        )
        failed = [r for r in results if isinstance(r, BaseException)]
        if failed:
            raise failed[0]

    async def _create(self, key: str, ds: Any, node: str, hash_: str) -> None:
        try:
            created = await self.client.create(du.new_pod(ds, node, hash_))
        except errors.APIError as err:
            self.expectations.creation_observed(key)
            self.recorder.emit(ds, "Warning", "FailedCreate", f"Error creating: {err}")
            raise
        self.recorder.emit(
            ds, "Normal", "SuccessfulCreate", f"Created pod: {created.metadata.name}"
        )

    # -- status ----------------------------------------------------------------------

    async def update_status(
        self, ds: Any, nodes: dict[str, Any], by_node: dict[str, list[Any]], hash_: str
    ) -> float | None:
        spec, now, min_ready = du.daemon_pod_spec(ds), clock.time(), ds.spec.min_ready_seconds
        status = podutil.copy(ds.status)
        counts = dict.fromkeys(("desired", "current", "mis", "ready", "updated", "available"), 0)
        waits: list[float] = []
        for name, node in nodes.items():
            pods = [p for p in by_node.get(name, []) if podutil.is_active(p)]
            if not du.placement(spec, node).should_run:
                counts["mis"] += bool(pods)
                continue
            counts["desired"] += 1
            if not pods:
                continue
            counts["current"] += 1
            pod = pods[0]
            counts["ready"] += podutil.is_ready(pod)
            counts["available"] += podutil.is_available(pod, min_ready, now)
            counts["updated"] += any(du.is_updated(p, hash_) for p in pods)
            waits.append(podutil.seconds_until_available(pod, min_ready, now))
        status.desired_number_scheduled = counts["desired"]
        status.current_number_scheduled = counts["current"]
        status.number_misscheduled = counts["mis"]
        status.number_ready = counts["ready"]
        status.updated_number_scheduled = counts["updated"]
        status.number_available = counts["available"]
        status.number_unavailable = counts["desired"] - counts["available"]
        status.observed_generation = ds.metadata.generation
        if status != ds.status:
            updated = podutil.copy(ds)
            updated.status.CopyFrom(status)
            with contextlib.suppress(errors.NotFoundError):
                await self.client.update_status(updated)
        pending = [w for w in waits if w > 0]
        return min(pending) + 0.5 if pending else None


class _PodEvents:
    """Pod changes -> the owning DaemonSet's key, with expectations observed."""

    def __init__(self, controller: DaemonSetController) -> None:
        self.c = controller

    def _key(self, pod: Any) -> str | None:
        ref = podutil.controller_of(pod)
        if ref is None or ref.kind != "DaemonSet":
            return None
        return f"{pod.metadata.namespace}/{ref.name}"

    def added(self, pod: Any) -> None:
        key = self._key(pod)
        if key is None:
            self._orphan(pod)
            return
        self.c.expectations.creation_observed(key)
        self.c.queue.add(key)

    def updated(self, old: Any, new: Any) -> None:
        key = self._key(new)
        if key is not None:
            if new.metadata.HasField("deletion_timestamp"):
                self.c.expectations.deletion_observed(key, object_key(new))
            self.c.queue.add(key)
        elif old.metadata.labels != new.metadata.labels:
            self._orphan(new)

    def deleted(self, pod: Any) -> None:
        key = self._key(pod)
        if key is not None:
            self.c.expectations.deletion_observed(key, object_key(pod))
            self.c.queue.add(key)

    def _orphan(self, pod: Any) -> None:
        for ds in claims.matching_owners(self.c.sets, pod):
            self.c.enqueue(ds)


def _by_node(pods: list[Any]) -> dict[str, list[Any]]:
    """Pods (oldest first) by the node they are for; a pod for no node
    lands under "" and goes as misplaced."""
    out: dict[str, list[Any]] = {}
    for pod in pods:
        if pod.metadata.HasField("deletion_timestamp"):
            continue
        out.setdefault(du.target_node(pod), []).append(pod)
    return out


def _rolling(ds: Any) -> bool:
    return bool(ds.spec.update_strategy.type == "RollingUpdate")


def _duplicates(active: list[Any], hash_: str, surge: bool) -> list[Any]:
    """Extra daemon pods on one node: keep the oldest, or with surge one old
    and one new pod (the rollout deletes the old once the new is available)."""
    if not surge:
        return active[1:]
    new, old = du.split_pods(active, hash_)
    keep = {id(p) for p in (new, old) if p is not None}
    return [p for p in active if id(p) not in keep]


@hookimpl
def register_controllers(registry: Registry[Any]) -> None:
    registry.register("daemonset", DaemonSetController)
