"""The printing flags every verb that prints objects shares, as kubectl's
PrintFlags: ``-o/--output`` and ``--template`` (so ``-o go-template
--template '{{...}}'``, the form the Kubernetes tutorial uses, works
wherever ``-o`` does)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

F = TypeVar("F", bound=Callable[..., Any])

FORMATS_HELP = (
    "json|yaml|name|go-template|go-template-file|template|templatefile|jsonpath|"
    "jsonpath-as-json|jsonpath-file|custom-columns (with =TEMPLATE or --template)"
)
TEMPLATE_HELP = (
    "The template for -o go-template or -o jsonpath; its file for -o go-template-file "
    "or -o jsonpath-file. Alone, it means -o go-template."
)


def printer_options(formats: str = FORMATS_HELP) -> Callable[[F], F]:
    """``-o/--output FORMAT`` (``output``) and ``--template`` (``template``)."""

    def decorate(func: F) -> F:
        func = click.option("--template", default="", metavar="TEMPLATE", help=TEMPLATE_HELP)(func)
        return click.option("-o", "--output", default="", metavar="FORMAT", help=formats)(func)

    return decorate
