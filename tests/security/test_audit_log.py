"""The audit log: JSON lines in a 0600 file, one per request with who,
what and the answer, refusals included, never a Secret's data."""

from __future__ import annotations

import contextlib
import json
import os
import stat
from pathlib import Path

from shoal.apiserver.audit import AuditLog
from shoal.manifest import from_dict

from tests.integration.helpers import pod
from tests.security.authz_helpers import refused
from tests.security.conftest import SecureServer

PLAINTEXT = "audit-must-not-see-this"


async def test_every_request_and_refusal_is_a_json_line(
    secure_server: SecureServer, tmp_path: Path
) -> None:
    path = tmp_path / "audit" / "audit.log"
    log = AuditLog(path)
    secure_server.server.authorization.set_audit(log)
    admin = secure_server.admin
    await admin.create(
        from_dict(
            {
                "apiVersion": "v1",
                "kind": "Secret",
                "metadata": {"name": "s"},
                "stringData": {"pw": PLAINTEXT},
            }
        )
    )
    await admin.create(pod("web"))
    mallory = secure_server.user_client("mallory", ("crew",))
    try:
        await refused(mallory.delete("pod", "web"))
        await refused(mallory.get("secret", "s"))
    finally:
        await mallory.close()
    await admin.get("secret", "s")
    log.close()
    text = path.read_text()
    assert PLAINTEXT not in text
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    events = [json.loads(line) for line in text.splitlines()]
    summary = [(e["user"], e["verb"], e["resource"], e["name"], e["code"]) for e in events]
    assert summary == [
        ("shoal-admin", "create", "secrets", "", "OK"),
        ("shoal-admin", "create", "pods", "", "OK"),
        ("mallory", "delete", "pods", "web", "PERMISSION_DENIED"),
        ("mallory", "get", "secrets", "s", "PERMISSION_DENIED"),
        ("shoal-admin", "get", "secrets", "s", "OK"),
    ]
    refusal = events[2]
    assert refusal["groups"] == ["crew", "system:authenticated"]
    assert refusal["namespace"] == "default" and refusal["time"].endswith("Z")
    assert refusal["method"] == "/shoal.v1.Objects/Delete"


async def test_an_error_answer_is_recorded_with_its_code(secure_server: SecureServer) -> None:
    from shoal import errors
    from shoal.apiserver.audit import MemoryAudit

    audit = MemoryAudit()
    secure_server.server.authorization.set_audit(audit)
    with contextlib.suppress(errors.NotFoundError):
        await secure_server.admin.get("pod", "missing")
    assert [(e["verb"], e["name"], e["code"]) for e in audit.events] == [
        ("get", "missing", "NOT_FOUND")
    ]
