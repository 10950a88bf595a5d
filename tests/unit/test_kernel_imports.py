"""The kernel (``kernel/``, imported as ``shoal``) grows by plugins alone: no
module in it imports a plugin, the agent or the command line, not even
inside a function. What the kernel needs from them reaches it through hooks
(``shoal.hookspecs``)."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

KERNEL = Path(__file__).resolve().parents[2] / "kernel"
FORBIDDEN = ("shoal.plugins", "shoal.agent", "shoal.ctl")


def imported_modules(tree: ast.AST) -> Iterator[tuple[int, str]]:
    """``(line, module)`` for every import in ``tree``, at any depth; ``from
    shoal import plugins`` counts as importing ``shoal.plugins``."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.lineno, node.module
            for alias in node.names:
                yield node.lineno, f"{node.module}.{alias.name}"


def forbidden(module: str) -> bool:
    return any(module == name or module.startswith(name + ".") for name in FORBIDDEN)


def offending_imports(root: Path) -> list[str]:
    found = []
    for path in sorted(root.rglob("*.py")):
        tree = ast.parse(path.read_text(), filename=str(path))
        found += [
            f"{path.relative_to(root.parent)}:{line}: {module}"
            for line, module in imported_modules(tree)
            if forbidden(module)
        ]
    return sorted(set(found))


def test_the_kernel_imports_no_plugin_agent_or_ctl_module() -> None:
    assert KERNEL.is_dir() and any(KERNEL.rglob("*.py"))
    assert offending_imports(KERNEL) == []


def test_the_check_sees_imports_inside_functions(tmp_path: Path) -> None:
    package = tmp_path / "kernel"
    package.mkdir()
    (package / "clean.py").write_text("import shoal.client\nfrom shoal import plugin_manager\n")
    (package / "dirty.py").write_text(
        "def start():\n"
        "    from shoal.plugins.gateway import Gateway\n"
        "    import shoal.agent.agent\n"
        "    from shoal import ctl\n"
    )
    assert offending_imports(package) == [
        "kernel/dirty.py:2: shoal.plugins.gateway",
        "kernel/dirty.py:2: shoal.plugins.gateway.Gateway",
        "kernel/dirty.py:3: shoal.agent.agent",
        "kernel/dirty.py:4: shoal.ctl",
    ]
