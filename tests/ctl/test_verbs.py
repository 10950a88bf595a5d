"""Generators and object changes: create/run/expose/label/annotate/scale/set/patch/edit/wait."""

from __future__ import annotations

import asyncio
import base64
import sys
from pathlib import Path
from typing import Any

import pytest
from shoal.client import Client

from tests.ctl.conftest import Shoal


async def test_create_generators(shoal: Shoal, shoal_client: Client, tmp_path: Path) -> None:
    made = await shoal(
        "create", "deployment", "web", "--image=nginx:1.25", "--replicas=3", "--port=80"
    )
    assert made.out == "deployment.apps/web created\n"
    deploy = await shoal_client.get("deploy", "web")
    container = deploy.spec.template.spec.containers[0]
    assert (deploy.spec.replicas, container.name, container.ports[0].container_port) == (
        3,
        "nginx",
        80,
    )
    await shoal("create", "deployment", "sleeper", "--image=busybox:1.36", "--", "sleep", "60")
    sleeper = (await shoal_client.get("deploy", "sleeper")).spec.template.spec.containers[0]
    assert list(sleeper.command) == ["sleep", "60"]
    assert (await shoal("create", "namespace", "staging")).out == "namespace/staging created\n"
    conf = tmp_path / "app.conf"
    conf.write_text("x=1\n")
    await shoal("create", "configmap", "cfg", "--from-literal=mode=fast", f"--from-file={conf}")
    assert dict((await shoal_client.get("cm", "cfg")).data) == {"mode": "fast", "app.conf": "x=1\n"}
    await shoal("create", "secret", "generic", "db", "--from-literal=password=s3cret")
    assert (await shoal_client.get("secret", "db")).data["password"] == b"s3cret"
    dry = await shoal("create", "namespace", "ghost", "--dry-run=client", "-o", "yaml")
    assert "name: ghost" in dry.out
    assert base64  # secrets are stored decoded in the typed message
    bad = await shoal("create", "configmap", "x", "--from-literal=novalue")
    assert bad.code == 2 and "invalid literal source" in bad.err


async def test_run_and_expose(shoal: Shoal, shoal_client: Client) -> None:
    ran = await shoal("run", "web", "--image=nginx:1.25", "--port=80", "--", "nginx", "-g", "x")
    assert ran.out == "pod/web created\n"
    pod = await shoal_client.get("pod", "web")
    assert dict(pod.metadata.labels) == {"run": "web"} and list(pod.spec.containers[0].args) == [
        "nginx",
        "-g",
        "x",
    ]
    exposed = await shoal(
        "expose",
        "pod",
        "web",
        "--port=8080",
        "--target-port=80",
        "--type=NodePort",
        "--name=web-svc",
    )
    assert exposed.out == "service/web-svc created\n", exposed.err
    svc = await shoal_client.get("svc", "web-svc")
    assert dict(svc.spec.selector) == {"run": "web"} and svc.spec.type == "NodePort"
    assert svc.spec.ports[0].port == 8080 and svc.spec.ports[0].target_port.number_value == 80
    await shoal("create", "deployment", "api", "--image=nginx", "--port=9000")
    await shoal("expose", "deploy/api")
    assert (await shoal_client.get("svc", "api")).spec.ports[0].port == 9000
    missing = await shoal("expose", "deployment", "nope", "--port=1")
    assert missing.err.strip() == 'Error from server (NotFound): deployments "nope" not found'


async def test_label_annotate(shoal: Shoal, shoal_client: Client) -> None:
    await shoal("run", "web", "--image=nginx")
    assert (await shoal("label", "pods", "web", "tier=front")).out == "pod/web labeled\n"
    refused = await shoal("label", "pod/web", "tier=back")
    assert refused.code == 1 and "--overwrite is false" in refused.err
    await shoal("label", "pod/web", "tier=back", "--overwrite")
    await shoal("label", "pods", "-l", "run=web", "run-")
    assert dict((await shoal_client.get("pod", "web")).metadata.labels) == {"tier": "back"}
    await shoal("annotate", "pod", "web", "owner=team-a")
    await shoal("annotate", "pod", "web", "owner-")
    assert "owner" not in (await shoal_client.get("pod", "web")).metadata.annotations


async def test_scale_set_image_patch(shoal: Shoal, shoal_client: Client) -> None:
    await shoal("create", "deployment", "web", "--image=nginx:1.25")
    assert (await shoal("scale", "deploy", "web", "--replicas=4")).out == (
        "deployment.apps/web scaled\n"
    )
    wrong = await shoal("scale", "deploy/web", "--replicas=2", "--current-replicas=3")
    assert wrong.code == 1 and "expected replicas to be 3, was 4" in wrong.err
    assert (await shoal("scale", "pod", "x", "--replicas=1")).code == 2
    await shoal("set", "image", "deployment/web", "nginx=nginx:1.26")
    deploy = await shoal_client.get("deploy", "web")
    assert deploy.spec.template.spec.containers[0].image == "nginx:1.26"
    no_such = await shoal("set", "image", "deployment/web", "sidecar=x")
    assert 'unable to find container named "sidecar"' in no_such.err
    patched = await shoal("patch", "deployment", "web", "-p", '{"spec":{"replicas":2}}')
    assert patched.out == "deployment.apps/web patched\n"
    assert (await shoal_client.get("deploy", "web")).spec.replicas == 2
    bad = await shoal("patch", "deployment", "web", "-p", "[1]")
    assert bad.code == 2 and "must be an object" in bad.err


async def test_edit_through_editor(shoal: Shoal, shoal_client: Client, tmp_path: Path) -> None:
    await shoal("create", "configmap", "cfg", "--from-literal=a=1")
    script = tmp_path / "editor.py"
    script.write_text(
        "import sys\np = sys.argv[1]\nt = open(p).read()\n"
        "open(p, 'w').write(t.replace(\"a: '1'\", \"a: '2'\"))\n"
    )
    edited = await shoal("edit", "cm", "cfg", env={"EDITOR": f"{sys.executable} {script}"})
    assert edited.out == "configmap/cfg edited\n", edited.err
    assert (await shoal_client.get("cm", "cfg")).data["a"] == "2"
    cancelled = await shoal("edit", "cm/cfg", env={"EDITOR": "true"})
    assert cancelled.out == "Edit cancelled, no changes made.\n"


async def test_wait_for_condition_and_delete(shoal: Shoal, shoal_client: Client) -> None:
    await shoal("run", "web", "--image=nginx")
    waiting = asyncio.ensure_future(
        shoal("wait", "--for=condition=Ready", "pod/web", "--timeout=20s")
    )
    pod = await shoal_client.get("pod", "web")
    pod.status.conditions.add(type="Ready", status="True")
    await shoal_client.update_status(pod)
    result = await waiting
    assert (result.code, result.out) == (0, "pod/web condition met\n"), result.err
    timed_out = await shoal("wait", "--for=condition=Ready=false", "pod/web", "--timeout=0.3")
    assert timed_out.code == 1 and "timed out" in timed_out.err
    phase = await shoal("wait", "--for=jsonpath={.status.phase}=Pending", "pod/web")
    assert phase.code == 0
    gone = asyncio.ensure_future(shoal("wait", "--for=delete", "pod/web", "--timeout=20s"))
    await shoal_client.delete("pod", "web", grace_period_seconds=0)
    assert (await gone).out == "pod/web condition met\n"


async def test_scale_while_a_controller_writes_status(
    shoal: Shoal, shoal_client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A status write between the command's read and its write (a controller
    at work, as in the tutorial's `scale rc sleepers`) is no conflict."""
    await shoal("create", "deployment", "web", "--image=nginx:1.25")
    real_get = Client.get
    bumped: list[str] = []

    async def get_then_controller_writes(self: Client, *args: Any, **kwargs: Any) -> Any:
        obj = await real_get(self, *args, **kwargs)
        if not bumped:
            bumped.append(obj.metadata.name)
            fresh = await real_get(self, *args, **kwargs)
            fresh.status.observed_generation += 1
            await self.update_status(fresh)
        return obj

    monkeypatch.setattr(Client, "get", get_then_controller_writes)
    assert (await shoal("scale", "deploy", "web", "--replicas=4")).code == 0
    assert (await shoal_client.get("deploy", "web")).spec.replicas == 4
    bumped.clear()
    checked = await shoal("scale", "deploy/web", "--replicas=6", "--current-replicas=4")
    assert checked.code == 0, checked.err
    assert bumped and (await shoal_client.get("deploy", "web")).spec.replicas == 6
