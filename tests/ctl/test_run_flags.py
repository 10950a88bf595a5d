"""``shoal run`` and ``shoal create deployment`` take kubectl's flags (issue 12)."""

from __future__ import annotations

import json
import re

import pytest
import yaml
from shoal import errors
from shoal.client import Client
from shoal.manifest import to_dict

from tests.ctl.conftest import Shoal


async def test_run_takes_kubectl_flags(shoal: Shoal, shoal_client: Client) -> None:
    ran = await shoal(
        "run", "web", "--image=nginx:1.25", "--image-pull-policy=Never",
        "--env=MODE=fast", "--env=URL=a=b", "--port=80", "--labels=app=web,tier=front",
        "--annotations=team=core", "--annotations", "note=x", "--restart=Never",
        "--", "-g", "daemon off;",
    )  # fmt: skip
    assert (ran.code, ran.out) == (0, "pod/web created\n"), ran.err
    pod = to_dict(await shoal_client.get("pod", "web"))
    container = pod["spec"]["containers"][0]
    assert container["name"] == "web" and container["imagePullPolicy"] == "Never"
    assert container["env"] == [{"name": "MODE", "value": "fast"}, {"name": "URL", "value": "a=b"}]
    assert [p["containerPort"] for p in container["ports"]] == [80]
    assert container["args"] == ["-g", "daemon off;"] and "command" not in container
    assert pod["metadata"]["labels"] == {"app": "web", "tier": "front"}
    assert pod["metadata"]["annotations"] == {"team": "core", "note": "x"}
    assert pod["spec"]["restartPolicy"] == "Never"


async def test_run_command_overrides_and_dry_run(shoal: Shoal, shoal_client: Client) -> None:
    overrides = {"metadata": {"labels": {"extra": "1"}}, "spec": {"nodeName": "node-1"}}
    ran = await shoal("run", "sleeper", "--image=busybox", "--command",
                      f"--overrides={json.dumps(overrides)}", "--", "sleep", "60")  # fmt: skip
    assert ran.code == 0, ran.err
    pod = to_dict(await shoal_client.get("pod", "sleeper"))
    assert pod["spec"]["containers"][0]["command"] == ["sleep", "60"]
    assert "args" not in pod["spec"]["containers"][0]
    assert pod["metadata"]["labels"] == {"run": "sleeper", "extra": "1"}
    assert pod["spec"]["nodeName"] == "node-1"
    dry = await shoal("run", "ghost", "--image=nginx", "--dry-run=client", "-o", "yaml")
    printed = yaml.safe_load(dry.out)
    assert (printed["kind"], printed["metadata"]["labels"]) == ("Pod", {"run": "ghost"})
    assert printed["spec"]["containers"][0] == {"name": "ghost", "image": "nginx", "resources": {}}
    with pytest.raises(errors.NotFoundError):
        await shoal_client.get("pod", "ghost")
    told = await shoal("run", "ghost", "--image=nginx", "--dry-run=client")
    assert told.out == "pod/ghost created (dry run)\n"


async def test_run_refuses_bad_flags(shoal: Shoal) -> None:
    policy = await shoal("run", "x", "--image=nginx", "--image-pull-policy=Sometimes")
    assert policy.code == 2 and "--image-pull-policy" in policy.err
    bad_json = await shoal("run", "x", "--image=nginx", "--overrides={nope", "--dry-run=client")
    assert bad_json.code == 1 and bad_json.err.startswith("error: --overrides")
    assert len(bad_json.err.splitlines()) == 1
    env = await shoal("run", "x", "--image=nginx", "--env=NOVALUE", "--dry-run=client")
    assert env.code != 0 and "invalid env: NOVALUE" in env.err
    restart = await shoal("run", "x", "--image=nginx", "--restart=Sometimes")
    assert restart.code == 2


async def test_create_deployment_like_kubectl(shoal: Shoal, shoal_client: Client) -> None:
    dry = await shoal("create", "deployment", "web", "--image=nginx:1.25", "--image=redis",
                      "--port=80", "--replicas=2", "--dry-run=client", "-o", "json")  # fmt: skip
    assert dry.code == 0, dry.err
    printed = json.loads(dry.out)
    containers = printed["spec"]["template"]["spec"]["containers"]
    # a container per image, the port on the first, as kubectl
    assert containers == [
        {"name": "nginx", "image": "nginx:1.25", "ports": [{"containerPort": 80}], "resources": {}},
        {"name": "redis", "image": "redis", "resources": {}},
    ]
    assert printed["spec"]["replicas"] == 2
    with pytest.raises(errors.NotFoundError):
        await shoal_client.get("deploy", "web")
    both = await shoal("create", "deployment", "web", "--image=a", "--image=b", "--", "sleep", "1")
    assert (both.code, both.err) == (
        1,
        "error: cannot specify multiple --image options and command\n",
    )
    made = await shoal("create", "deployment", "my_app", "--image=my_app:1", "-o", "name")
    assert made.code != 0  # a name with "_" is no DNS name: the server says so
    named = await shoal("create", "deployment", "app", "--image=reg.local/my_app:1", "-o", "name")
    assert named.out == "deployment.apps/app\n", named.err
    deploy = to_dict(await shoal_client.get("deploy", "app"))
    # as kubectl: "_" is no DNS label, so "-", and a random suffix
    assert re.fullmatch(
        "my-app-[a-z0-9]{5}", deploy["spec"]["template"]["spec"]["containers"][0]["name"]
    )
