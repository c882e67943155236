"""The project's import graph, read from the source without importing anything.

Imports inside functions count; imports under ``if TYPE_CHECKING:`` do not. A package's
module-level ``_EXPORTS`` dict of module names (lazy re-exports through ``__getattr__``)
counts as imports of those modules when the package itself is imported by name, not when
one of its modules is (Python then runs the package's ``__init__`` but not its exports).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Graph:
    """Modules of one package, what each imports from it, and what each imports from outside."""

    package: str
    internal: dict[str, set[str]] = field(default_factory=dict)
    external: dict[str, set[str]] = field(default_factory=dict)
    lazy: dict[str, set[str]] = field(default_factory=dict)

    def _next(self, mod: str, direct: bool) -> list[tuple[str, bool]]:
        """Modules importing ``mod`` may run: its imports, its packages' ``__init__`` and,
        when ``mod`` itself was imported by name (not as a parent), its lazy exports."""
        out = [(m, True) for m in sorted(self.internal[mod])]
        out += [(m, False) for m in parents(mod)]
        if direct:
            out += [(m, True) for m in sorted(self.lazy[mod])]
        return out

    def reach(self, start: str) -> set[str]:
        """Every project module that importing ``start`` may run (its packages included)."""
        seen: set[tuple[str, bool]] = set()
        todo = [(start, True)]
        while todo:
            node = todo.pop()
            if node in seen or node[0] not in self.internal:
                continue
            seen.add(node)
            todo.extend(self._next(*node))
        return {mod for mod, _ in seen}

    def externals_reached(self, start: str) -> dict[str, str]:
        """Outside top-level packages reached from ``start``, each with a module importing it."""
        out: dict[str, str] = {}
        for mod in sorted(self.reach(start)):
            for name in self.external[mod]:
                out.setdefault(name, mod)
        return out

    def path(self, start: str, goal_external: str) -> list[str]:
        """A chain of imports from ``start`` to a module importing ``goal_external``."""
        first = (start, True)
        prev: dict[tuple[str, bool], tuple[str, bool] | None] = {first: None}
        todo = [first]
        while todo:
            node = todo.pop(0)
            if goal_external in self.external.get(node[0], ()):
                chain = [node]
                while prev[chain[-1]] is not None:
                    chain.append(prev[chain[-1]])
                return [*(m for m, _ in reversed(chain)), goal_external]
            for nxt in self._next(*node):
                if nxt[0] in self.internal and nxt not in prev:
                    prev[nxt] = node
                    todo.append(nxt)
        return []

    def cycles(self) -> list[list[str]]:
        """Groups of modules that import each other in a circle (Tarjan's algorithm)."""
        index: dict[str, int] = {}
        low: dict[str, int] = {}
        stack: list[str] = []
        on_stack: set[str] = set()
        out: list[list[str]] = []

        def visit(v: str) -> None:
            index[v] = low[v] = len(index)
            stack.append(v)
            on_stack.add(v)
            for w in self.internal[v]:
                if w not in self.internal:
                    continue
                if w not in index:
                    visit(w)
                    low[v] = min(low[v], low[w])
                elif w in on_stack:
                    low[v] = min(low[v], index[w])
            if low[v] == index[v]:
                group = []
                while True:
                    w = stack.pop()
                    on_stack.discard(w)
                    group.append(w)
                    if w == v:
                        break
                if len(group) > 1 or v in self.internal[v]:
                    out.append(sorted(group))

        for v in sorted(self.internal):
            if v not in index:
                visit(v)
        return out


def parents(module: str) -> Iterator[str]:
    """The packages whose ``__init__`` runs before ``module`` (outermost first)."""
    parts = module.split(".")
    for k in range(1, len(parts)):
        yield ".".join(parts[:k])


def module_name(root: Path, path: Path) -> str:
    """``pkg/a/b.py`` → ``pkg.a.b``; ``pkg/a/__init__.py`` → ``pkg.a``."""
    rel = path.relative_to(root.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(tree: ast.AST) -> Iterator[ast.Import | ast.ImportFrom | ast.Dict]:
    """Import statements anywhere in ``tree`` except under ``if TYPE_CHECKING:``."""
    todo: list[ast.AST] = [tree]
    while todo:
        node = todo.pop()
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            todo.extend(node.orelse)
            continue
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node
        elif (
            isinstance(node, ast.Assign | ast.AnnAssign)
            and any(
                isinstance(t, ast.Name) and t.id == "_EXPORTS"
                for t in (node.targets if isinstance(node, ast.Assign) else [node.target])
            )
            and isinstance(node.value, ast.Dict)
        ):
            yield node.value
        todo.extend(ast.iter_child_nodes(node))


def read_graph(root: Path) -> Graph:
    """Read every module under the package folder ``root``."""
    graph = Graph(root.name)
    files = {module_name(root, p): p for p in sorted(root.rglob("*.py"))}
    for mod, path in files.items():
        is_pkg = path.name == "__init__.py"
        here = mod if is_pkg else mod.rpartition(".")[0]
        internal: set[str] = set()
        external: set[str] = set()
        lazy: set[str] = set()

        def add(name: str, internal: set[str] = internal, external: set[str] = external) -> None:
            if name == graph.package or name.startswith(graph.package + "."):
                while name not in files and "." in name:
                    name = name.rpartition(".")[0]  # an attribute of a module, not a module
                internal.add(name)
            else:
                external.add(name.split(".")[0])

        for node in _imports(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    add(alias.name)
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = here.split(".")[: len(here.split(".")) - (node.level - 1)]
                    base = ".".join([*anchor, *([base] if base else [])])
                for alias in node.names:
                    full = f"{base}.{alias.name}"
                    add(full if full in files else base)
            else:  # _EXPORTS = {"Name": ".module", ...}: imported when a name is first used
                for value in node.values:
                    if isinstance(value, ast.Constant) and isinstance(value.value, str):
                        target = value.value
                        lazy.add(f"{here}{target}" if target.startswith(".") else target)
        internal.discard(mod)
        graph.internal[mod] = internal
        graph.external[mod] = external
        graph.lazy[mod] = lazy
    return graph
