"""``shoal`` with CustomResourceDefinitions: apply a definition and its
objects, get them with their printer columns by plural and short name,
patch, describe and delete; a process that does not know a custom kind
learns it from the server's definitions."""

from __future__ import annotations

import json
import re

import yaml
from shoal import kinds

from tests.crds.helpers import crd_manifest, crontab, unique_group
from tests.ctl.conftest import Shoal


def _forget(group: str) -> None:
    """As a fresh ``shoal`` process: none of the group's kinds known."""
    for kind in [k for k in kinds.all_kinds() if k.group == group]:
        kinds.unregister(kind)


async def test_shoal_verbs_on_custom_objects(shoal: Shoal) -> None:
    group = unique_group()
    made = await shoal("apply", "-f", "-", input=yaml.safe_dump(crd_manifest(group)))
    assert made.code == 0, made.err
    assert f"customresourcedefinition.apiextensions.k8s.io/crontabs.{group} created" in made.out
    _forget(group)
    applied = await shoal("apply", "-f", "-", input=json.dumps(crontab(group, "a", image="i")))
    assert applied.code == 0, applied.err
    assert f"crontab.{group}/a created" in applied.out

    _forget(group)
    listed = await shoal("get", f"crontabs.{group}")
    assert listed.code == 0, listed.err
    assert re.match(r"NAME\s+SPEC\s+REPLICAS\s+AGE\na\s+\* \* \* \* \*/5\s+1\s+", listed.out)
    wide = await shoal("get", f"ct.{group}", "-o", "wide")
    assert "IMAGE" in wide.out and re.search(r"\si\n", wide.out), wide.out

    patched = await shoal("patch", f"ct.{group}", "a", "--type=merge", "-p",
                          '{"spec": {"replicas": 2}}')  # fmt: skip
    assert patched.code == 0, patched.err
    got = await shoal("get", f"ct.{group}", "a", "-o", "json")
    assert json.loads(got.out)["spec"]["replicas"] == 2
    refused = await shoal("patch", f"ct.{group}", "a", "--type=merge", "-p",
                          '{"spec": {"replicas": 99}}')  # fmt: skip
    assert refused.code != 0 and "spec.replicas" in refused.err, refused.err
    assert "Traceback" not in refused.err

    described = await shoal("describe", f"ct.{group}", "a")
    assert described.code == 0, described.err
    assert "Cron Spec" in described.out or "cronSpec" in described.out, described.out

    deleted = await shoal("delete", f"ct.{group}", "a")
    assert deleted.code == 0, deleted.err
    none = await shoal("get", f"ct.{group}")
    assert none.code == 0 and "No resources found" in (none.out + none.err)
