"""kubectl's JSONPath templates: ``{.metadata.name}``, ``{.items[*].spec.nodeName}``,
``{range .items[*]}{.metadata.name}{"\\n"}{end}``, filters such as
``[?(@.type=="Ready")]``, slices ``[0:2]``, ``[-1]`` and recursive ``..name``."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any


class JSONPathError(ValueError):
    pass


@dataclass
class Range:
    path: list[Any]
    body: list[Any] = field(default_factory=list)


_STEP = re.compile(
    r"""\.\.(?P<rec>[\w-]+)|\.(?P<field>[\w-]+)|\[\s*(?:(?P<quoted>'[^']*'|"[^"]*")|(?P<star>\*)|
    (?P<filter>\?\((?P<cond>.*?)\))|(?P<slice>-?\d*\s*:\s*-?\d*(?::-?\d+)?)|(?P<index>-?\d+))\s*\]
    |\.\*|(?P<dot>\.)""",
    re.VERBOSE,
)
_COND = re.compile(r"@(?P<path>[^=!<>\s]*)\s*(?:(?P<op>==|!=|<=|>=|<|>)\s*(?P<value>.+))?$")


def parse(template: str) -> list[Any]:
    """Text, ("path", steps), ("literal", text) and Range nodes."""
    root: list[Any] = []
    stack: list[list[Any]] = [root]
    for text, expr in _split(template):
        if text:
            stack[-1].append(text)
        if expr is None:
            continue
        if expr == "end":
            if len(stack) == 1:
                raise JSONPathError("error parsing jsonpath: not in range, nothing to end")
            stack.pop()
        elif expr.startswith("range "):
            block = Range(parse_path(expr[6:].strip()))
            stack[-1].append(block)
            stack.append(block.body)
        elif expr[:1] in "\"'":
            stack[-1].append(("literal", _unquote(expr)))
        else:
            stack[-1].append(("path", parse_path(expr)))
    if len(stack) != 1:
        raise JSONPathError("error parsing jsonpath: unclosed range")
    return root


def _split(template: str) -> list[tuple[str, str | None]]:
    parts: list[tuple[str, str | None]] = []
    pos = 0
    while (start := template.find("{", pos)) >= 0:
        end = _closing(template, start)
        parts.append((template[pos:start], template[start + 1 : end].strip()))
        pos = end + 1
    parts.append((template[pos:], None))
    return parts


def _closing(template: str, start: int) -> int:
    quote = ""
    for i in range(start + 1, len(template)):
        ch = template[i]
        if quote:
            quote = "" if ch == quote else quote
        elif ch in "\"'":
            quote = ch
        elif ch == "}":
            return i
    raise JSONPathError(f"error parsing jsonpath {template}: unclosed action")


def _unquote(text: str) -> str:
    try:
        return str(json.loads(text if text[0] == '"' else '"' + text[1:-1] + '"'))
    except ValueError:
        return text[1:-1]


def parse_path(expr: str) -> list[Any]:
    expr = expr.strip().removeprefix("$")
    steps: list[Any] = []
    pos = 0
    while pos < len(expr):
        match = _STEP.match(expr, pos)
        if not match or match.end() == pos:
            raise JSONPathError(f"error parsing jsonpath: unrecognized character at {expr[pos:]!r}")
        pos = match.end()
        step = _step(match)
        if step is not None:
            steps.append(step)
    return steps


def _step(m: re.Match[str]) -> Any:
    if m["rec"]:
        return ("recursive", m["rec"])
    if m["field"]:
        return ("field", m["field"])
    if m["quoted"]:
        return ("field", m["quoted"][1:-1])
    if m["index"]:
        return ("index", int(m["index"]))
    if m["slice"]:
        bounds = [int(b) if b.strip() else None for b in m["slice"].split(":")]
        return ("slice", slice(*bounds))
    if m["filter"]:
        return ("filter", _condition(m["cond"]))
    if m["dot"]:
        return None
    return ("all",)  # [*] and .*


def _condition(text: str) -> tuple[list[Any], str, Any]:
    match = _COND.match(text.strip())
    if not match:
        raise JSONPathError(f"error parsing jsonpath: unsupported filter {text!r}")
    value = match["value"]
    literal: Any = None
    if value is not None:
        value = value.strip()
        literal = _unquote(value) if value[:1] in "\"'" else json.loads(value)
    return parse_path(match["path"]), match["op"] or "exists", literal


def evaluate(steps: list[Any], data: Any) -> list[Any]:
    nodes = [data]
    for step in steps:
        nodes = [found for node in nodes for found in _apply(step, node)]
    return nodes


def _apply(step: Any, node: Any) -> list[Any]:
    name = step[0]
    if name == "field":
        return [node[step[1]]] if isinstance(node, dict) and step[1] in node else []
    if name == "all":
        return list(node.values()) if isinstance(node, dict) else list(node or [])
    if not isinstance(node, (list, dict)):
        return []
    if name == "index":
        ok = isinstance(node, list) and -len(node) <= step[1] < len(node)
        return [node[step[1]]] if ok else []
    if name == "slice":
        return list(node[step[1]]) if isinstance(node, list) else []
    if name == "filter":
        items = node if isinstance(node, list) else [node]
        return [item for item in items if _matches(step[1], item)]
    return _recursive(step[1], node)


def _recursive(name: str, node: Any) -> list[Any]:
    found: list[Any] = []
    if isinstance(node, dict):
        if name in node:
            found.append(node[name])
        children = list(node.values())
    else:
        children = list(node) if isinstance(node, list) else []
    for child in children:
        found.extend(_recursive(name, child))
    return found


def _matches(cond: tuple[list[Any], str, Any], item: Any) -> bool:
    path, op, literal = cond
    values = evaluate(path, item)
    if op == "exists":
        return bool(values)
    if not values:
        return False
    value = values[0]
    try:
        return {
            "==": value == literal,
            "!=": value != literal,
            "<": value < literal,
            ">": value > literal,
            "<=": value <= literal,
            ">=": value >= literal,
        }[op]
    except TypeError:
        return False


def render_value(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    return (
        json.dumps(value, separators=(",", ":")) if isinstance(value, (dict, list)) else str(value)
    )


def execute(nodes: list[Any], data: Any, *, allow_missing: bool = True) -> str:
    out: list[str] = []
    for node in nodes:
        if isinstance(node, str):
            out.append(node)
        elif isinstance(node, Range):
            for item in evaluate(node.path, data):
                out.append(execute(node.body, item, allow_missing=allow_missing))
        elif node[0] == "literal":
            out.append(node[1])
        else:
            values = evaluate(node[1], data)
            if not values and not allow_missing:
                raise JSONPathError("error executing jsonpath: is not found")
            out.append(" ".join(render_value(v) for v in values))
    return "".join(out)


def template(text: str, data: Any) -> str:
    """Parse and run a template in one go."""
    return execute(parse(text), data)
