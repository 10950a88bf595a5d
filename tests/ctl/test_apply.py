"""``create -f`` / ``apply -f`` (three-way merge) / ``delete``."""

from __future__ import annotations

import json
from pathlib import Path

from shoal.client import Client
from shoal.ctl.apply import LAST_APPLIED, three_way_patch

from tests.ctl.conftest import MANIFESTS, Shoal
from tests.integration.helpers import obj

POD = """apiVersion: v1
kind: Pod
metadata:
  name: web
  labels: {app: web, tier: front}
spec:
  containers:
  - name: web
    image: nginx:1.25
"""


def test_three_way_patch() -> None:
    original = {"metadata": {"labels": {"a": "1", "b": "2"}}, "spec": {"x": [1]}}
    modified = {"metadata": {"labels": {"a": "1"}}, "spec": {"x": [1]}}
    current = {
        "metadata": {"labels": {"a": "1", "b": "2", "c": "3"}},
        "spec": {"x": [1, "defaulted"]},
    }
    # b was dropped from the file: deleted; c was set by someone else: kept;
    # the list is unchanged since the last apply: left alone.
    assert three_way_patch(original, modified, current) == {"metadata": {"labels": {"b": None}}}
    assert three_way_patch({}, {"spec": {"x": [2]}}, current) == {"spec": {"x": [2]}}


async def test_apply_every_test_manifest_unchanged(shoal: Shoal, shoal_client: Client) -> None:
    # the namespace the manifests live in (kube-node-lease the server makes)
    await shoal_client.create(
        obj({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "cache"}})
    )
    files = sorted(MANIFESTS.glob("*.yaml"))
    # priority classes, then namespace-holding documents first, as a person would apply them
    files.sort(
        key=lambda p: (
            "kind: PriorityClass" not in p.read_text(),
            "namespace" not in p.read_text().lower(),
        )
    )
    args = [a for f in files for a in ("-f", str(f))]
    first = await shoal("apply", *args)
    assert first.code == 0, first.err
    assert "deployment.apps/nginx-deployment created" in first.out
    again = await shoal("apply", "-f", str(MANIFESTS), "-R")
    assert again.code == 0, again.err
    assert set(line.rsplit(" ", 1)[1] for line in again.out.splitlines()) == {"unchanged"}, (
        again.out
    )


async def test_apply_three_way_merge(shoal: Shoal, shoal_client: Client, tmp_path: Path) -> None:
    manifest = tmp_path / "pod.yaml"
    manifest.write_text(POD)
    assert (await shoal("apply", "-f", str(manifest))).out == "pod/web created\n"
    live = await shoal_client.get("pod", "web")
    assert json.loads(live.metadata.annotations[LAST_APPLIED])["metadata"]["labels"]["tier"]
    await shoal_client.patch("pod", "web", {"metadata": {"labels": {"team": "ops"}}})
    manifest.write_text(POD.replace(", tier: front", "").replace("app: web", "app: web2"))
    assert (await shoal("apply", "-f", str(manifest))).out == "pod/web configured\n"
    labels = dict((await shoal_client.get("pod", "web")).metadata.labels)
    assert labels == {"app": "web2", "team": "ops"}
    assert (await shoal("apply", "-f", "-", input=manifest.read_text())).out == (
        "pod/web unchanged\n"
    )


async def test_create_and_apply_errors(shoal: Shoal, tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(POD.replace("containers:", "contaners:"))
    result = await shoal("create", "-f", str(bad))
    assert (result.code, result.err.strip()) == (1, 'error: unknown field "spec.contaners" in Pod')
    bad.write_text(POD.replace("kind: Pod", "kind: Widget"))
    result = await shoal("apply", "-f", str(bad))
    assert result.code == 1 and 'no kind "Widget"' in result.err
    missing = await shoal("apply", "-f", str(tmp_path / "nope.yaml"))
    assert missing.code == 2 and "does not exist" in missing.err
    good = tmp_path / "good.yaml"
    good.write_text(POD)
    assert (await shoal("create", "-f", str(good))).code == 0
    twice = await shoal("create", "-f", str(good))
    assert twice.err.strip() == 'Error from server (AlreadyExists): pods "web" already exists'
    clash = await shoal(
        "-n", "other", "apply", "-f", str(good.with_name("ns.yaml")), "-f", str(good)
    )
    assert clash.code != 0


async def test_delete_forms(shoal: Shoal, shoal_client: Client, tmp_path: Path) -> None:
    for name, app in (("a", "x"), ("b", "x"), ("c", "y"), ("d", "y")):
        await shoal("run", name, "--image=busybox", f"--labels=app={app}")
    one = await shoal("delete", "pod", "a", "--grace-period=0")
    assert one.out == 'pods "a" deleted\n'
    by_label = await shoal("delete", "pods", "-l", "app=x", "--now")
    assert by_label.out == 'pods "b" deleted\n'
    needs_all = await shoal("delete", "pods")
    assert needs_all.code == 2 and "--all" in needs_all.err
    everything = await shoal("delete", "pods", "--all", "--grace-period=0", "-o", "name")
    assert everything.out == "pod/c\npod/d\n"
    missing = await shoal("delete", "pod", "ghost")
    assert missing.err.strip() == 'Error from server (NotFound): pods "ghost" not found'
    assert missing.code == 1
    assert (await shoal("delete", "pod", "ghost", "--ignore-not-found")).code == 0
    manifest = tmp_path / "cm.yaml"
    manifest.write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cfg}\ndata: {a: b}\n")
    await shoal("apply", "-f", str(manifest))
    by_file = await shoal("delete", "-f", str(manifest), "--cascade=foreground")
    assert by_file.out == 'configmaps "cfg" deleted\n'
