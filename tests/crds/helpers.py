"""CustomResourceDefinitions the CRD tests share: each test gets its own
group, since the kind registry is process-wide."""

from __future__ import annotations

import copy
import itertools
import os
from typing import Any

from shoal.manifest import from_dict

_serial = itertools.count()

SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "spec": {
            "type": "object",
            "required": ["cronSpec"],
            "properties": {
                "cronSpec": {"type": "string", "pattern": r"^(\S+ ){4}\S+$"},
                "image": {"type": "string", "minLength": 1, "maxLength": 40},
                "replicas": {"type": "integer", "minimum": 0, "maximum": 10, "default": 1},
                "mode": {"type": "string", "enum": ["Allow", "Forbid"], "default": "Allow"},
                "port": {"x-kubernetes-int-or-string": True},
                "since": {"type": "string", "format": "date-time"},
                "tags": {"type": "array", "items": {"type": "string"}},
                "extra": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
                "env": {"type": "object", "additionalProperties": {"type": "string"}},
            },
        },
        "status": {
            "type": "object",
            "properties": {
                "replicas": {"type": "integer"},
                "selector": {"type": "string"},
                "phase": {"type": "string"},
            },
        },
    },
}


def unique_group() -> str:
    return f"g{os.getpid()}x{next(_serial)}.example.com"


def crd_manifest(
    group: str,
    *,
    kind: str = "CronTab",
    plural: str = "crontabs",
    scope: str = "Namespaced",
    short_names: tuple[str, ...] = ("ct",),
    versions: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    if versions is None:
        versions = [
            {
                "name": "v1",
                "served": True,
                "storage": True,
                "schema": {"openAPIV3Schema": SCHEMA},
                "subresources": {
                    "status": {},
                    "scale": {
                        "specReplicasPath": ".spec.replicas",
                        "statusReplicasPath": ".status.replicas",
                        "labelSelectorPath": ".status.selector",
                    },
                },
                "additionalPrinterColumns": [
                    {"name": "Spec", "type": "string", "jsonPath": ".spec.cronSpec"},
                    {"name": "Replicas", "type": "integer", "jsonPath": ".spec.replicas"},
                    {"name": "Image", "type": "string", "jsonPath": ".spec.image", "priority": 1},
                    {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"},
                ],
            }
        ]
    versions = copy.deepcopy(versions)
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{plural}.{group}"},
        "spec": {
            "group": group,
            "scope": scope,
            "names": {
                "plural": plural,
                "singular": kind.lower(),
                "kind": kind,
                "shortNames": list(short_names),
                "categories": ["all"],
            },
            "versions": versions,
        },
    }


def crd(group: str, **kwargs: Any) -> Any:
    return from_dict(crd_manifest(group, **kwargs))


def crontab(group: str, name: str, version: str = "v1", **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": f"{group}/{version}",
        "kind": "CronTab",
        "metadata": {"name": name},
        "spec": {"cronSpec": "* * * * */5", **spec},
    }
