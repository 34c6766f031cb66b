"""The layout holds (docs/architecture.md): dependencies between our apps point one way.

Read from the source with ast, imports inside functions and under TYPE_CHECKING included:
- the hub (smartcity) imports no other app of ours;
- participation and pilots import the hub only, never each other;
- matching imports the hub and the spokes; insight may import anything;
- no module imports a private name (_x) from another app;
- the hub's migrations depend on no other app of ours.
Strings such as include("participation.urls") or "matching.tasks.score_item" are not imports.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
APPS = ("smartcity", "participation", "pilots", "matching", "insight")
# What each app may import besides itself.
ALLOWED = {
    "smartcity": set(),
    "participation": {"smartcity"},
    "pilots": {"smartcity"},
    "matching": {"smartcity", "participation", "pilots"},
    "insight": {"smartcity", "participation", "pilots", "matching"},
}


def _modules(app: str):
    for path in sorted((ROOT / app).rglob("*.py")):
        yield path, ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def _package(path: Path) -> list[str]:
    return list(path.relative_to(ROOT).with_suffix("").parts)


def _typing_only(tree: ast.AST) -> set[int]:
    """The ids of import nodes under `if TYPE_CHECKING:` (annotations only: never run)."""
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            found |= {id(child) for statement in node.body for child in ast.walk(statement)}
    return found


def imports(path: Path, tree: ast.AST, *, typing: bool = True):
    """(line, imported module, imported names) for every import in the file, relative ones resolved;
    `typing=False` leaves out those under `if TYPE_CHECKING:`."""
    here = _package(path)
    skipped = set() if typing else _typing_only(tree)
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name, []
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if node.level:
                base = here[:-node.level]
                module = ".".join(base + ([module] if module else []))
            yield node.lineno, module, [alias.name for alias in node.names]


def _app_of(module: str) -> str | None:
    top = module.split(".")[0]
    return top if top in APPS else None


def _violations() -> list[str]:
    found = []
    for app in APPS:
        for path, tree in _modules(app):
            if "migrations" in path.parts:
                continue
            where = path.relative_to(ROOT)
            for line, module, names in imports(path, tree):
                target = _app_of(module)
                if target is None or target == app:
                    continue
                if target not in ALLOWED[app]:
                    found.append(f"{where}:{line} imports {module}: {app} may not import {target}")
                for name in names:
                    if name.startswith("_"):
                        found.append(f"{where}:{line} imports the private name {name} from {module}")
                if any(part.startswith("_") and not part.startswith("__") for part in module.split(".")):
                    found.append(f"{where}:{line} imports the private module {module}")
    return found


def test_imports_between_apps_point_one_way_and_name_no_private_name():
    assert _violations() == []


def test_the_hub_migrations_depend_on_no_other_app_of_ours():
    from django.db.migrations.loader import MigrationLoader

    loader = MigrationLoader(None, ignore_no_migrations=True)
    wrong = [
        f"{app}.{name} depends on {dependency}"
        for (app, name), migration in loader.disk_migrations.items()
        for dependency in migration.dependencies
        if app == "smartcity" and dependency[0] in APPS and dependency[0] != "smartcity"
    ]
    assert wrong == []


@pytest.mark.django_db
def test_the_models_and_the_migrations_agree():
    from io import StringIO

    from django.core.management import call_command

    out = StringIO()
    call_command("makemigrations", "--check", "--dry-run", stdout=out, stderr=out)  # exits non-zero on a change


# The checker itself: a test that cannot fail is a defect.
def _check(app: str, source: str, filename: str = "module.py") -> list[str]:
    path = ROOT / app / filename
    found = []
    for _line, module, names in imports(path, ast.parse(source)):
        target = _app_of(module)
        if target and target != app and target not in ALLOWED[app]:
            found.append(module)
        found += [name for name in names if target and target != app and name.startswith("_")]
    return found


def test_the_checker_sees_imports_inside_functions_type_checking_and_relative_ones():
    assert _check("smartcity", "def f():\n    from participation.models import Report\n") == ["participation.models"]
    assert _check("smartcity", "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import pilots.models\n") == [
        "pilots.models"]
    assert _check("participation", "from pilots import models\n") == ["pilots"]
    assert _check("pilots", "from smartcity.api import _flatten\n") == ["_flatten"]
    assert _check("matching", "from .features import Vectorizer\n", "engine/engine.py") == []
    assert _check("insight", "from matching.models import Suggestion\nimport participation.models\n") == []
    assert _check("smartcity", 'include("participation.urls")\n') == []


def _module_graph() -> dict[str, set[str]]:
    """Our modules (dotted names) and the modules of ours each imports, deferred imports included."""
    graph: dict[str, set[str]] = {}
    for app in APPS:
        for path, tree in _modules(app):
            if "migrations" in path.parts:
                continue
            name = ".".join(part for part in _package(path) if part != "__init__")
            targets = graph.setdefault(name, set())
            for _line, module, names in imports(path, tree, typing=False):
                if _app_of(module) is None:
                    continue
                for candidate in [f"{module}.{n}" for n in names] + [module]:
                    if (ROOT / Path(*candidate.split("."))).with_suffix(".py").exists() or \
                            (ROOT / Path(*candidate.split(".")) / "__init__.py").exists():
                        targets.add(candidate)
                        break
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    found, state = [], {}

    def visit(node: str, trail: list[str]) -> None:
        state[node] = "open"
        for target in sorted(graph.get(node, ())):
            if target == node:
                continue
            if state.get(target) == "open":
                found.append(trail[trail.index(target):] + [target] if target in trail else [node, target])
            elif target not in state:
                visit(target, [*trail, target])
        state[node] = "done"

    for node in sorted(graph):
        if node not in state:
            visit(node, [node])
    return found


def test_no_module_of_ours_imports_itself_round_a_circle_not_even_inside_a_function():
    """A cycle held apart by a deferred import (models -> workflow -> services -> models) is still a cycle.
    Imports for annotations only (under `if TYPE_CHECKING:`) never run, and do not count here."""
    assert _cycles(_module_graph()) == []


def test_the_cycle_finder_finds_a_circle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c", "a"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []
