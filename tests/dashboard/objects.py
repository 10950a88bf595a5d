"""Objects the dashboard tests make."""

from __future__ import annotations

from typing import Any

from shoal import manifest


def pod(name: str, namespace: str = "default", **annotations: str) -> Any:
    return manifest.from_dict(
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": name, "namespace": namespace, "annotations": annotations},
            "spec": {"containers": [{"name": "main", "image": "shoal.local/busybox"}]},
        }
    )


def deployment(name: str, replicas: int, namespace: str = "default") -> Any:
    labels = {"app": name}
    return manifest.from_dict(
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": name, "namespace": namespace},
            "spec": {
                "replicas": replicas,
                "selector": {"matchLabels": labels},
                "template": {
                    "metadata": {"labels": labels},
                    "spec": {"containers": [{"name": "web", "image": "shoal.local/busybox"}]},
                },
            },
        }
    )
