"""``shoal server --history-retention KIND=DURATION,...``: how long the store
keeps the revisions of some kinds after compaction would have dropped them
(docs/history.md). Off by default: every kind keeps what the store keeps
(the newest 10,000 revisions, and the newest revision of each object); ``0``
for a kind says so explicitly."""

from __future__ import annotations

from typing import Any

import click
from shoal.ctl.duration import DurationError, parse_duration

HINT = "use KIND=DURATION,..., e.g. deployments.apps=720h,roles.rbac.authorization.k8s.io=2160h"


def parse_retention(text: str) -> dict[str, float]:
    """``deployments.apps=720h,events=0`` -> key prefix -> seconds."""
    from shoal import kinds
    from shoal.apiserver import codec

    out: dict[str, float] = {}
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        name, sep, span = part.partition("=")
        if not sep or not name.strip():
            raise click.BadParameter(f'"{part}": {HINT}', param_hint="'--history-retention'")
        try:
            kind = kinds.resolve(name.strip())
        except kinds.UnknownKindError as err:
            raise click.BadParameter(str(err), param_hint="'--history-retention'") from None
        try:
            seconds = parse_duration(span)
        except DurationError as err:
            raise click.BadParameter(str(err), param_hint="'--history-retention'") from None
        out[codec.kind_prefix(kind)] = seconds
    return out


def retention_option(fn: Any) -> Any:
    return click.option(
        "--history-retention",
        default="",
        metavar="KIND=DURATION,...",
        help="Keep the history of these kinds this long past compaction "
        "(e.g. deployments.apps=720h,rolebindings.rbac.authorization.k8s.io=2160h,events=0); "
        "default: every kind keeps what the store keeps.",
    )(fn)
