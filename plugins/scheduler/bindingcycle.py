"""The binding cycle of the scheduling framework: permit, pre-bind, bind,
post-bind (in the background, so the next pod is placed meanwhile), and the
guard that turns a plugin's exception into an error Status."""

from __future__ import annotations

import asyncio
import inspect
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import structlog
from shoal.scheduling import CycleState, Status, as_status

if TYPE_CHECKING:
    from shoal.plugins.scheduler.profile import SchedulerProfile

log = structlog.get_logger("scheduler")


@dataclass
class Plugin:
    """A plugin at an extension point of a profile, with its score weight."""

    name: str
    obj: Any
    weight: int


class BindingCycle:
    """Mixed into :class:`~shoal.plugins.scheduler.framework.Framework`:
    the plugins by extension point (``points``) and the profile."""

    points: dict[str, list[Plugin]]
    profile: SchedulerProfile

    async def run_permit(self, pod: Any, node: str, state: CycleState) -> Status:
        for plugin in self.points["permit"]:
            status = await _awaited(plugin, "permit", self.profile.permit_timeout, pod, node, state)
            if not status.is_success():
                return status
        return Status.success()

    async def run_pre_bind(self, pod: Any, node: str, state: CycleState) -> Status:
        for plugin in self.points["preBind"]:
            status = await _awaited(plugin, "pre_bind", None, pod, node, state)
            if not status.is_success():
                return status
        return Status.success()

    async def run_bind(self, pod: Any, node: str, state: CycleState) -> Status:
        """The first binder that does not skip; Skip if all do (then the
        scheduler's own binder binds)."""
        for plugin in self.points["bind"]:
            status = await _awaited(plugin, "bind", None, pod, node, state)
            if not status.is_skip():
                return status
        return Status.skip()

    def run_post_bind(self, pod: Any, node: str, state: CycleState) -> None:
        for plugin in self.points["postBind"]:
            try:
                plugin.obj.post_bind(pod, node, state)
            except Exception:
                log.exception("post-bind failed", plugin=plugin.name)


def guarded(plugin: Plugin, call: Any) -> Status:
    try:
        return as_status(call()).with_plugin(plugin.name)
    except Exception as err:
        log.exception("scheduler plugin failed", plugin=plugin.name)
        return Status.error(f"{type(err).__name__}: {err}").with_plugin(plugin.name)


async def _awaited(plugin: Plugin, method: str, timeout: float | None, *args: Any) -> Status:
    try:
        result = getattr(plugin.obj, method)(*args)
        if inspect.isawaitable(result):
            result = await asyncio.wait_for(result, timeout)
        return as_status(result).with_plugin(plugin.name)
    except TimeoutError:
        return Status.unschedulable(
            f"rejected due to timeout after waiting {timeout}s at plugin {plugin.name}"
        ).with_plugin(plugin.name)
    except asyncio.CancelledError:
        raise
    except Exception as err:
        log.exception("scheduler plugin failed", plugin=plugin.name, point=method)
        return Status.error(f"{type(err).__name__}: {err}").with_plugin(plugin.name)
