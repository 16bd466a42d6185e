"""The layering rule, checked on the source (imports inside functions count too):
each package imports only packages of a lower layer (domain packages may use each
other's public API, without cycles), and nothing below the edges imports a web
framework or Rasa."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LAYER = {"core": 0, "platforms": 1, "grids": 2, "broadcast": 2, "tickets": 2,
         "knowledge": 2, "insight": 2,
         "connectors": 3, "actions": 3, "console": 3, "bot": 4}
DOMAIN = 2
FRAMEWORKS = ("sanic", "rasa", "rasa_sdk", "aiohttp.web", "aiohttp_jinja2", "jinja2")


def _imports(package: str) -> Iterator[tuple[str, str, int]]:
    """(module imported, file, line) of every absolute import in the package."""
    for path in sorted((ROOT / package).rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    yield alias.name, str(path.relative_to(ROOT)), node.lineno
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                yield node.module, str(path.relative_to(ROOT)), node.lineno
                for alias in node.names:  # `from aiohttp import web`
                    yield f"{node.module}.{alias.name}", str(path.relative_to(ROOT)), node.lineno


def _packages() -> list[str]:
    return [p for p in LAYER if (ROOT / p / "__init__.py").exists()]


def test_every_top_level_package_has_a_layer() -> None:
    found = {p.name for p in ROOT.iterdir() if (p / "__init__.py").exists()} - {"tests", "bench"}
    assert found <= set(LAYER), f"packages without a layer: {found - set(LAYER)}"


@pytest.mark.parametrize("package", _packages())
def test_imports_only_go_down(package: str) -> None:
    wrong = []
    for module, where, line in _imports(package):
        top = module.split(".")[0]
        if top == package or top not in LAYER:
            continue
        mine, theirs = LAYER[package], LAYER[top]
        if theirs < mine or (mine == theirs == DOMAIN):
            continue
        wrong.append(f"{where}:{line} imports {module}")
    assert not wrong, "\n".join(wrong)


def test_no_cycle_between_domain_packages() -> None:
    uses = {p: {m.split(".")[0] for m, _, _ in _imports(p)} & set(LAYER) - {p}
            for p in _packages() if LAYER[p] == DOMAIN}
    for a, used in uses.items():
        for b in used:
            assert a not in uses.get(b, set()), f"{a} and {b} import each other"


@pytest.mark.parametrize("package", [p for p in _packages() if LAYER[p] <= DOMAIN])
def test_lower_layers_use_no_web_framework_or_rasa(package: str) -> None:
    wrong = [f"{where}:{line} imports {module}" for module, where, line in _imports(package)
             if any(module == f or module.startswith(f + ".") for f in FRAMEWORKS)]
    assert not wrong, "\n".join(wrong)
