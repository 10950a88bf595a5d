"""``shoal run`` and ``shoal create deployment`` print the very objects real
kubectl generates for the same flags (``--dry-run=client -o json``)."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from tests.ctl.conftest import invoke
from tests.gateway.conftest import GatewayServer

pytestmark = pytest.mark.usefixtures("needs_kubectl")

GENERATORS = [
    ("run", "web", "--image=nginx:1.25"),
    (
        "run", "web", "--image=nginx:1.25", "--image-pull-policy=Never", "--env=MODE=fast",
        "--env=URL=a=b", "--port=80", "--labels=app=web,tier=front", "--annotations=team=core",
        "--restart=Never", "--", "-g", "daemon off;",
    ),
    ("run", "sh", "--image=busybox", "--command", "--", "sleep", "3600"),
    ("run", "pinned", "--image=busybox", '--overrides={"spec":{"nodeName":"node-1"}}'),
    ("create", "deployment", "web", "--image=nginx:1.25", "--image=redis", "--port=80",
     "--replicas=3"),
    ("create", "deployment", "sleeper", "--image=reg.local/my_app:1", "--", "sleep", "60"),
]  # fmt: skip


def _pruned(value: Any) -> Any:
    """Without kubectl's empty placeholders (``resources: {}``,
    ``creationTimestamp: null``, ``status: {}``), which shoal omits."""
    if isinstance(value, dict):
        kept = {k: _pruned(v) for k, v in value.items()}
        return {k: v for k, v in kept.items() if v not in (None, {}, [])}
    if isinstance(value, list):
        return [_pruned(v) for v in value]
    return value


@pytest.mark.parametrize("args", GENERATORS, ids=lambda a: " ".join(a[:3]))
async def test_generated_objects_match_kubectl(
    gateway_server: GatewayServer, args: tuple[str, ...]
) -> None:
    words = list(args)
    cut = words.index("--") if "--" in words else len(words)
    flags = [*words[:cut], "--dry-run=client", "-o", "json", *words[cut:]]
    theirs = await gateway_server.kubectl(*flags)
    assert theirs.code == 0, theirs.err
    server = gateway_server.client.target
    ours = invoke(["--server", server, *flags])
    assert ours.code == 0, ours.err
    # kubectl gives a container named after "my_app" a random suffix
    mine, kubectls = (re.sub(r"my-app-\w{5}", "my-app-*", r.out) for r in (ours, theirs))
    assert _pruned(json.loads(mine)) == _pruned(json.loads(kubectls))
