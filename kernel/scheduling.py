"""The scheduler framework's extension points, as kube-scheduler's
``framework/interface.go``: one small Protocol per point, each answering
with a :class:`Status`.

A scheduler plugin is any object registered through
``register_scheduler_plugins``; the framework gives it a part in every
extension point whose Protocol it satisfies, in the order the profile says
(see ``docs/scheduler.md``). For one pod, in order:

scheduling cycle (one pod at a time, in memory, no API calls):

* ``pre_filter(pod, state)`` once: ``Status.skip()`` (or ``False``) leaves
  this plugin's ``filter`` out for the pod; an unschedulable Status makes the
  pod fit nowhere, with its reasons; a :class:`PreFilterResult` (a success)
  names the only nodes that can fit, so the filters and scores look at
  those alone (NodeAffinity's ``matchFields: metadata.name``, as a
  DaemonSet pod carries). Several results intersect.
* ``filter(pod, node, state)`` per node: ``None`` (or a successful Status)
  if the pod fits, else why not: a reason string, a list of them, or a
  Status. Kept this cheap because it runs for every node of every pod.
* ``post_filter(pod, state, reasons)`` when no node fits (where preemption
  would go); ``reasons`` counts nodes per reason.
* ``pre_score(pod, nodes, state)`` once: skip like ``pre_filter``.
* ``score(pod, node, state) -> int`` 0..100 per feasible node, times the
  profile's weight (default: the plugin's ``weight`` attribute, else 1);
  ``normalize_scores(pod, scores, state)`` rescales ``{node: score}``.
* ``reserve(pod, node, state)`` once a node is chosen (claim what you
  track); on any later failure ``unreserve(pod, node, state)`` undoes it.

binding cycle (in the background, so the next pod is placed meanwhile):

* ``permit(pod, node, state)``: a Status, or an awaitable of one to make the
  pod wait (bounded by the profile's ``permitTimeoutSeconds``);
* ``async pre_bind(pod, node, state)``;
* ``async bind(pod, node, state)``: ``Status.skip()`` passes to the next
  binder; the scheduler's own binder (a Binding through the API) comes last;
* ``post_bind(pod, node, state)`` after a successful bind (informational).

``state`` is a dict shared by every plugin for one pod's cycles.
"""

from __future__ import annotations

import enum
from collections.abc import Awaitable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

CycleState = dict[str, Any]


class Code(enum.Enum):
    SUCCESS = "Success"
    ERROR = "Error"
    UNSCHEDULABLE = "Unschedulable"
    UNSCHEDULABLE_AND_UNRESOLVABLE = "UnschedulableAndUnresolvable"
    WAIT = "Wait"
    SKIP = "Skip"


@dataclass(frozen=True)
class Status:
    """The answer of one plugin at one extension point."""

    code: Code = Code.SUCCESS
    reasons: tuple[str, ...] = ()
    plugin: str = ""

    @classmethod
    def success(cls) -> Status:
        return _SUCCESS

    @classmethod
    def skip(cls) -> Status:
        return _SKIP

    @classmethod
    def unschedulable(cls, *reasons: str, unresolvable: bool = False) -> Status:
        code = Code.UNSCHEDULABLE_AND_UNRESOLVABLE if unresolvable else Code.UNSCHEDULABLE
        return cls(code, tuple(reasons))

    @classmethod
    def error(cls, message: str) -> Status:
        return cls(Code.ERROR, (message,))

    def is_success(self) -> bool:
        return self.code is Code.SUCCESS

    def is_skip(self) -> bool:
        return self.code is Code.SKIP

    def is_rejected(self) -> bool:
        """Unschedulable (resolvable or not): the pod does not fit."""
        return self.code in (Code.UNSCHEDULABLE, Code.UNSCHEDULABLE_AND_UNRESOLVABLE)

    @property
    def message(self) -> str:
        return ", ".join(self.reasons)

    def with_plugin(self, plugin: str) -> Status:
        return Status(self.code, self.reasons, plugin)


_SUCCESS = Status()
_SKIP = Status(Code.SKIP)


def as_status(result: Any) -> Status:
    """A plugin's answer as a Status: ``None``/``True`` (and a
    :class:`PreFilterResult`) succeed, ``False``
    skips, a string or list of strings is unschedulable."""
    if isinstance(result, Status):
        return result
    if result is None or result is True or isinstance(result, PreFilterResult):
        return _SUCCESS
    if result is False:
        return _SKIP
    if isinstance(result, str):
        return Status(Code.UNSCHEDULABLE, (result,))
    return Status(Code.UNSCHEDULABLE, tuple(result))


@dataclass(frozen=True)
class PreFilterResult:
    """Kubernetes' ``PreFilterResult``: the only nodes the pod can fit.
    The others count as refused with ``reason`` in the fit error (by
    default ``node(s) didn't satisfy plugin(s) [<plugin>]``)."""

    node_names: frozenset[str]
    reason: str = ""


# -- the scheduling cycle -----------------------------------------------------------


@runtime_checkable
class PreFilterPlugin(Protocol):
    def pre_filter(self, pod: Any, state: CycleState) -> Status | PreFilterResult | bool | None: ...


@runtime_checkable
class FilterPlugin(Protocol):
    def filter(
        self, pod: Any, node: Any, state: CycleState
    ) -> Status | str | Sequence[str] | None: ...


@runtime_checkable
class PostFilterPlugin(Protocol):
    def post_filter(
        self, pod: Any, state: CycleState, reasons: Mapping[str, int]
    ) -> Status | None: ...


@runtime_checkable
class PreScorePlugin(Protocol):
    def pre_score(
        self, pod: Any, nodes: Sequence[Any], state: CycleState
    ) -> Status | bool | None: ...


@runtime_checkable
class ScorePlugin(Protocol):
    def score(self, pod: Any, node: Any, state: CycleState) -> int: ...


@runtime_checkable
class BatchScorePlugin(Protocol):
    """Optional, beside ``score``: every feasible node's score at once, in
    the order of ``nodes`` (the same values ``score`` gives one by one).
    The framework prefers it: one call per pod instead of one per node.
    Answering a :class:`BoundedScores` vouches that every value is an
    integer within 0..100, and spares the framework its clamp."""

    def score_nodes(self, pod: Any, nodes: list[Any], state: CycleState) -> list[int]: ...


class BoundedScores(list[int]):
    """A ``score_nodes`` answer whose values are all integers within 0..100:
    the framework adds them as they are, where it would otherwise clamp and
    convert each (which costs as much as a simple score; it runs for every
    feasible node of every pod)."""


@runtime_checkable
class NormalizeScorePlugin(Protocol):
    def normalize_scores(self, pod: Any, scores: dict[str, int], state: CycleState) -> None: ...


@runtime_checkable
class ReservePlugin(Protocol):
    def reserve(self, pod: Any, node: str, state: CycleState) -> Status | None: ...

    def unreserve(self, pod: Any, node: str, state: CycleState) -> None: ...


# -- the binding cycle ----------------------------------------------------------------


@runtime_checkable
class PermitPlugin(Protocol):
    def permit(
        self, pod: Any, node: str, state: CycleState
    ) -> Status | Awaitable[Status | None] | None: ...


@runtime_checkable
class PreBindPlugin(Protocol):
    async def pre_bind(self, pod: Any, node: str, state: CycleState) -> Status | None: ...


@runtime_checkable
class BindPlugin(Protocol):
    async def bind(self, pod: Any, node: str, state: CycleState) -> Status | None: ...


@runtime_checkable
class PostBindPlugin(Protocol):
    def post_bind(self, pod: Any, node: str, state: CycleState) -> None: ...


SchedulerPlugin = (
    PreFilterPlugin
    | FilterPlugin
    | PostFilterPlugin
    | PreScorePlugin
    | ScorePlugin
    | ReservePlugin
    | PermitPlugin
    | PreBindPlugin
    | BindPlugin
    | PostBindPlugin
)

# The extension points a profile orders, by their KubeSchedulerConfiguration
# names, with the Protocol a plugin must satisfy to take part.
EXTENSION_POINTS: dict[str, type] = {
    "preFilter": PreFilterPlugin,
    "filter": FilterPlugin,
    "postFilter": PostFilterPlugin,
    "preScore": PreScorePlugin,
    "score": ScorePlugin,
    "reserve": ReservePlugin,
    "permit": PermitPlugin,
    "preBind": PreBindPlugin,
    "bind": BindPlugin,
    "postBind": PostBindPlugin,
}
