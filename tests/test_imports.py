"""No import cycles in the package.

Every module's imports are read with `ast` (the code is not run): module-level imports, those
under `if TYPE_CHECKING:` (a cycle that only type checking sees is still two modules that need
each other) and those inside functions and methods (a cycle postponed to call time is still a
cycle). An import of a package counts as an import of its `__init__`; `from a import b` counts
as importing the module `a.b` when it is one, else `a`.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import activity

ROOT = Path(activity.__file__).parent


def module_files() -> dict[str, Path]:
    found = {}
    for path in ROOT.rglob("*.py"):
        parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


MODULES = module_files()


def known(name: str) -> str | None:
    """The package module `name` is, or lives in (an attribute of a module is that module)."""
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def imported(module: str, path: Path) -> Iterator[str]:
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parts, base] if base else parts)
            names = [f"{base}.{alias.name}" for alias in node.names]
        else:
            continue
        for name in names:
            target = known(name)
            if target is not None and target != module:
                yield target


def graph() -> dict[str, set[str]]:
    return {module: set(imported(module, path)) for module, path in MODULES.items()}


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for root in sorted(edges):
        if root in index:
            continue
        work = [(root, iter(sorted(edges[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(edges.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_the_walk_sees_every_kind_of_import() -> None:
    edges = graph()
    assert "activity.journey.execution" in edges["activity.journey.execute"]  # module level
    assert "activity.storage.sqlite" in edges["activity.storage.factory"]  # inside a function
    assert "activity.ops.metrics" in edges["activity.appkeys"]  # under TYPE_CHECKING
    assert "activity.app" in edges["activity"]  # a package's __init__


def test_the_cycle_finder_finds_cycles() -> None:
    edges = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": {"e"}}
    assert cycles(edges) == [["a", "b", "c"]]


def test_the_package_has_no_import_cycles() -> None:
    assert cycles(graph()) == []
