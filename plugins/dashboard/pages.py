"""The dashboard's pages, rendered on the server: a section of tables (with
the namespace switcher) and one object's detail (YAML, events, logs,
actions). The page's script keeps them live (static/dashboard.js)."""

from __future__ import annotations

import contextlib
import json
from html import escape
from typing import Any
from urllib.parse import urlencode

import yaml
from aiohttp import web
from shoal import errors, kinds, manifest
from shoal.client import Client
from shoal.plugins.dashboard import access, views
from shoal.plugins.dashboard.errors import Refused

CLIENT_KEY = web.AppKey("client", Client)
ALL = "_all"
NAME_CHARS = set("abcdefghijklmnopqrstuvwxyz0123456789-.")


def namespace_param(request: web.Request) -> str:
    """``ns``: a namespace, ``_all`` for every one; default ``default``."""
    ns = request.query.get("ns", "default")
    if ns != ALL and (not ns or len(ns) > 253 or not set(ns) <= NAME_CHARS):
        raise Refused(f'ns: "{ns[:80]}" is not a namespace name (or {ALL} for all)')
    return ns


async def namespaces(client: Client) -> list[str]:
    try:
        listed = await client.list("Namespace")
    except errors.ForbiddenError:
        return []
    return sorted(item.metadata.name for item in listed.items)


def layout(title: str, body: str, nav: str, request: web.Request) -> web.Response:
    user = request.get(access.USER_KEY, "")
    who = (
        f'<form method="post" action="/logout" class="who">{escape(user)} '
        f"<button>Sign out</button></form>"
        if user
        else ""
    )
    page = (
        '<!doctype html><html><head><meta charset="utf-8">'
        f"<title>{escape(title)} · shoal</title>"
        '<link rel="stylesheet" href="/static/dashboard.css"></head><body>'
        f'<header><a class="brand" href="/">shoal</a>{nav}{who}</header>'
        f'<main>{body}</main><script src="/static/dashboard.js"></script></body></html>'
    )
    return web.Response(text=page, content_type="text/html")


def navigation(section: str, ns: str, names: list[str]) -> str:
    links = []
    for key, (title, _) in views.SECTIONS.items():
        mark = ' class="current"' if key == section else ""
        href = escape("/?" + urlencode({"view": key, "ns": ns}))
        links.append(f'<a{mark} href="{href}">{escape(title)}</a>')
    options = [f'<option value="{ALL}"{" selected" if ns == ALL else ""}>all namespaces</option>']
    for name in sorted(set(names) | ({ns} - {ALL})):
        selected = " selected" if name == ns else ""
        options.append(f'<option value="{escape(name)}"{selected}>{escape(name)}</option>')
    switcher = f'<select id="namespace" data-view="{escape(section)}">{"".join(options)}</select>'
    return f"<nav>{''.join(links)}</nav>{switcher}"


async def index(request: web.Request) -> web.Response:
    client = request.app[CLIENT_KEY]
    section = request.query.get("view", "overview")
    if section not in views.SECTIONS:
        raise Refused(f'view: "{section[:80]}" is not one of {", ".join(views.SECTIONS)}')
    ns = namespace_param(request)
    title, names = views.SECTIONS[section]
    scope = "" if ns == ALL else ns
    parts = [
        views.render_listing(await views.listing(client, kind, scope), ns)
        for kind in views.present(names)
    ]
    filter_box = '<input id="filter" type="search" placeholder="Filter rows" autofocus>'
    body = f"<h1>{escape(title)}</h1>{filter_box}{''.join(parts)}"
    nav = navigation(section, ns, await namespaces(client))
    return layout(title, body, nav, request)


def _events_of(events: list[Any], kind: kinds.Kind, name: str) -> list[list[str]]:
    rows = []
    for item in events:
        body = manifest.to_dict(item)
        involved = body.get("involvedObject") or {}
        if involved.get("name") == name and involved.get("kind") == kind.kind:
            rows.append(
                [
                    body.get("lastTimestamp") or body.get("eventTime") or "",
                    body.get("type", ""),
                    body.get("reason", ""),
                    body.get("message", ""),
                ]
            )
    return rows


async def detail(request: web.Request) -> web.Response:
    client = request.app[CLIENT_KEY]
    kind = views.find_kind(request.query.get("kind", ""))
    name = request.query.get("name", "")
    if not name or len(name) > 253:
        raise Refused("name: the object's name is required")
    ns = namespace_param(request) if kind.namespaced else ""
    obj = manifest.to_dict(await client.get(kind, name, ns))
    text = yaml.safe_dump(obj, sort_keys=False)
    events: list[list[str]] = []
    with contextlib.suppress(errors.ForbiddenError):  # not allowed to read events: none shown
        events = _events_of((await client.list("Event", ns)).items, kind, name)
    actions = await offered(client, kind, obj, ns, name)
    body = _detail_body(kind, obj, ns, name, text, events, actions)
    nav = navigation("workloads", ns or "default", [])
    return layout(f"{kind.kind} {name}", body, nav, request)


async def offered(client: Client, kind: kinds.Kind, obj: Any, ns: str, name: str) -> list[str]:
    """The actions this user may take on the object."""
    spec = obj.get("spec") or {}
    may_patch = await access.allowed(client, "patch", kind, ns, name)
    actions = []
    if kind.strategy.scale is not None and may_patch:
        actions.append("scale")
    if isinstance(spec.get("template"), dict) and may_patch:
        actions.append("restart")
    if await access.allowed(client, "delete", kind, ns, name):
        actions.append("delete")
    return actions


def _detail_body(
    kind: kinds.Kind, obj: Any, ns: str, name: str, text: str, events: list[list[str]],
    actions: list[str],
) -> str:  # fmt: skip
    target = json.dumps({"kind": kind.resource, "namespace": ns, "name": name})
    buttons = []
    if "scale" in actions:
        replicas = kind.strategy.scale.replicas(obj) if kind.strategy.scale else 0
        buttons.append(
            f'<label>Replicas <input id="replicas" type="number" min="0" value="{replicas}">'
            '</label><button id="scale">Scale</button>'
        )
    if "restart" in actions:
        buttons.append('<button id="restart">Restart</button>')
    if "delete" in actions:
        buttons.append('<button id="delete" class="danger">Delete</button>')
    rows = "".join(
        "<tr>" + "".join(f"<td>{escape(c)}</td>" for c in row) + "</tr>" for row in events
    )
    events_html = (
        '<table class="objects" id="object-events"><thead><tr><th>LAST SEEN</th><th>TYPE</th>'
        f"<th>REASON</th><th>MESSAGE</th></tr></thead><tbody>{rows}</tbody></table>"
        if rows
        else "<p>No events.</p>"
    )
    containers = [c.get("name", "") for c in (obj.get("spec") or {}).get("containers") or []]
    logs = ""
    if containers:
        options = "".join(f"<option>{escape(c)}</option>" for c in containers)
        logs = (
            f'<h2>Logs</h2><select id="container">{options}</select>'
            '<pre id="logs" class="logs"></pre>'
        )
    where = f"{escape(ns)}/" if ns else ""
    return (
        f"<div id=\"detail\" data-target='{escape(target)}'>"
        f"<h1>{escape(kind.kind)} {where}{escape(name)}</h1>"
        f'<div class="actions" id="actions">{"".join(buttons)}</div>'
        f'<p id="message" role="status"></p>'
        f"<h2>Events</h2>{events_html}{logs}"
        f'<h2>YAML</h2><pre id="yaml">{escape(text)}</pre></div>'
    )
