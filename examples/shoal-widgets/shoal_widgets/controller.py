"""The widget controller: makes each widget's parts and reports them in
its status (size, phase, the selector of its parts, the generation seen).

"Making parts" is bookkeeping here; a real controller would create objects
(pods, say) and count them. It reads widgets through the process's shared
informers (``shoal.client.shared_informers``, via ``Controller.watch``), so
it adds no watch when another controller in the process reads widgets too.
"""

from __future__ import annotations

from typing import Any

import structlog
from shoal import errors
from shoal.controller import Controller

log = structlog.get_logger("widgets")


class WidgetController(Controller):
    name = "widget"
    workers = 2

    def __init__(self, client: Any) -> None:
        super().__init__(client)
        self.widgets = self.watch("widgets.example.shoal.dev")

    async def reconcile(self, key: str) -> float | None:
        namespace, _, name = key.rpartition("/")
        widget = self.widgets.get(name, namespace)
        if widget is None or widget.metadata.HasField("deletion_timestamp"):
            return None
        want = {
            "size": widget.spec.size,
            "phase": "Ready",
            "selector": f"widget={name}",
            "observed_generation": widget.metadata.generation,
        }
        status = widget.status
        if all(getattr(status, field) == value for field, value in want.items()):
            return None
        updated = type(widget)()
        updated.CopyFrom(widget)
        for field, value in want.items():
            setattr(updated.status, field, value)
        try:
            await self.client.update_status(updated)
        except errors.NotFoundError:
            return None  # deleted meanwhile
        log.info("widget reconciled", widget=key, size=widget.spec.size)
        return None
