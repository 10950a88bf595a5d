"""Printing objects for ``get`` and friends: tables (default and ``-o wide``),
``yaml``, ``json``, ``name``, ``jsonpath=``, ``go-template=``, ``custom-columns=``,
and kubectl's other spellings of templates: ``-o go-template --template T``,
``-o go-template-file=FILE``, ``-o jsonpath-file=FILE`` (``template`` and
``templatefile`` are go-template's old names; ``--template`` alone means go-template).

Printers take Kubernetes JSON dicts (``shoal.manifest.to_dict``), so the
paths users write (``.metadata.name``) work as in kubectl.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from shoal.strategy import Table

Obj = dict[str, Any]

# kubectl's names for the formats, the spelling given -> the printer that prints it
FORMATS = {
    "custom-columns": "custom-columns",
    "go-template": "go-template",
    "go-template-file": "go-template",
    "json": "json",
    "jsonpath": "jsonpath",
    "jsonpath-as-json": "jsonpath",
    "jsonpath-file": "jsonpath",
    "name": "name",
    "template": "go-template",
    "templatefile": "go-template",
    "wide": "wide",
    "yaml": "yaml",
}
TEMPLATE_FILES = ("go-template-file", "templatefile", "jsonpath-file")
WITH_ARGUMENT = ("jsonpath", "go-template", "custom-columns")


def _without_managed_fields(obj: Obj) -> Obj:
    metadata = obj.get("metadata")
    if not isinstance(metadata, dict) or "managedFields" not in metadata:
        return obj
    return {**obj, "metadata": {k: v for k, v in metadata.items() if k != "managedFields"}}


class PrinterError(ValueError):
    """A bad -o or --template; printed as kubectl prints it (``error: ...``)."""


@dataclass
class Printer:
    output: str = ""
    show_labels: bool = False
    all_namespaces: bool = False
    no_headers: bool = False
    colour: bool | None = None
    template: str = ""  # --template: the template, or its file for the -file formats
    # kubectl hides metadata.managedFields from JSON and YAML unless asked
    show_managed_fields: bool = False
    printed: int = field(default=0, init=False)

    def __post_init__(self) -> None:
        # click reads kubectl's "-o=json" as -o "=json"
        self.output = self.output.removeprefix("=")
        given, sep, arg = self.output.partition("=")
        if not given and self.template:  # kubectl: --template without -o is a go-template
            given = "go-template"
        if given and given not in FORMATS:
            raise PrinterError(
                f'unable to match a printer suitable for the output format "{self.output}", '
                f"allowed formats are: {','.join(FORMATS)}"
            )
        arg = arg if sep else self.template
        if given in TEMPLATE_FILES and arg:
            arg = _read_template(arg)
        kind = FORMATS.get(given, "")
        if kind in WITH_ARGUMENT and not arg:
            raise PrinterError("template format specified but no template given")
        self.format, self.argument = kind, arg
        if self.colour is None:
            self.colour = sys.stdout.isatty()

    @property
    def is_table(self) -> bool:
        return self.format in ("", "wide")

    @property
    def is_template(self) -> bool:
        return self.format in ("jsonpath", "go-template")

    def echo(self, text: str) -> None:
        """Print what :meth:`text` made: a template's output exactly as it
        came out (no newline added, as kubectl), the rest as lines."""
        if text:
            click.echo(text, nl=not self.is_template)

    def print_object(self, obj: Obj) -> None:
        """Print objects one at a time (``apply``, ``create -f``): YAML documents
        after the first get a ``---`` line, as kubectl's YAML printer does."""
        text = self.text([obj], single=True)
        self.echo("---\n" + text if self.printed and self.format == "yaml" else text)
        self.printed += 1

    def text(self, objects: Sequence[Obj], *, single: bool = False) -> str:
        """What ``get`` prints; ``single`` when one object was asked for by name."""
        if self.format in ("yaml", "json"):
            if not self.show_managed_fields:
                objects = [_without_managed_fields(o) for o in objects]
            return _dump(self.format, _as_list(objects, single))
        if self.format == "name":
            return "\n".join(name_of(o) for o in objects)
        if self.format in ("jsonpath", "go-template"):
            return _template(self.format, self.argument, _as_list(objects, single))
        if self.format == "custom-columns":
            return _custom_columns(self.argument, objects, self.no_headers)
        return self.table(objects)

    def table(self, objects: Sequence[Obj], headers: bool = True) -> str:
        """Tables grouped by kind with a blank line between, as kubectl."""
        groups: dict[str, list[Obj]] = {}
        for obj in objects:
            groups.setdefault(obj.get("kind", ""), []).append(obj)
        several = len(groups) > 1
        parts = [
            self._kind_table(kind, objs, several, headers and not self.no_headers)
            for kind, objs in groups.items()
        ]
        return "\n\n".join(parts)

    def _kind_table(self, kind: str, objects: list[Obj], prefix: bool, headers: bool) -> str:
        from shoal.ctl.printers.columns import table_for
        from shoal.ctl.printers.table import render

        columns = table_for(kind, objects[0].get("apiVersion", ""))
        names, wide_names = list(columns.headers), list(columns.wide_headers)
        now = time.time()
        named = not columns.name_wide
        spaced = self.all_namespaces and any(
            (o.get("metadata") or {}).get("namespace") for o in objects
        )
        head = (["NAMESPACE"] if spaced else []) + (["NAME"] if named else [])
        head += names + (wide_names if self.format == "wide" else [])
        head += ["LABELS"] if self.show_labels else []
        rows = [self._row(o, prefix, named, spaced, columns, now) for o in objects]
        return render(head if headers else None, rows, self._style if self.colour else None)

    def _row(
        self, obj: Obj, prefix: bool, named: bool, spaced: bool, columns: Table, now: float
    ) -> list[str]:
        meta = obj.get("metadata") or {}
        row = [meta.get("namespace", "")] if spaced else []
        if named:
            name = name_of(obj, short=True) if prefix else meta.get("name", "")
            row.append(columns.name_cell(obj, name))
        row += columns.cells(obj, now)
        if self.format == "wide" and columns.wide_cells is not None:
            row += columns.wide_cells(obj, now)
        if self.show_labels:
            labels = meta.get("labels") or {}
            row.append(",".join(f"{k}={v}" for k, v in sorted(labels.items())) or "<none>")
        return row

    @staticmethod
    def _style(column: int, cell: str) -> str:
        word = cell.strip()
        if word in ("Running", "Ready", "Active", "Healthy", "Completed"):
            return click.style(cell, fg="green")
        if word in ("Pending", "ContainerCreating", "Terminating", "Unknown"):
            return click.style(cell, fg="yellow")
        if word.endswith("BackOff") or word in ("Error", "Failed", "NotReady", "Unhealthy"):
            return click.style(cell, fg="red")
        return cell


def name_of(obj: Obj, short: bool = False) -> str:
    """``pod/web``, ``deployment.apps/web``."""
    from shoal import kinds

    name = (obj.get("metadata") or {}).get("name", "")
    try:
        kind = kinds.by_api_version_kind(obj.get("apiVersion", ""), obj.get("kind", ""))
    except kinds.UnknownKindError:
        return f"{obj.get('kind', '').lower()}/{name}"
    qualified = f"{kind.singular}.{kind.group}" if kind.group else kind.singular
    return f"{qualified}/{name}"


def _as_list(objects: Sequence[Obj], single: bool) -> Any:
    if single and len(objects) == 1:
        return objects[0]
    return {
        "apiVersion": "v1",
        "kind": "List",
        "metadata": {"resourceVersion": ""},
        "items": list(objects),
    }


def _dump(fmt: str, data: Any) -> str:
    if fmt == "json":
        return json.dumps(data, indent=4)
    import yaml

    return str(yaml.safe_dump(data, sort_keys=False, default_flow_style=False)).rstrip("\n")


def _template(fmt: str, text: str, data: Any) -> str:
    if fmt == "jsonpath":
        from shoal.jsonpath import template

        return template(text, data)
    from shoal.ctl.printers.gotemplate import template as go_template

    return go_template(text, data)


def _read_template(path: str) -> str:
    try:
        with open(path, encoding="utf-8") as file:
            return file.read()
    except OSError as err:
        reason = (err.strerror or str(err)).lower()
        raise PrinterError(f"error reading --template {path}, open {path}: {reason}") from None


def _custom_columns(spec: str, objects: Sequence[Obj], no_headers: bool) -> str:
    from shoal.ctl.printers.table import render
    from shoal.jsonpath import evaluate, parse_path, render_value

    columns = []
    for part in spec.split(","):
        header, sep, path = part.partition(":")
        if not sep or not header:
            raise PrinterError(
                f'custom-columns format: expected <header>:<json-path>, got "{part}"'
            )
        columns.append((header, parse_path(path.strip().strip("{}"))))
    rows = [
        [",".join(render_value(v) for v in evaluate(p, obj)) or "<none>" for _, p in columns]
        for obj in objects
    ]
    return render(None if no_headers else [h for h, _ in columns], rows)
