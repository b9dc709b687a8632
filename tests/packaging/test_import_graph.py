"""The three packages import in one direction only.

A reader follows a request from a framework call down to the socket without meeting a module
that imports back up. The graph is read from the source with ``ast`` (nothing is imported), and
every import counts: module level, inside functions (a lazy import that closes a circle is still
a circle for a reader; it only hides it from the interpreter) and under ``TYPE_CHECKING`` (a
type-only back-import still couples the lower module to the upper one's shape; a ``Protocol``
in the lower module says the same without the edge).
"""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Collection, Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("compactifai", "langchain_compactifai", "llama_index_compactifai")


def _modules() -> dict[str, Path]:
    modules: dict[str, Path] = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            modules[".".join(parts)] = path
    return modules


def _imported_names(
    module: str, path: Path, modules: Collection[str], *, module_level_only: bool = False
) -> Iterator[str]:
    """Every dotted name ``module`` imports, relative imports resolved, at any depth (or only
    the statements run when the module loads, with ``module_level_only``).

    ``from pkg import sub`` names the submodule ``pkg.sub`` when there is one (the reader goes
    to ``sub``, not to ``pkg/__init__.py``), and ``pkg`` itself otherwise.
    """
    is_package = path.name == "__init__.py"
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    for node in _run_on_import(tree.body) if module_level_only else ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                anchor = module.split(".")
                if not is_package:
                    anchor.pop()
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join(anchor + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            for alias in node.names:
                submodule = f"{base}.{alias.name}"
                yield submodule if submodule in modules else base


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _run_on_import(statements: list[ast.stmt]) -> Iterator[ast.stmt]:
    """The statements that run when a module whose body is ``statements`` is imported.

    Those of the body and of every block it opens on the way (``if``/``else``,
    ``try``/``except``/``else``/``finally``, ``with``, loops, ``match``, class bodies): an
    import a module makes under a ``try`` is as eager as one on its top line. Function bodies
    run later, and ``if TYPE_CHECKING:`` never (its ``else`` does).
    """
    for node in statements:
        yield node
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            yield from _run_on_import(node.orelse)
            continue
        for block in ("body", "orelse", "finalbody"):
            yield from _run_on_import(getattr(node, block, []))
        for clause in [*getattr(node, "handlers", []), *getattr(node, "cases", [])]:
            yield from _run_on_import(clause.body)


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        for imported in _imported_names(name, path, modules):
            if imported in modules and imported != name:
                graph[name].add(imported)
    return graph


def _external_imports() -> dict[str, set[str]]:
    modules = _modules()
    return {name: set(_imported_names(name, path, modules)) for name, path in modules.items()}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One shortest circle per strongly connected component of more than one module."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[set[str]] = []

    def connect(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for successor in sorted(graph[node]):
            if successor not in index:
                connect(successor)
                low[node] = min(low[node], low[successor])
            elif successor in on_stack:
                low[node] = min(low[node], index[successor])
        if low[node] == index[node]:
            component: set[str] = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.add(member)
                if member == node:
                    break
            if len(component) > 1:
                components.append(component)

    for node in sorted(graph):
        if node not in index:
            connect(node)

    cycles = []
    for component in components:
        start = min(component)
        # Breadth-first back to ``start`` inside the component: the shortest circle through it.
        paths = {start: [start]}
        frontier = [start]
        found: list[str] | None = None
        while frontier and found is None:
            following = []
            for node in frontier:
                for successor in sorted(graph[node] & component):
                    if successor == start:
                        found = paths[node] + [start]
                        break
                    if successor not in paths:
                        paths[successor] = paths[node] + [successor]
                        following.append(successor)
                if found:
                    break
            frontier = following
        assert found is not None
        cycles.append(found)
    return cycles


def test_the_graph_sees_every_kind_of_import() -> None:
    graph = _graph()
    assert "compactifai.emulator.batches" in graph["compactifai.emulator.app"]  # from .batches
    assert "compactifai.chat" in graph["langchain_compactifai.chat_models"]  # absolute
    assert "compactifai.emulator" in graph["compactifai.commands.emulator"]  # inside a function
    assert "compactifai._client" in graph["compactifai._holder"]  # under TYPE_CHECKING
    # ``from compactifai import _client`` leads to the submodule, not back to the package.
    assert "compactifai" not in graph["compactifai._client"]


def test_cycles_are_found_and_named() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": set()}
    assert _cycles(graph) == [["a", "b", "c", "a"]]
    assert _cycles({"x": {"y"}, "y": {"x", "z"}, "z": set()}) == [["x", "y", "x"]]


def test_no_module_of_the_three_packages_imports_back_up() -> None:
    cycles = _cycles(_graph())
    assert not cycles, "import cycles: " + "; ".join(" -> ".join(cycle) for cycle in cycles)


def _is_under(name: str, roots: tuple[str, ...]) -> bool:
    return any(name == root or name.startswith(root + ".") for root in roots)


FRAMEWORKS = ("langchain", "langchain_core", "langgraph", "llama_index")
ADAPTERS = ("langchain_compactifai", "llama_index_compactifai")

# The modules of ``compactifai`` that sit above the adapters: they run a user's LangChain or
# LlamaIndex code (``compare_runnable``, ``compare_query_engine``, ``compactifai demo``), so
# they build the adapters' models. The rest of ``compactifai`` reaches them only inside
# functions, so importing ``compactifai`` (or ``compactifai.compare``) never loads a framework;
# and none of them is on the adapters' way down (no cycle, checked above).
FRAMEWORK_ENTRY_POINTS = frozenset(
    {
        "compactifai.compare._langchain",
        "compactifai.compare._llama_index",
        "compactifai.commands.demo",
    }
)


def _framework_names(names: set[str]) -> set[str]:
    return {n for n in names if _is_under(n, ADAPTERS) or n.split(".")[0].startswith(FRAMEWORKS)}


def test_the_client_never_imports_a_framework_or_an_adapter() -> None:
    imports = _external_imports()
    offending = {
        f"{module} imports {name}"
        for module, names in imports.items()
        if _is_under(module, ("compactifai",)) and module not in FRAMEWORK_ENTRY_POINTS
        for name in _framework_names(names)
    }
    assert not offending, sorted(offending)
    # Each entry point still imports a framework (else it leaves the list); and no other
    # module of ``compactifai`` loads a framework or an adapter when it is imported, through
    # the entry points or otherwise.
    for module in FRAMEWORK_ENTRY_POINTS:
        assert _framework_names(imports[module]), f"{module} imports no framework any more"
    modules = _modules()
    eager = {
        name: set(_imported_names(name, path, modules, module_level_only=True))
        for name, path in modules.items()
    }
    loading = set()
    for module in eager:
        if not _is_under(module, ("compactifai",)) or module in FRAMEWORK_ENTRY_POINTS:
            continue
        seen, todo = {module}, [module]
        while todo:
            for name in eager[todo.pop()]:
                if _framework_names({name}):
                    loading.add(f"importing {module} loads {name}")
                elif name in eager and name not in seen:
                    seen.add(name)
                    todo.append(name)
    assert not loading, sorted(loading)


def test_neither_adapter_imports_the_other() -> None:
    forbidden = {
        "langchain_compactifai": ("llama_index_compactifai", "llama_index"),
        "llama_index_compactifai": ("langchain_compactifai", "langchain", "langchain_core"),
    }
    offending = {
        f"{module} imports {name}"
        for module, names in _external_imports().items()
        for package, other in forbidden.items()
        if _is_under(module, (package,))
        for name in names
        if _is_under(name, other)
    }
    assert not offending, sorted(offending)


# A module whose framework imports all run on import, none on its top line; and some that do
# not run on import (in a function, under TYPE_CHECKING).
_HIDDEN_EAGER_IMPORTS = """\
from typing import TYPE_CHECKING

try:
    import langchain_core.messages
except ImportError:
    from llama_index.core import Settings
else:
    import langgraph
finally:
    from . import sibling

if TYPE_CHECKING:
    import llama_index.core.llms
elif True:
    import langchain.chains
else:
    from langchain_compactifai import ChatCompactifAI

with open(__file__) as source:
    import llama_index_compactifai.base


class Holder:
    import langchain_core.tools


def later():
    import langchain_core.runnables
"""


def test_imports_under_try_if_and_with_count_as_made_on_import(tmp_path: Path) -> None:
    module = tmp_path / "hidden.py"
    module.write_text(_HIDDEN_EAGER_IMPORTS, encoding="utf-8")
    modules = {"compactifai.hidden", "compactifai.sibling"}
    eager = set(_imported_names("compactifai.hidden", module, modules, module_level_only=True))
    assert _framework_names(eager) == {
        "langchain_core.messages",
        "llama_index.core",
        "langgraph",
        "langchain.chains",
        "langchain_compactifai",
        "llama_index_compactifai.base",
        "langchain_core.tools",
    }
    assert "compactifai.sibling" in eager  # from the finally block
    assert "llama_index.core.llms" not in eager  # under TYPE_CHECKING: never run
    assert "langchain_core.runnables" not in eager  # in a function: run on its first call
    everywhere = set(_imported_names("compactifai.hidden", module, modules))
    assert {"llama_index.core.llms", "langchain_core.runnables"} <= everywhere


def test_importing_the_client_package_loads_no_framework() -> None:
    # What the ast checks above promise, seen by the interpreter: the client's package, and the
    # modules a CLI or `compare` user imports, leave both frameworks unloaded.
    code = (
        "import sys\n"
        "for name in ('compactifai', 'compactifai.compare', 'compactifai.cli'):\n"
        "    __import__(name)\n"
        "    loaded = sorted(m for m in sys.modules if m.split('.')[0] in "
        f"{FRAMEWORKS + ADAPTERS!r})\n"
        "    assert not loaded, f'import {name} loaded {loaded}'\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
