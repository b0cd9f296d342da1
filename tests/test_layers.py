"""The library's import graph, read from the source with ``ast``: no import circle, and the
settings layer and the storage layer import nothing above them (ARCHITECTURE.md, "Layers")."""

import ast
from pathlib import Path

import ssl_lib

PACKAGE = Path(ssl_lib.__file__).parent
#: Modules that must import no other ssl_lib module but these (the layers below them).
LOWER_LAYERS = {
    "ssl_lib.scale": set(), "ssl_lib.checks": set(), "ssl_lib.precision": set(),
    "ssl_lib.runtime": {"ssl_lib.checks", "ssl_lib.precision", "ssl_lib.scale"},
    "ssl_lib.storage": set(),
    "ssl_lib.data": {"ssl_lib.storage"},
}


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph() -> dict[str, set[str]]:
    """module -> the ssl_lib modules it imports anywhere in its text (functions included; not the
    imports for type annotations only, under ``if TYPE_CHECKING:``). ``from package import
    module`` depends on the module, not on the package's ``__init__``."""
    modules = {module_name(path): path for path in PACKAGE.rglob("*.py")}
    graph = {}
    for name, path in modules.items():
        tree = ast.parse(path.read_text())
        annotations_only = {id(node) for block in ast.walk(tree) if isinstance(block, ast.If)
                            and isinstance(block.test, ast.Name) and block.test.id == "TYPE_CHECKING"
                            for node in ast.walk(block)}
        found = set()
        for node in ast.walk(tree):
            if id(node) in annotations_only:
                continue
            if isinstance(node, ast.Import):
                found.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module:
                submodules = {f"{node.module}.{alias.name}" for alias in node.names} & set(modules)
                found.update(submodules or {node.module})
        graph[name] = {m for m in found if m in modules and m != name and m != "ssl_lib"}
    return graph


def circles(graph: dict[str, set[str]]) -> set[frozenset[str]]:
    """The strongly connected components of more than one module (Tarjan's algorithm)."""
    index, low, stack, on_stack, found = {}, {}, [], set(), set()

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in graph[node]:
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.add(member)
                if member == node:
                    break
            if len(component) > 1:
                found.add(frozenset(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_the_circle_finder_finds_a_planted_circle():
    assert circles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == {frozenset("abc")}
    assert circles({"a": {"b"}, "b": set()}) == set()


def test_the_lower_layers_import_nothing_above_them():
    graph = import_graph()
    for module, allowed in LOWER_LAYERS.items():
        assert graph[module] <= allowed, f"{module} imports {sorted(graph[module] - allowed)}, which sit above it"


def test_no_import_circle():
    found = circles(import_graph())
    assert not found, f"import circles: {[sorted(c) for c in found]}"
