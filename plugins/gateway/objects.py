"""The verbs on objects: get, list, create, update, patch, delete and
deletecollection, on an object or its ``status``, all through the client
(the gRPC API), so the registry stays the one source of truth."""

from __future__ import annotations

import dataclasses
from typing import Any

from aiohttp import web
from shoal import errors
from shoal.apiserver import decoding
from shoal.apiserver.lists import parse_resource_version, too_large
from shoal.apiserver.managedfields import default_manager
from shoal.apiserver.patch import merge_patch
from shoal.client import Client
from shoal.plugins.gateway import bodies, paths, table
from shoal.plugins.gateway.jsonpatch import check_operations, json_patch
from shoal.plugins.gateway.paths import Target
from shoal.plugins.gateway.status import StatusError, bad_request, not_found, success
from shoal.plugins.gateway.strategic import strategic_merge
from shoal.plugins.gateway.watchlist import MATCH_WITH_CONTINUE

MERGE = "application/merge-patch+json"
STRATEGIC = "application/strategic-merge-patch+json"
JSON_PATCH = "application/json-patch+json"
APPLY = "application/apply-patch+yaml"
CONFLICT_RETRIES = 5


def dry_run(request: web.Request) -> bool:
    values = request.query.getall("dryRun", [])
    unknown = [v for v in values if v != "All"]
    if unknown:
        raise bad_request(f'unsupported dryRun value "{unknown[0]}": only "All" is')
    return bool(values)


def field_manager(request: web.Request) -> str:
    """``fieldManager``, else the name in the client's User-Agent, as
    Kubernetes defaults it."""
    return request.query.get("fieldManager") or default_manager(
        request.headers.get("User-Agent", "")
    )


def _force(request: web.Request) -> bool:
    text = request.query.get("force")
    if text is None:
        return False
    if text not in ("true", "false", "1", "0", "True", "False"):
        raise bad_request(f'force: invalid value "{text}", expected a boolean')
    return text in ("true", "1", "True")


def _int_param(request: web.Request, name: str) -> int:
    text = request.query.get(name, "") or "0"
    try:
        return int(text)
    except ValueError:
        raise bad_request(f'{name}: invalid value "{text}", expected an integer') from None


class Objects:
    def __init__(self, client: Client) -> None:
        self.client = client

    async def get(self, request: web.Request, target: Target) -> web.Response:
        obj = bodies.to_json(await self.client.get(target.kind, target.name, target.namespace))
        if table.wants_table(request.headers.get("Accept", "")):
            include = request.query.get("includeObject", "Metadata")
            meta = {"resourceVersion": obj["metadata"].get("resourceVersion", "")}
            return bodies.respond(table.table(table.table_for(target.kind), [obj], meta, include))
        return bodies.respond(obj)

    async def list(self, request: web.Request, target: Target) -> web.Response:
        q = request.query
        version, at_least = _list_version(request)
        listed = await self.client.list(
            target.kind,
            target.namespace,
            label_selector=q.get("labelSelector", ""),
            field_selector=q.get("fieldSelector", ""),
            limit=_int_param(request, "limit"),
            continue_token=q.get("continue", ""),
            resource_version=version,
        )
        if at_least and int(listed.resource_version or 0) < at_least:
            raise too_large(at_least, int(listed.resource_version or 0))
        as_table = table.wants_table(request.headers.get("Accept", ""))
        include = q.get("includeObject", "Metadata")
        # Turning many objects into JSON is the gateway's heaviest work: a
        # large list is encoded on a worker thread, off the event loop.
        size = sum(item.ByteSize() for item in listed.items)
        text = await decoding.off_loop(size, _list_body, target, listed, as_table, include)
        return bodies.respond_encoded(text)

    async def create(self, request: web.Request, target: Target) -> web.Response:
        obj = bodies.to_message(await bodies.read_json(request), target)
        created = await self.client.create(
            obj, dry_run=dry_run(request), field_manager=field_manager(request)
        )
        return bodies.respond(bodies.to_json(created), 201)

    async def create_subresource(self, request: web.Request, target: Target) -> web.Response:
        """POST pods/NAME/eviction (or binding): create the subresource's
        kind, named after its parent; answered with a Success Status as
        Kubernetes does."""
        kind = paths.subresource_kind(target.kind, target.subresource)
        if kind is None:
            raise not_found()
        child = dataclasses.replace(target, kind=kind, subresource="")
        obj = bodies.to_message(await bodies.read_json(request), child)
        await self.client.create(
            obj, dry_run=dry_run(request), field_manager=field_manager(request)
        )
        return bodies.respond({**success(), "code": 201}, 201)

    async def update(self, request: web.Request, target: Target) -> web.Response:
        obj = bodies.to_message(await bodies.read_json(request), target)
        return bodies.respond(bodies.to_json(await self._put(request, target, obj)))

    async def _put(self, request: web.Request, target: Target, obj: Any) -> Any:
        write = self.client.update_status if target.subresource == "status" else self.client.update
        return await write(obj, dry_run=dry_run(request), field_manager=field_manager(request))

    async def patch(self, request: web.Request, target: Target) -> web.Response:
        content_type = request.content_type
        if content_type not in (MERGE, STRATEGIC, JSON_PATCH, APPLY):
            raise StatusError(
                "UnsupportedMediaType",
                f"the body of the request was in an unknown format - accepted media types "
                f"include: {JSON_PATCH}, {MERGE}, {APPLY}, {STRATEGIC}",
            )
        if content_type == APPLY:
            return await self._apply(request, target)
        if "force" in request.query:
            raise errors.invalid(
                "PatchOptions", "",
                [("force", "Forbidden: may not be specified for non-apply patch")],
                "meta.k8s.io",
            )  # fmt: skip
        raw = await request.read() or b"null"
        document = await decoding.off_loop(len(raw), decoding.decode_json, raw, "the patch")
        if content_type == JSON_PATCH:
            check_operations(document)  # before the object is even read
        status = target.subresource == "status"
        if content_type == MERGE:
            patched = await self.client.patch(
                target.kind, target.name, document, target.namespace,
                status=status, dry_run=dry_run(request),
                field_manager=field_manager(request),
            )  # fmt: skip
            return bodies.respond(bodies.to_json(patched))
        apply = strategic_merge if content_type == STRATEGIC else json_patch

        async def change(current: Any, size: int) -> Any:
            return await decoding.off_loop(size + len(raw), apply, current, document)

        patched = await self._read_modify_write(request, target, change)
        return bodies.respond(patched)

    async def _apply(self, request: web.Request, target: Target) -> web.Response:
        """Server-side apply: the API server merges the configuration (JSON
        or YAML, sent on as it came) and keeps who owns what."""
        if target.subresource not in ("", "status"):
            raise bad_request(f"server-side apply is not supported on {target.subresource}")
        force = _force(request)
        raw = await request.read()
        if not raw.strip():
            raise bad_request("the request body is empty")
        applied = await self.client.apply(
            raw,
            kind=target.kind,
            name=target.name,
            namespace=target.namespace,
            field_manager=request.query.get("fieldManager", ""),
            force=force,
            status=target.subresource == "status",
            dry_run=dry_run(request),
        )
        return bodies.respond(bodies.to_json(applied))

    async def _read_modify_write(self, request: web.Request, target: Target, change: Any) -> Any:
        """Apply ``change`` to the stored object and update it, again on a
        conflict unless the patch itself pinned a resourceVersion."""
        for attempt in range(CONFLICT_RETRIES):
            stored = await self.client.get(target.kind, target.name, target.namespace)
            current = bodies.to_json(stored)
            changed = await change(current, stored.ByteSize())
            if not isinstance(changed, dict):
                raise bad_request("the patched object must be a JSON object")
            decoding.check_depth(changed)  # patches can nest deeper than any one body
            _keep_uid(target, changed, current)
            obj = bodies.to_message(changed, target)
            pinned = (changed.get("metadata") or {}).get("resourceVersion") != current[
                "metadata"
            ].get("resourceVersion")
            try:
                return bodies.to_json(await self._put(request, target, obj))
            except errors.ConflictError:
                if pinned or attempt == CONFLICT_RETRIES - 1:
                    raise
        raise AssertionError("unreachable")

    async def delete(self, request: web.Request, target: Target) -> web.Response:
        options = await _delete_options(request)
        pre = options.get("preconditions") or {}
        grace = options.get("gracePeriodSeconds")
        deleted = await self.client.delete(
            target.kind,
            target.name,
            target.namespace,
            grace_period_seconds=None if grace is None else int(grace),
            propagation_policy=_propagation(options),
            uid=pre.get("uid") or "",
            resource_version=pre.get("resourceVersion") or "",
            dry_run=_delete_dry_run(request, options),
        )
        return bodies.respond(bodies.to_json(deleted))

    async def delete_collection(self, request: web.Request, target: Target) -> web.Response:
        q = request.query
        listed = await self.client.list(
            target.kind,
            target.namespace,
            label_selector=q.get("labelSelector", ""),
            field_selector=q.get("fieldSelector", ""),
        )
        options = await _delete_options(request)
        grace = options.get("gracePeriodSeconds")
        for item in listed.items:
            try:
                await self.client.delete(
                    target.kind,
                    item.metadata.name,
                    item.metadata.namespace,
                    grace_period_seconds=None if grace is None else int(grace),
                    propagation_policy=_propagation(options),
                    dry_run=_delete_dry_run(request, options),
                )
            except errors.NotFoundError:
                continue  # deleted by someone else meanwhile: the goal is met
        kind = target.kind
        items = [bodies.to_json(i) for i in listed.items]
        body = {"kind": f"{kind.kind}List", "apiVersion": kind.api_version, "metadata": {}}
        return bodies.respond({**body, "items": items})


def _keep_uid(target: Target, changed: Any, current: dict[str, Any]) -> None:
    """A patch may not change the uid (Kubernetes: 422, field is immutable);
    sent on as an update it would read as a uid precondition instead."""
    uid = (changed.get("metadata") or {}).get("uid") if isinstance(changed, dict) else None
    if uid and uid != current["metadata"].get("uid"):
        causes = [("metadata.uid", f'Invalid value: "{uid}": field is immutable')]
        raise errors.invalid(target.kind.kind, target.name, causes)


def _list_body(target: Target, listed: Any, as_table: bool, include: str) -> str:
    items = [bodies.to_json(item) for item in listed.items]
    meta: dict[str, Any] = {"resourceVersion": listed.resource_version}
    if listed.continue_token:
        meta["continue"] = listed.continue_token
    if as_table:
        return bodies.encode(table.table(table.table_for(target.kind), items, meta, include))
    for item in items:  # items of a list carry no kind, as Kubernetes sends them
        item.pop("apiVersion", None)
        item.pop("kind", None)
    kind = target.kind
    body = {"kind": f"{kind.kind}List", "apiVersion": kind.api_version, "metadata": meta}
    return bodies.encode({**body, "items": items})


def _list_version(request: web.Request) -> tuple[str, int]:
    """The version to list at, and the one the answer must be at least as
    fresh as. Kubernetes reads resourceVersion as "not older than" unless
    resourceVersionMatch is Exact: "0" (any version) and a past version are
    served the latest state; only Exact lists the state at that version."""
    q = request.query
    version, match = q.get("resourceVersion", ""), q.get("resourceVersionMatch", "")
    if match:
        _check_match(version, match, q.get("continue", ""))
    if match == "Exact" or q.get("continue"):
        return ("" if version == "0" else version), 0  # the store checks the version
    return "", parse_resource_version(version)  # a malformed one is a 400


def _check_match(version: str, match: str, token: str) -> None:
    """ValidateListOptions' rules for resourceVersionMatch."""
    causes: list[tuple[str, str]] = []
    if not version:
        causes.append(("resourceVersionMatch", f"Forbidden: {_MATCH_NEEDS_VERSION}"))
    if token:
        causes.append(("resourceVersionMatch", f"Forbidden: {MATCH_WITH_CONTINUE}"))
    if match not in ("Exact", "NotOlderThan"):
        causes.append(
            (
                "resourceVersionMatch",
                f'Unsupported value: "{match[:64]}": supported values: "Exact", "NotOlderThan"',
            )
        )
    elif match == "Exact" and version == "0":
        causes.append(("resourceVersionMatch", f"Forbidden: {_EXACT_ZERO}"))
    if causes:
        raise errors.invalid("ListOptions", "", causes, "meta.k8s.io")


_MATCH_NEEDS_VERSION = "resourceVersionMatch is forbidden unless resourceVersion is provided"
_EXACT_ZERO = 'resourceVersionMatch "exact" is forbidden for resourceVersion "0"'


async def _delete_options(request: web.Request) -> dict[str, Any]:
    """DeleteOptions from the body (kubectl) or the query (curl)."""
    options: dict[str, Any] = {}
    if (await request.read()).strip():
        body = await bodies.read_json(request)
        if not isinstance(body, dict):
            raise bad_request("DeleteOptions must be a JSON object")
        options.update(body)
        grace = options.get("gracePeriodSeconds")
        if grace is not None and (not isinstance(grace, int) or isinstance(grace, bool)):
            raise bad_request("DeleteOptions.gracePeriodSeconds must be an integer")
    q = request.query
    if "gracePeriodSeconds" in q:
        options["gracePeriodSeconds"] = _int_param(request, "gracePeriodSeconds")
    if "propagationPolicy" in q:
        options["propagationPolicy"] = q["propagationPolicy"]
    if q.get("orphanDependents") == "true":
        options["orphanDependents"] = True
    return options


def _delete_dry_run(request: web.Request, options: dict[str, Any]) -> bool:
    """dryRun in the query or in the DeleteOptions body ("All" only)."""
    values = options.get("dryRun") or []
    if not isinstance(values, list):
        raise bad_request("DeleteOptions.dryRun must be a list of strings")
    unknown = [v for v in values if v != "All"]
    if unknown:
        raise bad_request(f'unsupported dryRun value "{str(unknown[0])[:64]}": only "All" is')
    return dry_run(request) or bool(values)


def _propagation(options: dict[str, Any]) -> str:
    policy = options.get("propagationPolicy") or ""
    if not policy and options.get("orphanDependents") is True:
        return "Orphan"
    if policy and policy not in ("Orphan", "Background", "Foreground"):
        raise bad_request(f'unknown propagationPolicy "{policy}"')
    return str(policy)


def merge(target: Any, patch: Any) -> Any:
    """A JSON merge patch on a plain dict (the Scale subresource uses it too)."""
    return merge_patch(target, patch)
