"""The layers of the code, as imports: each may use the ones below it, never one above.

    opsmodel.front   (across the levels: My work, people, search, health, export and import)
    sops → processes → systems   (the three levels, each on the ones after it)
    opsmodel         (the base: the person, roles, history, htmx plumbing, settings)

Read from the source with `ast`, so an import inside a function counts as much as one at the
top of a file. (Migrations are left out: they name other apps' models by string anyway.)
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# Each layer, lowest first; a layer may import only itself and those before it.
LAYERS = ["opsmodel", "systems", "processes", "sops", "opsmodel.front"]
# Known breaches, each on its way out: file → the layer it may still import. None today.
UNTIL_MOVED: dict[str, str] = {}


def layer_of(module: str) -> str | None:
    """The layer a dotted module name belongs to (the most specific one), or None."""
    found = [layer for layer in LAYERS if module == layer or module.startswith(layer + ".")]
    return max(found, key=len) if found else None


def imports_of(path: Path) -> set[str]:
    modules = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            modules.add(node.module)
            # `from opsmodel import front` names the module in the alias.
            modules.update(f"{node.module}.{alias.name}" for alias in node.names)
    return modules


def source_files():
    for top in ("opsmodel", "systems", "processes", "sops"):
        for path in sorted((ROOT / top).rglob("*.py")):
            if "migrations" not in path.parts:
                yield path


def breaches() -> list[str]:
    found = []
    for path in source_files():
        relative = path.relative_to(ROOT).as_posix()
        own = layer_of(relative.removesuffix(".py").replace("/", "."))
        allowed = LAYERS[: LAYERS.index(own) + 1]
        for module in sorted(imports_of(path)):
            target = layer_of(module)
            if target is None or target in allowed or UNTIL_MOVED.get(relative) == target:
                continue
            found.append(f"{relative} ({own}) imports {module} ({target})")
    return found


def test_no_layer_imports_one_above_it():
    assert breaches() == []


def test_the_known_breaches_are_still_there_or_are_struck_off():
    """A breach mended is taken off UNTIL_MOVED, so the list never hides a new one."""
    for relative, target in UNTIL_MOVED.items():
        path = ROOT / relative
        assert path.exists(), f"{relative} has moved: strike it off UNTIL_MOVED"
        assert any(layer_of(m) == target for m in imports_of(path)), relative


@pytest.mark.parametrize(
    ("module", "layer"),
    [("opsmodel.history", "opsmodel"), ("opsmodel.front.people", "opsmodel.front"),
     ("sops.models", "sops"), ("django.db", None)],
)  # fmt: skip
def test_a_module_s_layer_is_the_most_specific_one(module, layer):
    assert layer_of(module) == layer
