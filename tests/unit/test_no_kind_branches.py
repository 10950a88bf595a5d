"""The API server's generic paths never branch on a kind's name: what a kind
needs is in its strategy (shoal.strategy), registered by its plugin. This walks
the kernel and the gateway for comparisons of a ``.kind`` attribute with the
name of a registered kind (``kind.kind == "Pod"``, ``x.kind in ("Service",)``)."""

from __future__ import annotations

import ast
import pathlib

from shoal import kinds

ROOT = pathlib.Path(__file__).resolve().parents[2]
SCANNED = ("kernel", "plugins/gateway")
# Modules about one kind's own semantics, not generic paths: RBAC subjects and
# role references, a Binding's target, a token's bound object name the kinds
# they point at.
ALLOWED = {
    "kernel/apiserver/binding.py",
    "kernel/apiserver/certificates.py",
    "kernel/apiserver/policy.py",
    "kernel/apiserver/rbac_validation.py",
    "kernel/apiserver/rbac_escalation.py",
    "plugins/gateway/accessreview.py",
}


def _is_kind_attribute(node: ast.expr) -> bool:
    return isinstance(node, ast.Attribute) and node.attr == "kind"


def _names(node: ast.expr) -> list[str]:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
        return [n for elt in node.elts for n in _names(elt)]
    return []


def kind_branches(source: str, kind_names: set[str]) -> list[int]:
    """Line numbers where a ``.kind`` attribute is compared with a kind name."""
    lines = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Compare):
            continue
        sides = [node.left, *node.comparators]
        if any(_is_kind_attribute(s) for s in sides) and any(
            name in kind_names for s in sides for name in _names(s)
        ):
            lines.append(node.lineno)
    return lines


def test_the_scanner_finds_a_kind_branch() -> None:
    names = {"Pod", "Service"}
    assert kind_branches('if kind.kind == "Pod": pass', names) == [1]
    assert kind_branches('x = obj.kind in ("Service", "Other")', names) == [1]
    assert kind_branches('if op.kind == "compact": pass', names) == []


def test_no_generic_path_names_a_kind() -> None:
    names = {k.kind for k in kinds.all_kinds()}
    found = []
    for top in SCANNED:
        for path in sorted((ROOT / top).rglob("*.py")):
            rel = path.relative_to(ROOT).as_posix()
            if rel in ALLOWED or "/api/v1/" in rel:
                continue
            found += [f"{rel}:{line}" for line in kind_branches(path.read_text(), names)]
    assert found == [], "put kind-specific behaviour in the kind's strategy: " + ", ".join(found)
