"""Every hook has a docstring and a section in docs/plugins.md."""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from shoal import hookspecs

DOCS = Path(__file__).resolve().parents[2] / "docs" / "plugins.md"


def all_hooks() -> list[Callable[..., Any]]:
    # pluggy marks each spec with a "<project>_spec" attribute.
    return [
        obj
        for _, obj in inspect.getmembers(hookspecs, inspect.isfunction)
        if hasattr(obj, "shoal_spec")
    ]


def test_there_are_hooks() -> None:
    assert len(all_hooks()) >= 8


@pytest.mark.parametrize("hook", all_hooks(), ids=lambda hook: hook.__name__)
def test_hook_has_docstring(hook: Callable[..., Any]) -> None:
    doc = inspect.getdoc(hook) or ""
    assert len(doc.split()) >= 10, f"{hook.__name__} needs a docstring a plugin author can act on"
    assert "Fires" in doc, f"{hook.__name__}'s docstring should say when it fires"


@pytest.mark.parametrize("hook", all_hooks(), ids=lambda hook: hook.__name__)
def test_hook_is_documented(hook: Callable[..., Any]) -> None:
    docs = DOCS.read_text()
    name = hook.__name__
    assert re.search(rf"^#+ +`?{name}`?\s*$", docs, re.MULTILINE), (
        f"docs/plugins.md has no section headed {name}"
    )
    params = ", ".join(inspect.signature(hook).parameters)
    assert f"{name}({params})" in docs, f"docs/plugins.md should show {name}({params})"
