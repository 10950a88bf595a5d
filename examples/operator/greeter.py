"""A Kubernetes operator against shoal's gateway, written with the official
Python client only: for every Greeting it keeps a ConfigMap with the
greeting's message, reports it in the Greeting's status, and cleans the
ConfigMap up through a finalizer before the Greeting goes.

    python greeter.py --server http://127.0.0.1:8080 --namespace default
"""

from __future__ import annotations

import argparse
import threading
from typing import Any

from kubernetes import client, watch

GROUP, VERSION, PLURAL = "demo.shoal.dev", "v1", "greetings"
FINALIZER = "demo.shoal.dev/configmap"


def reconcile(api: client.ApiClient, group: str, greeting: dict[str, Any]) -> None:
    core, custom = client.CoreV1Api(api), client.CustomObjectsApi(api)
    meta = greeting["metadata"]
    name, namespace = meta["name"], meta["namespace"]
    config_map = f"greeting-{name}"
    if meta.get("deletionTimestamp"):  # being deleted: clean up, then let it go
        if FINALIZER in meta.get("finalizers", []):
            try:
                core.delete_namespaced_config_map(config_map, namespace)
            except client.ApiException as err:
                if err.status != 404:
                    raise
            rest = [f for f in meta["finalizers"] if f != FINALIZER]
            custom.patch_namespaced_custom_object(
                group, VERSION, namespace, PLURAL, name, {"metadata": {"finalizers": rest}}
            )
        return
    if FINALIZER not in meta.get("finalizers", []):
        finalizers = [*meta.get("finalizers", []), FINALIZER]
        custom.patch_namespaced_custom_object(
            group, VERSION, namespace, PLURAL, name, {"metadata": {"finalizers": finalizers}}
        )
    spec = greeting["spec"]
    body = client.V1ConfigMap(
        metadata=client.V1ObjectMeta(name=config_map),
        data={"message": f"{spec['greeting']}, {spec['who']}!"},
    )
    try:
        core.replace_namespaced_config_map(config_map, namespace, body)
    except client.ApiException as err:
        if err.status != 404:
            raise
        core.create_namespaced_config_map(namespace, body)
    status = {"phase": "Ready", "configMap": config_map,
              "observedGeneration": meta["generation"]}  # fmt: skip
    custom.patch_namespaced_custom_object_status(
        group, VERSION, namespace, PLURAL, name, {"status": status}
    )


def run(api: client.ApiClient, namespace: str, stop: threading.Event, group: str = GROUP) -> None:
    """Watch Greetings and reconcile each change until ``stop`` is set."""
    custom = client.CustomObjectsApi(api)
    listed = custom.list_namespaced_custom_object(group, VERSION, namespace, PLURAL)
    version = listed["metadata"]["resourceVersion"]
    for item in listed["items"]:
        reconcile(api, group, item)
    while not stop.is_set():
        stream = watch.Watch().stream(
            custom.list_namespaced_custom_object, group, VERSION, namespace, PLURAL,
            resource_version=version, timeout_seconds=1,
        )  # fmt: skip
        for event in stream:
            greeting = event["object"]
            version = greeting["metadata"]["resourceVersion"]
            if event["type"] != "DELETED":
                reconcile(api, group, greeting)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--server", default="http://127.0.0.1:8080")
    parser.add_argument("--namespace", default="default")
    args = parser.parse_args()
    configuration = client.Configuration()
    configuration.host = args.server
    with client.ApiClient(configuration) as api:
        run(api, args.namespace, threading.Event())


if __name__ == "__main__":
    main()
