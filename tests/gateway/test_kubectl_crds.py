"""Real kubectl with CustomResourceDefinitions: apply a definition, then
its objects by plural and short name, printer columns, explain, scale, a
status patch, describe and delete."""

from __future__ import annotations

import json
import re

import pytest
import yaml

from tests.crds.helpers import crd_manifest, crontab, unique_group
from tests.gateway.conftest import GatewayServer

pytestmark = pytest.mark.usefixtures("needs_kubectl")


async def test_kubectl_with_a_custom_resource(gateway_server: GatewayServer) -> None:
    k = gateway_server.kubectl
    group = unique_group()
    applied = await k("apply", "-f", "-", input=yaml.safe_dump(crd_manifest(group)))
    assert applied.code == 0, applied.err
    assert f"customresourcedefinition.apiextensions.k8s.io/crontabs.{group} created" in applied.out
    waited = await k("wait", "--for=condition=Established", f"crd/crontabs.{group}")
    assert waited.code == 0, waited.err
    definitions = await k("get", "crd")
    assert definitions.code == 0 and f"crontabs.{group}" in definitions.out, definitions.err
    described = await k("describe", "crd", f"crontabs.{group}")
    assert described.code == 0 and "Established" in described.out, described.err
    made = await k("apply", "-f", "-", input=json.dumps(crontab(group, "nightly", image="img")))
    assert made.code == 0, made.err
    assert f"crontab.{group}/nightly created" in made.out

    listed = await k("get", f"crontabs.{group}")
    assert listed.code == 0, listed.err
    assert re.match(r"NAME\s+SPEC\s+REPLICAS\s+AGE\n", listed.out), listed.out
    assert re.search(r"nightly\s+\* \* \* \* \*/5\s+1\s+\d+s", listed.out), listed.out
    wide = await k("get", f"ct.{group}", "-o", "wide")
    assert wide.code == 0 and re.search(r"IMAGE\n.*img\n", wide.out), wide.out
    everything = await k("get", "all")  # the definition's categories: [all]
    assert f"crontab.{group}/nightly" in everything.out, everything.out
    as_yaml = await k("get", f"ct.{group}", "nightly", "-o", "yaml")
    assert yaml.safe_load(as_yaml.out)["spec"]["mode"] == "Allow"

    scaled = await k("scale", f"crontabs.{group}/nightly", "--replicas=3")
    assert scaled.code == 0, scaled.err
    replicas = await k("get", f"ct.{group}", "nightly", "-o", "jsonpath={.spec.replicas}")
    assert replicas.out == "3"
    status = await k(
        "patch", f"crontabs.{group}", "nightly", "--subresource=status", "--type=merge",
        "-p", '{"status": {"phase": "Scheduled", "replicas": 3}}',
    )  # fmt: skip
    assert status.code == 0, status.err
    phase = await k("get", f"ct.{group}", "nightly", "-o", "jsonpath={.status.phase}")
    assert phase.out == "Scheduled"

    refused = await k(
        "patch", f"crontabs.{group}", "nightly", "--type=json",
        "-p", '[{"op": "replace", "path": "/spec/replicas", "value": 50}]',
    )  # fmt: skip
    assert refused.code != 0 and "spec.replicas" in refused.err, refused.err
    assert "less than or equal to 10" in refused.err

    explained = await k("explain", f"crontabs.{group}.spec")
    assert explained.code == 0, explained.err
    assert "cronSpec" in explained.out and "replicas" in explained.out

    described = await k("describe", f"crontabs.{group}", "nightly")
    assert described.code == 0 and "Scheduled" in described.out, described.err

    deleted = await k("delete", f"crd/crontabs.{group}")
    assert deleted.code == 0, deleted.err
    gone = await k("get", f"crontabs.{group}")
    assert gone.code != 0


async def test_server_side_apply_of_a_custom_object(gateway_server: GatewayServer) -> None:
    k = gateway_server.kubectl
    group = unique_group()
    assert (await k("apply", "-f", "-", input=yaml.safe_dump(crd_manifest(group)))).code == 0
    manifest = crontab(group, "ssa", image="one")
    first = await k("apply", "--server-side", "-f", "-", input=json.dumps(manifest))
    assert first.code == 0, first.err
    manifest["spec"]["image"] = "two"
    manifest["spec"]["replicas"] = 11
    refused = await k("apply", "--server-side", "-f", "-", input=json.dumps(manifest))
    assert refused.code != 0 and "spec.replicas" in refused.err, refused.err
    manifest["spec"]["replicas"] = 2
    second = await k("apply", "--server-side", "-f", "-", input=json.dumps(manifest))
    assert second.code == 0, second.err
    got = await k("get", f"ct.{group}", "ssa", "-o", "json", "--show-managed-fields")
    obj = json.loads(got.out)
    assert obj["spec"]["image"] == "two" and obj["spec"]["replicas"] == 2
    managers = {m["manager"] for m in obj["metadata"]["managedFields"]}
    assert "kubectl" in managers
