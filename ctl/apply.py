"""``shoal apply -f``: create or update objects from manifests, with a
three-way merge against the last-applied configuration (kubectl's
``kubectl.kubernetes.io/last-applied-configuration`` annotation), so fields
the user dropped from the file are removed and fields others set are kept."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import click
from shoal.ctl.context import CtlContext
from shoal.ctl.printers.flags import FORMATS_HELP, printer_options
from shoal.ctl.resources import read_manifests, ref, with_client

if TYPE_CHECKING:
    from shoal.client import Client
    from shoal.ctl.printers import Printer

LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
Obj = dict[str, Any]
# Top-level fields the server consumes on write (a Secret's stringData becomes data).
WRITE_ONLY = ("stringData",)


def three_way_patch(original: Any, modified: Any, current: Any) -> Obj:
    """The JSON merge patch taking ``current`` (live) to ``modified`` (the
    file), deleting what ``original`` (last applied) had and ``modified`` lost.
    Lists replace whole, as in a merge patch; one the user did not change since
    the last apply is left alone (the server may have defaulted inside it)."""
    patch: Obj = {}
    original = original if isinstance(original, dict) else {}
    current = current if isinstance(current, dict) else {}
    for key in original:
        if key not in modified and key in current:
            patch[key] = None
    for key, value in modified.items():
        live, before = current.get(key), original.get(key)
        if isinstance(value, dict) and isinstance(live, dict):
            nested = three_way_patch(before, value, live)
            if nested:
                patch[key] = nested
        elif value != live and not (isinstance(value, list) and value == before):
            patch[key] = value
    return patch


def last_applied_text(manifest: Obj) -> str:
    """The annotation's value: the manifest as given, without the annotation."""
    clean = json.loads(json.dumps(manifest))
    annotations = (clean.get("metadata") or {}).get("annotations") or {}
    annotations.pop(LAST_APPLIED, None)
    if not annotations and "annotations" in (clean.get("metadata") or {}):
        del clean["metadata"]["annotations"]
    return json.dumps(clean, sort_keys=True, separators=(",", ":"))


def _annotated(manifest: Obj) -> Obj:
    copy = json.loads(json.dumps(manifest))
    copy.setdefault("metadata", {}).setdefault("annotations", {})[LAST_APPLIED] = last_applied_text(
        manifest
    )
    return copy


async def apply_one(client: Client, manifest: Obj, dry_run: bool = False) -> tuple[str, Any]:
    """Create or patch one object; returns ``created``, ``configured`` or
    ``unchanged``, and the object as the server has it."""
    from shoal import errors
    from shoal.ctl.customkinds import ensure_known
    from shoal.manifest import from_dict, to_dict

    await ensure_known(client, manifest)
    desired = from_dict(_annotated(manifest))  # checks kind and fields first
    kind, name, ns = _key(desired)
    try:
        current = await client.get(kind, name, ns)
    except errors.NotFoundError:
        return "created", await client.create(desired, dry_run=dry_run)
    live = to_dict(current)
    original = json.loads((live["metadata"].get("annotations") or {}).get(LAST_APPLIED, "{}"))
    patch = three_way_patch(original, _annotated(manifest), live)
    patch.pop("status", None)  # status belongs to controllers, as kubectl leaves it
    for field in WRITE_ONLY:  # the server folds these into other fields; never read back
        if field in patch and manifest.get(field) == original.get(field):
            del patch[field]
    if not patch:
        return "unchanged", current
    return "configured", await client.patch(kind, name, patch, ns, dry_run=dry_run)


def _key(obj: Any) -> tuple[Any, str, str | None]:
    """Kind, name and namespace (None: the client's namespace, "" for cluster kinds)."""
    from shoal import kinds

    kind = kinds.for_message(obj)
    return kind, obj.metadata.name, (obj.metadata.namespace or None) if kind.namespaced else ""


def file_options(func: Any) -> Any:
    func = click.option("-R", "--recursive", is_flag=True, help="Read folders below too.")(func)
    return click.option(
        "-f", "--filename", "filenames", multiple=True, help="File, folder, URL-free path or -."
    )(func)


@click.command("apply")
@file_options
@click.option("--dry-run", type=click.Choice(["none", "server", "client"]), default="none")
@printer_options(FORMATS_HELP + "; default: kind/name and what was done")
@click.pass_obj
def apply_command(
    ctx: CtlContext,
    filenames: tuple[str, ...],
    recursive: bool,
    dry_run: str,
    output: str,
    template: str,
) -> None:
    """Create or update objects from files, folders or stdin.

    \b
    Examples:
      shoal apply -f deployment.yaml
      shoal apply -f ./manifests -R
      cat pod.json | shoal apply -f -
      shoal apply -f web.yaml -o jsonpath='{.metadata.uid}'
    """
    from shoal.ctl.printers import Printer

    printer = Printer(output, template=template)
    manifests = _with_namespace(ctx, read_manifests(filenames, recursive))
    _for_each(ctx, manifests, lambda c, m: apply_one(c, m, dry_run != "none"), printer, dry_run)


def _with_namespace(ctx: CtlContext, manifests: list[Obj]) -> list[Obj]:
    """``-n`` sets the namespace of manifests that name none (a clash is an error)."""
    chosen = ctx.namespace
    for manifest in manifests:
        meta = manifest.setdefault("metadata", {}) if isinstance(manifest, dict) else {}
        given = meta.get("namespace") if isinstance(meta, dict) else None
        if chosen and given and given != chosen:
            raise click.UsageError(
                f'the namespace from the provided object "{given}" does not match '
                f"the namespace \"{chosen}\". You must pass '--namespace={given}' to perform "
                "this operation."
            )
    return manifests


def _for_each(
    ctx: CtlContext, manifests: list[Obj], act: Any, printer: Printer, dry_run: str
) -> None:
    """Act on every object; report each, then fail once if any failed (as kubectl)."""
    from shoal.ctl.create import DRY_RUN_SUFFIX

    suffix = DRY_RUN_SUFFIX.get(dry_run, "")

    async def run(client: Client) -> int:
        from shoal.ctl.errors import describe

        failed = 0
        for manifest in manifests:
            try:
                verb, obj = await act(client, manifest)
            except Exception as err:
                message = describe(err)
                if message is None:
                    raise
                click.echo(message, err=True)
                failed += 1
                continue
            # named after the act: a custom object's kind is learnt during it
            _report(printer, _ref_of(manifest), f"{verb}{suffix}", obj)
        return failed

    if with_client(ctx, run):
        raise click.exceptions.Exit(1)


def _report(printer: Printer, name: str, done: str, obj: Any) -> None:
    if printer.format == "name":
        click.echo(name)
    elif printer.format:
        from shoal.manifest import to_dict

        printer.print_object(to_dict(obj))
    else:
        click.echo(f"{name} {done}")


def _ref_of(manifest: Obj) -> str:
    from shoal import kinds

    name = (manifest.get("metadata") or {}).get("name", "")
    try:
        kind = kinds.by_api_version_kind(manifest.get("apiVersion", ""), manifest.get("kind", ""))
    except kinds.UnknownKindError:
        return f"{str(manifest.get('kind', '')).lower()}/{name}"
    return ref(kind, name)


async def create_one(client: Client, manifest: Obj, dry_run: bool = False) -> tuple[str, Any]:
    from shoal.ctl.customkinds import ensure_known
    from shoal.manifest import from_dict

    await ensure_known(client, manifest)
    return "created", await client.create(from_dict(manifest), dry_run=dry_run)


def create_from_files(
    ctx: CtlContext, filenames: tuple[str, ...], recursive: bool, printer: Printer, dry_run: str
) -> None:
    manifests = _with_namespace(ctx, read_manifests(filenames, recursive))
    _for_each(ctx, manifests, lambda c, m: create_one(c, m, dry_run != "none"), printer, dry_run)
