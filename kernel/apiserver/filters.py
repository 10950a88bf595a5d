"""Label and field selectors applied to objects, for list and watch."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from shoal.errors import BadRequestError
from shoal.kinds import Kind
from shoal.selectors import SelectorError, parse_field_selector, parse_label_selector

Getter = Callable[[Any], str]

_COMMON: dict[str, Getter] = {
    "metadata.name": lambda o: o.metadata.name,
    "metadata.namespace": lambda o: o.metadata.namespace,
}

# The fields Kubernetes lets a selector name, per kind.
FIELDS: dict[str, dict[str, Getter]] = {
    "Pod": {
        "spec.nodeName": lambda o: o.spec.node_name,
        "spec.restartPolicy": lambda o: o.spec.restart_policy,
        "spec.schedulerName": lambda o: o.spec.scheduler_name,
        "spec.serviceAccountName": lambda o: o.spec.service_account_name,
        "status.phase": lambda o: o.status.phase,
        "status.podIP": lambda o: o.status.pod_ip,
    },
    "Node": {"spec.unschedulable": lambda o: str(o.spec.unschedulable).lower()},
    "Event": {
        "involvedObject.kind": lambda o: o.involved_object.kind,
        "involvedObject.namespace": lambda o: o.involved_object.namespace,
        "involvedObject.name": lambda o: o.involved_object.name,
        "involvedObject.uid": lambda o: o.involved_object.uid,
        "reason": lambda o: o.reason,
        "type": lambda o: o.type,
        "source": lambda o: o.source.component,
    },
    "Secret": {"type": lambda o: o.type},
    "Namespace": {"status.phase": lambda o: o.status.phase},
    "ReplicaSet": {"status.replicas": lambda o: str(o.status.replicas)},
}


def field_getters(kind: Kind) -> dict[str, Getter]:
    return {**_COMMON, **FIELDS.get(kind.kind, {})}


class ObjectFilter:
    """Both selectors of a list or watch request, parsed once."""

    def __init__(self, kind: Kind, label_selector: str = "", field_selector: str = "") -> None:
        getters = field_getters(kind)
        try:
            self.labels = parse_label_selector(label_selector)
            self.fields = parse_field_selector(field_selector, allowed=list(getters))
        except SelectorError as err:
            raise BadRequestError(str(err)) from None
        self._getters = getters
        self.empty = self.labels.is_empty() and not field_selector.strip()

    def matches(self, obj: Any) -> bool:
        if self.empty:
            return True
        if not self.labels.matches(obj.metadata.labels):
            return False
        if self.fields.is_empty():
            return True
        return self.fields.matches({name: get(obj) for name, get in self._getters.items()})
