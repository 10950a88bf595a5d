"""The audit log: one JSON line per request — when, who (user and groups,
and ``impersonatedBy`` when the request impersonated them),
what (verb, group, resource, namespace, name), and the answer (a gRPC status
code name) — refusals included. Only attributes are written, never a body,
so no Secret data can reach it. ``DATA/audit.log`` by default, mode 0600."""

from __future__ import annotations

import datetime
import json
import os
import pathlib
import time
from typing import Any, Protocol

import structlog
from shoal.apiserver.authz import Attributes

log = structlog.get_logger("apiserver")


class AuditSink(Protocol):
    def record(self, attrs: Attributes, code: str, reason: str = "", method: str = "") -> None: ...


def audit_event(attrs: Attributes, code: str, reason: str = "", method: str = "") -> dict[str, Any]:
    now = datetime.datetime.now(datetime.UTC)
    event: dict[str, Any] = {
        "time": now.isoformat(timespec="microseconds").replace("+00:00", "Z"),
        "user": attrs.user.name,
        "groups": list(attrs.user.groups),
        "verb": attrs.verb,
    }
    if attrs.user.impersonated_by:  # kubectl --as: who asked to act as this user
        event["impersonatedBy"] = attrs.user.impersonated_by
    if attrs.resource_request:
        event.update(
            apiGroup=attrs.api_group,
            resource=attrs.full_resource,
            namespace=attrs.namespace,
            name=attrs.name,
        )
    else:
        event["path"] = attrs.path
    event["code"] = code
    if method:
        event["method"] = method
    if reason:
        event["reason"] = reason
    return event


class AuditLog:
    """Appends JSON lines to a file; each line is one write, so a crash
    loses at most the line being written. A line that cannot be written (a
    full disk) is dropped and counted, and the request goes on, as
    Kubernetes' log backend does; the error is logged once a minute."""

    def __init__(self, path: pathlib.Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        self.dropped = 0
        self._warned = -60.0

    def record(self, attrs: Attributes, code: str, reason: str = "", method: str = "") -> None:
        line = json.dumps(audit_event(attrs, code, reason, method), separators=(",", ":"))
        try:
            os.write(self._fd, (line + "\n").encode())
        except OSError as err:
            self.dropped += 1
            if time.monotonic() - self._warned >= 60.0:
                self._warned = time.monotonic()
                log.error("cannot write the audit log; events are dropped", path=str(self.path),
                          error=str(err), dropped=self.dropped)  # fmt: skip

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1


class MemoryAudit:
    """Keeps events in a list (tests, and servers run without a log file)."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []

    def record(self, attrs: Attributes, code: str, reason: str = "", method: str = "") -> None:
        self.events.append(audit_event(attrs, code, reason, method))
