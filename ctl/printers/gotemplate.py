"""The part of Go's text/template that ``-o go-template`` users write:
``{{.metadata.name}}``, ``{{range .items}}...{{end}}``, ``{{if ...}}{{else}}{{end}}``,
``{{index .metadata.labels "app"}}``, ``{{len .items}}``, ``{{"\\n"}}``."""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import dataclass, field
from typing import Any


class TemplateError(ValueError):
    pass


@dataclass
class Block:
    word: str  # "range" or "if"
    args: list[str]
    body: list[Any] = field(default_factory=list)
    otherwise: list[Any] = field(default_factory=list)
    in_else: bool = False


_ACTION = re.compile(r"\{\{-?\s*(.*?)\s*-?\}\}", re.DOTALL)


def parse(text: str) -> list[Any]:
    root: list[Any] = []
    stack: list[Any] = [root]
    pos = 0
    for match in _ACTION.finditer(text):
        if match.start() > pos:
            _body(stack).append(text[pos : match.start()])
        pos = match.end()
        _action(stack, _words(match[1]))
    if len(stack) != 1:
        raise TemplateError("template: unexpected EOF (missing {{end}})")
    if pos < len(text):
        root.append(text[pos:])
    return root


def _body(stack: list[Any]) -> list[Any]:
    top = stack[-1]
    if isinstance(top, Block):
        return top.otherwise if top.in_else else top.body
    return top  # type: ignore[no-any-return]


def _action(stack: list[Any], words: list[str]) -> None:
    head = words[0] if words else ""
    if head in ("range", "if", "with"):
        block = Block(head, words[1:])
        _body(stack).append(block)
        stack.append(block)
    elif head in ("end", "else"):
        if len(stack) == 1:
            raise TemplateError(f"template: unexpected {{{{{head}}}}}")
        if head == "end":
            stack.pop()
        else:
            stack[-1].in_else = True
    else:
        _body(stack).append(("expr", words))


def _words(action: str) -> list[str]:
    try:
        lexer = shlex.shlex(action, posix=False)
        lexer.whitespace_split = True
        return list(lexer)
    except ValueError as err:
        raise TemplateError(f"template: {err}") from None


def _value(word: str, data: Any) -> Any:
    if word[:1] in "\"'`":
        return json.loads('"' + word[1:-1] + '"') if word[0] == '"' else word[1:-1]
    if word == ".":
        return data
    if word.startswith("."):
        node = data
        for part in word[1:].split("."):
            node = node.get(part) if isinstance(node, dict) else None
        return node
    try:
        return json.loads(word)
    except ValueError:
        raise TemplateError(f'template: function "{word}" not defined') from None


def _call(words: list[str], data: Any) -> Any:
    head, args = words[0], [_value(w, data) for w in words[1:]]
    if head == "index":
        node = args[0]
        for key in args[1:]:
            node = node.get(key) if isinstance(node, dict) else _at(node, key)
        return node
    if head == "len":
        return len(args[0] or [])
    if head == "printf":
        return (
            str(args[0])
            .replace("%s", "{}")
            .replace("%d", "{}")
            .replace("%v", "{}")
            .format(*args[1:])
        )
    if head == "not":
        return not args[0]
    if head in ("eq", "ne"):
        return (args[0] == args[1]) == (head == "eq")
    return _value(head, data)


def _at(node: Any, key: Any) -> Any:
    return node[key] if isinstance(node, list) and isinstance(key, int) else None


def _text(value: Any) -> str:
    if value is None:
        return "<no value>"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return json.dumps(value, separators=(",", ":"))
    return str(value)


def execute(nodes: list[Any], data: Any) -> str:
    out: list[str] = []
    for node in nodes:
        if isinstance(node, str):
            out.append(node)
        elif isinstance(node, Block):
            out.append(_block(node, data))
        else:
            out.append(_text(_call(node[1], data)))
    return "".join(out)


def _block(block: Block, data: Any) -> str:
    value = _call(block.args, data) if block.args else None
    if block.word == "range":
        items = list(value.values()) if isinstance(value, dict) else list(value or [])
        if not items:
            return execute(block.otherwise, data)
        return "".join(execute(block.body, item) for item in items)
    scope = value if block.word == "with" else data
    return execute(block.body if value else block.otherwise, scope)


def template(text: str, data: Any) -> str:
    return execute(parse(text), data)
