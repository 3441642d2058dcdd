"""The project's modules import each other without a cycle, and the layers hold.

Every module under bot/ and actions/ is parsed (never imported) with `ast`; each
`import` and `from ... import` naming a project module is an edge, at module level
or inside a function alike. Layers, lowest first:

- `bot.settings` imports no other project module;
- `bot.storage` (the tables) and `bot.db` import only settings and storage;
- the features (`bot.knowledge`, `bot.insights`, `bot.nlp`, `bot.safety`) never
  import a channel, the actions or the Rasa integration (`bot.rasa`);
- `bot.channels` never imports the actions, `bot.rasa` neither them nor a channel.

A failure names the edge that breaks a rule, with the file and line of the import.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable
from pathlib import Path

import pytest

from tests.conftest import ROOT

PACKAGES = ("bot", "actions")
Edges = dict[tuple[str, str], list[str]]  # (importer, imported) -> ["path:line", ...]


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def project_modules() -> dict[str, Path]:
    return {module_name(path): path for package in PACKAGES for path in sorted((ROOT / package).rglob("*.py"))}


def resolve(name: str, modules: Iterable[str]) -> str | None:
    """The project module that importing `name` runs: the longest project module it starts with."""
    known = set(modules)
    parts = name.split(".")
    for end in range(len(parts), 0, -1):
        candidate = ".".join(parts[:end])
        if candidate in known:
            return candidate
    return None


def imported_names(tree: ast.AST, module: str, is_package: bool) -> Iterable[tuple[str, int]]:
    """Every dotted name the module imports (a `from X import y` gives X.y and X), with its line."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node.lineno
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: from the module's package, one level up per extra dot
                package = module.split(".") if is_package else module.split(".")[:-1]
                package = package[: len(package) - (node.level - 1)]
                base = ".".join([*package, *([base] if base else [])])
            for alias in node.names:
                yield f"{base}.{alias.name}", node.lineno  # a submodule, or a name resolved to `base` below


def import_graph() -> Edges:
    modules = project_modules()
    edges: Edges = {}
    for module, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for name, line in imported_names(tree, module, path.name == "__init__.py"):
            target = resolve(name, modules)
            if target is not None and target != module:
                edges.setdefault((module, target), []).append(f"{path.relative_to(ROOT)}:{line}")
    return edges


def find_cycle(edges: Iterable[tuple[str, str]]) -> list[str] | None:
    """One cycle of the graph as [a, b, ..., a], or None."""
    graph: dict[str, list[str]] = {}
    for source, target in edges:
        graph.setdefault(source, []).append(target)
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return [*path[path.index(nxt) :], nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        path.pop()
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state and (found := visit(start)):
            return found
    return None


def within(module: str, *prefixes: str) -> bool:
    return any(module == prefix or module.startswith(prefix + ".") for prefix in prefixes)


FEATURES = ("bot.knowledge", "bot.insights", "bot.nlp", "bot.safety")
# (the modules a rule is about, which of their imports it forbids, the rule in words)
RULES = [
    ("bot.settings", lambda target: True, "settings imports no other project module"),
    (
        ("bot.storage", "bot.db"),
        lambda target: not within(target, "bot.settings", "bot.storage"),
        "storage and db import only settings and storage",
    ),
    (
        FEATURES,
        lambda target: within(target, "bot.channels", "actions", "bot.rasa"),
        "features never import channels, actions or the Rasa integration (bot.rasa)",
    ),
    ("bot.channels", lambda target: within(target, "actions"), "channels never import the actions"),
    ("bot.rasa", lambda target: within(target, "bot.channels", "actions"), "bot.rasa imports no channel or action"),
]


def broken_rules(edges: Edges) -> list[str]:
    broken = []
    for (source, target), places in sorted(edges.items()):
        for owners, forbidden, rule in RULES:
            owners = (owners,) if isinstance(owners, str) else owners
            if within(source, *owners) and not within(target, *owners) and forbidden(target):
                broken.append(f"{source} -> {target} ({', '.join(places)}): {rule}")
    return broken


def test_every_module_is_parsed_and_the_graph_is_not_empty():
    modules = project_modules()
    for expected in ("bot.settings", "bot.db", "bot.storage", "bot.channels.sms", "bot.rasa.stores", "actions.actions"):
        assert expected in modules
    edges = import_graph()
    assert ("bot.db", "bot.settings") in edges
    assert ("bot.channels.sms.channel", "bot.channels.sms.store") in edges  # module level
    assert ("bot.servers", "bot.rasa.patches") in edges  # inside a function


def test_no_import_cycle():
    edges = import_graph()
    cycle = find_cycle(edges)
    assert cycle is None, "import cycle: " + " -> ".join(cycle) + "\n" + "\n".join(
        f"  {a} -> {b}: {', '.join(edges[a, b])}" for a, b in zip(cycle, cycle[1:], strict=False)
    )


def test_the_layers_hold():
    broken = broken_rules(import_graph())
    assert not broken, "imports that break the layers:\n" + "\n".join(broken)


# --- the checks themselves can fail ---------------------------------------------


def test_the_cycle_check_finds_a_cycle_made_inside_a_function():
    assert find_cycle([("a", "b"), ("b", "c"), ("c", "a"), ("c", "d")]) == ["a", "b", "c", "a"]
    assert find_cycle([("a", "b"), ("b", "c"), ("a", "c")]) is None
    # as bot.db.schema() once did: a function-level import back to a module that imports db
    source = "def schema():\n    import bot.channels.sms.store\n"
    names = [name for name, _ in imported_names(ast.parse(source), "bot.db", False)]
    assert names == ["bot.channels.sms.store"]
    edges = {**import_graph(), ("bot.db", "bot.channels.sms.store"): ["bot/db.py:2"]}
    assert find_cycle(edges) is not None


@pytest.mark.parametrize(
    "edge",
    [
        ("bot.settings", "bot.privacy"),
        ("bot.db", "bot.channels.sms.store"),
        ("bot.storage.sms", "bot.insights.store"),
        ("bot.knowledge.repository", "bot.channels.web"),
        ("bot.rasa.components", "actions.actions"),
        ("bot.nlp.feelings", "bot.rasa.components"),
        ("bot.channels.sms.channel", "actions.actions"),
    ],
)
def test_the_layer_check_names_the_breaking_edge(edge):
    broken = broken_rules({edge: ["somewhere.py:1"]})
    assert len(broken) == 1 and broken[0].startswith(f"{edge[0]} -> {edge[1]} (somewhere.py:1)")


def test_relative_imports_resolve_to_project_modules():
    source = "from . import store\nfrom .text import to_gsm7\nfrom .. import http\n"
    names = [name for name, _ in imported_names(ast.parse(source), "bot.channels.sms.channel", False)]
    assert names == ["bot.channels.sms.store", "bot.channels.sms.text.to_gsm7", "bot.channels.http"]
