"""A client in another language, with nothing but standard gRPC tooling:
examples/node-client (grpc-js, proto-loader, protobufjs) reads admin.conf,
connects over TLS with its CA and bearer token, and walks a ConfigMap
through Create, Get, List, Watch, Patch, errors (with the google.rpc
details of grpc-status-details-bin) and Delete (issue 14)."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

from shoal import config
from shoal.api.v1 import certificates_pb2, certificates_pb2_grpc
from shoal.apiserver.security import write_admin_config

from tests.requirements import require, require_binary
from tests.security.conftest import SecureServer

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "node-client"


async def _run(*args: str, cwd: Path, timeout: float) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        *args, cwd=cwd, env={**os.environ, "NO_COLOR": "1"},
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        out, err = await asyncio.wait_for(proc.communicate(), timeout)
    except TimeoutError:
        proc.kill()
        raise
    return proc.returncode or 0, out.decode(), err.decode()


async def _installed() -> None:
    """``npm install`` in the example (node_modules is git-ignored, and npm
    keeps what it fetched in ~/.npm): the registry is asked only the first
    time, or when package-lock.json changes."""
    npm = require_binary("npm")
    code, _, err = await _run(
        npm, "install", "--no-audit", "--no-fund", "--ignore-scripts", "--prefer-offline",
        cwd=EXAMPLE, timeout=300,
    )  # fmt: skip
    lines = err.strip().splitlines()
    require(
        "npm install of examples/node-client",
        f"failed: {lines[-1] if lines else code}" if code else None,
    )


async def test_the_node_example_walks_a_config_map(
    secure_server: SecureServer, tmp_path: Path
) -> None:
    node = require_binary("node")
    await _installed()
    conf = write_admin_config(
        tmp_path / "admin.conf", secure_server.address, secure_server.security
    )
    code, out, err = await _run(
        node, "client.mjs", "--config", str(conf), "--name", "from-node", cwd=EXAMPLE, timeout=120
    )
    assert code == 0, f"{out}\n{err}"
    lines = out.splitlines()
    assert lines[0] == f"server {secure_server.address}, bearer token from admin.conf"
    created, got = lines[1], lines[2]
    assert created.startswith("created configmap default/from-node rv=")
    assert created.endswith('labels={} data={"greeting":"hello"}')
    assert got.replace("got", "created", 1) == created  # Get returns what Create stored
    listed, names = lines[3].split(": ", 1)
    assert listed.startswith("listed configmaps in default at rv=")
    assert "from-node" in names.split(", ")  # beside the namespace's kube-root-ca.crt
    # The watch event decodes whole: name, namespace, labels and data.
    (modified,) = [line for line in lines if line.startswith("watch MODIFIED")]
    assert "configmap default/from-node rv=" in modified
    assert modified.endswith('labels={"from":"node"} data={"greeting":"hi"}')
    assert 'create again: ALREADY_EXISTS (6): configmaps "from-node" already exists' in lines
    assert (
        '  ErrorInfo reason=ALREADY_EXISTS domain=shoal.io metadata={"kind":"configmaps",'
        '"name":"from-node","reason":"AlreadyExists"}'
    ) in lines
    assert any(line.startswith("create invalid: INVALID_ARGUMENT (3): ") for line in lines)
    assert any(line.startswith("  BadRequest field=metadata.name ") for line in lines)
    assert "deleted configmap default/from-node" in lines
    assert any(line.startswith("watch DELETED configmap default/from-node") for line in lines)
    assert lines[-1] == "done"
    left = (await secure_server.admin.list("ConfigMap", "default")).items
    assert [c.metadata.name for c in left] == ["kube-root-ca.crt"]  # the example's is gone


async def test_the_node_example_is_refused_once_its_token_is_revoked(
    secure_server: SecureServer, tmp_path: Path
) -> None:
    node = require_binary("node")
    await _installed()
    conf = write_admin_config(
        tmp_path / "admin.conf", secure_server.address, secure_server.security
    )
    stub = certificates_pb2_grpc.TokensStub(secure_server.admin.channel)
    token = config.load(conf).token
    await stub.RevokeToken(certificates_pb2.RevokeTokenRequest(token=token))
    code, out, err = await _run(node, "client.mjs", "--config", str(conf), cwd=EXAMPLE, timeout=120)
    assert code == 1, out
    assert "error: invalid bearer token" in err
    assert "created" not in out
