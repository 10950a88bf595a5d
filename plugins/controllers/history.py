"""ControllerRevisions: the history of a DaemonSet's or StatefulSet's pod
template (Kubernetes' ``controller/history``).

Each distinct template gets one immutable ControllerRevision, owned by the
set, named ``<set>-<hash>`` and numbered; going back to an old template
(``rollout undo``) renumbers its revision rather than making a new one.
``data`` holds the template as Kubernetes stores it, a strategic merge patch
``{"spec": {"template": {..., "$patch": "replace"}}}``, so kubectl's
``rollout undo`` and ``rollout history`` read shoal's revisions unchanged.
"""

from __future__ import annotations

import contextlib
import json
from typing import Any

from google.protobuf import json_format
from google.protobuf.struct_pb2 import Struct
from shoal import errors
from shoal.api.v1 import apps_pb2
from shoal.manifest import to_dict
from shoal.manifest_always import canonicalize
from shoal.plugins.controllers import podutil
from shoal.plugins.controllers.deployment_util import _SAFE, fnv32a

HASH_LABEL = "controller-revision-hash"


def revision_data(owner: Any) -> dict[str, Any]:
    """What a revision of ``owner`` records: its template, as a patch."""
    template = to_dict(owner.spec.template)
    template["$patch"] = "replace"
    return {"spec": {"template": template}}


def hash_data(data: dict[str, Any], collision_count: int = 0) -> str:
    """Kubernetes' ``HashControllerRevision``: FNV-32a of the data (and the
    collision count), its decimal digits in the safe alphabet."""
    raw = json.dumps(data, sort_keys=True, separators=(",", ":")).encode()
    if collision_count:
        raw += str(collision_count).encode()
    return "".join(_SAFE[ord(c) % len(_SAFE)] for c in str(fnv32a(raw)))


def data_of(revision: Any) -> dict[str, Any]:
    return json_format.MessageToDict(revision.data)


def template_of(revision: Any, message: type[Any]) -> Any:
    """The pod template a revision records, as ``message`` (PodTemplateSpec)."""
    template = dict((data_of(revision).get("spec") or {}).get("template") or {})
    template.pop("$patch", None)
    parsed = message()
    json_format.ParseDict(template, parsed, ignore_unknown_fields=True)
    canonicalize(parsed)
    return parsed


def hash_of(revision: Any) -> str:
    return revision.metadata.labels.get(HASH_LABEL) or revision.metadata.name.rsplit("-", 1)[-1]


def owned(informer: Any, owner: Any) -> list[Any]:
    """``owner``'s revisions, oldest number first."""
    found = [
        r
        for r in informer.by_index("namespace", owner.metadata.namespace)
        if (ref := podutil.controller_of(r)) is not None and ref.uid == owner.metadata.uid
    ]
    return sorted(found, key=lambda r: (r.revision, r.metadata.name))


def new_revision(owner: Any, data: dict[str, Any], number: int, collisions: int) -> Any:
    digest = hash_data(data, collisions)
    revision = apps_pb2.ControllerRevision(revision=number)
    m = revision.metadata
    m.name = f"{owner.metadata.name}-{digest}"
    m.namespace = owner.metadata.namespace
    m.labels.update(owner.spec.template.metadata.labels)
    m.labels[HASH_LABEL] = digest
    m.annotations.update(owner.metadata.annotations)
    m.annotations.pop("kubectl.kubernetes.io/last-applied-configuration", None)
    m.owner_references.append(podutil.controller_ref(owner))
    revision.data.CopyFrom(_struct(data))
    return revision


def _struct(data: dict[str, Any]) -> Struct:
    struct = Struct()
    struct.update(data)
    return struct


async def sync(client: Any, owner: Any, revisions: list[Any]) -> tuple[Any, list[Any]]:
    """The revision of ``owner``'s template now (created, or renumbered to
    be the newest), and every revision of ``owner`` after that."""
    data = _struct(revision_data(owner))
    number = max((r.revision for r in revisions), default=0) + 1
    equal = [r for r in revisions if r.data == data]
    if equal:
        latest = equal[-1]
        if latest.revision == number - 1:
            return latest, revisions
        updated = podutil.copy(latest)
        updated.revision = number
        updated = await client.update(updated)
        return updated, [r for r in revisions if r.metadata.name != latest.metadata.name] + [
            updated
        ]
    created = await _create(client, owner, revision_data(owner), number)
    return created, [*revisions, created]


async def _create(client: Any, owner: Any, data: dict[str, Any], number: int) -> Any:
    status = owner.status
    collisions = status.collision_count
    for _attempt in range(5):
        revision = new_revision(owner, data, number, collisions)
        try:
            return await client.create(revision)
        except errors.AlreadyExistsError:
            existing = await client.get(
                "ControllerRevision", revision.metadata.name, revision.metadata.namespace
            )
            ref = podutil.controller_of(existing)
            if ref is not None and ref.uid == owner.metadata.uid and existing.data == revision.data:
                return existing
            collisions += 1
            status.collision_count = collisions
    raise errors.ConflictError(f"could not name a new revision for {owner.metadata.name}")


async def truncate(client: Any, owner: Any, revisions: list[Any], live: set[str]) -> None:
    """Delete the oldest revisions no pod uses beyond revisionHistoryLimit;
    ``live`` holds the revision names still in use."""
    limit = owner.spec.revision_history_limit
    idle = [r for r in revisions if r.metadata.name not in live]
    for revision in idle[: max(len(idle) - limit, 0)]:
        with contextlib.suppress(errors.NotFoundError, errors.PreconditionFailedError):
            await client.delete(
                "ControllerRevision",
                revision.metadata.name,
                revision.metadata.namespace,
                uid=revision.metadata.uid,
            )
