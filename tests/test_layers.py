"""The layers of the code: each may use the ones below it, never one above.

    opsmodel.notify  (telling people: alerts, digests, the inbox)
    opsmodel.front   (across the levels: My work, people, search, health, export and import)
    opsmodel.comments (comments and @mentions on SOPs, processes, steps and run steps)
    opsmodel.runs    (processes carried out, step by step)
    sops → processes → systems   (the three levels, each on the ones after it)
    opsmodel         (the base: the person, roles, history, htmx plumbing, settings)

Held for every way one piece of code can know another:

- imports, read with `ast` (an import inside a function counts as much as one at the top);
- models named by string (`apps.get_model("sops", "SOP")`);
- URL names: a `reverse("front:person")` in Python, or a `{% url 'front:person' %}` in a
  template, names a page of the layer its namespace belongs to;
- templates: a template `{% include %}`s or `{% extends %}` one of its own layer or below, and
  `{% load %}`s tag libraries of those layers only. A template's layer is told by its folder
  (TEMPLATE_FOLDERS; the others are the base's).

The composition root knows every layer, as it must: the settings, the root URLconf and the
frame of every page (`base.html`, whose navigation links each layer's pages). A layer below
shows what one above adds through a place the upper one fills (opsmodel.slots, the counts of
`with_counts()` in systems.models, the contents `systems.tree.holds`), never by naming it.
Migrations are left out: they name other apps' models by string anyway.
"""

from __future__ import annotations

import ast
import re
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# Each layer, lowest first; a layer may use only itself and those before it.
LAYERS = [
    "opsmodel",
    "systems",
    "processes",
    "sops",
    "opsmodel.runs",
    "opsmodel.comments",
    "opsmodel.front",
    "opsmodel.notify",
    "opsmodel.api",
]
# The layer each app label belongs to (for models named by string).
APP_LABELS = {
    "opsmodel": "opsmodel",
    "systems": "systems",
    "processes": "processes",
    "sops": "sops",
    "runs": "opsmodel.runs",
    "comments": "opsmodel.comments",
    "front": "opsmodel.front",
    "notify": "opsmodel.notify",
    "api": "opsmodel.api",
}
# The folders of templates/ drawn by each layer's views; any other folder is the base's.
TEMPLATE_FOLDERS = {
    "systems": "systems",
    "processes": "processes",
    "metrics": "processes",
    "sops": "sops",
    "runs": "opsmodel.runs",
    "comments": "opsmodel.comments",
    "people": "opsmodel.front",
    "handbook": "opsmodel.front",
    "starters": "opsmodel.front",
    "notify": "opsmodel.notify",
    "api": "opsmodel.api",
}
COMPOSITION_ROOT = {"opsmodel/settings.py", "opsmodel/urls.py", "templates/base.html"}
# Known breaches, each on its way out: file → the layers it may still name.
UNTIL_MOVED: dict[str, set[str]] = {
    # The process page links each step's SOP (a relation the SOP defines): to be drawn in a
    # place of the step the SOPs layer fills.
    "processes/templatetags/steps.py": {"sops"},
    "templates/processes/process_detail.html": {"sops"},
}


def layer_of(module: str) -> str | None:
    """The layer a dotted module name belongs to (the most specific one), or None."""
    found = [layer for layer in LAYERS if module == layer or module.startswith(layer + ".")]
    return max(found, key=len) if found else None


def layer_of_file(relative: str) -> str:
    """The layer of a file of the code (a module) or of templates/ (by its folder)."""
    if relative.startswith("templates/"):
        folder = relative.split("/")[1]
        return TEMPLATE_FOLDERS.get(folder, "opsmodel")
    return layer_of(relative.removesuffix(".py").replace("/", "."))


def source_files():
    for top in ("opsmodel", "systems", "processes", "sops"):
        for path in sorted((ROOT / top).rglob("*.py")):
            if "migrations" not in path.parts:
                yield path


def template_files():
    yield from sorted((ROOT / "templates").rglob("*.html"))


@cache
def url_namespaces() -> dict[str, str]:
    """Each URL namespace (`app_name` of a URLconf in the code) → the layer defining it."""
    found = {}
    for path in source_files():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Assign)
                and [getattr(t, "id", None) for t in node.targets] == ["app_name"]
                and isinstance(node.value, ast.Constant)
            ):
                found[node.value.value] = layer_of_file(path.relative_to(ROOT).as_posix())
    return found


@cache
def tag_libraries() -> dict[str, str]:
    """Each template tag library (`{% load name %}`) → the layer defining it."""
    return {
        path.stem: layer_of_file(path.relative_to(ROOT).as_posix())
        for path in source_files()
        if path.parent.name == "templatetags" and path.stem != "__init__"
    }


URL_NAME = re.compile(r"^(\w+):[\w-]+$")


def named_in_python(source: str) -> set[tuple[str, str]]:
    """(what names it, the layer named) for each URL name and model named by string."""
    namespaces = url_namespaces()
    named = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            match = URL_NAME.match(node.value)
            if match and match[1] in namespaces:
                named.add((f"URL {node.value}", namespaces[match[1]]))
        elif isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "get_model":
            arg = node.args[0] if node.args else None
            if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                label = arg.value.split(".")[0]
                if label in APP_LABELS:
                    named.add((f"model {arg.value}", APP_LABELS[label]))
    return named


TAG = re.compile(r"{%\s*(url|include|extends|load)\s+(.*?)\s*%}")


def named_in_template(source: str) -> set[tuple[str, str]]:
    """(what names it, the layer named) for each URL name, template and tag library."""
    namespaces, libraries = url_namespaces(), tag_libraries()
    named = set()
    for tag, rest in TAG.findall(source):
        first = rest.split()[0].strip("'\"") if rest else ""
        if tag == "url" and ":" in first and first.split(":")[0] in namespaces:
            named.add((f"URL {first}", namespaces[first.split(":")[0]]))
        elif tag in ("include", "extends") and rest[0] in "'\"":
            named.add((f"template {first}", layer_of_file(f"templates/{first}")))
        elif tag == "load":
            named.update(
                (f"tags {name}", libraries[name]) for name in rest.split() if name in libraries
            )
    return named


def breaches_in(relative: str, source: str) -> list[str]:
    """What the file `relative` (its text: `source`) names of a layer above its own."""
    if relative in COMPOSITION_ROOT:
        return []
    own = layer_of_file(relative)
    allowed = set(LAYERS[: LAYERS.index(own) + 1]) | UNTIL_MOVED.get(relative, set())
    named = names_in(relative, source)
    return sorted(
        f"{relative} ({own}) names {what} ({layer})"
        for what, layer in named
        if layer not in allowed
    )


def names_in(relative: str, source: str) -> set[tuple[str, str]]:
    """(what names it, the layer named) for everything of the layers the file names."""
    if relative.endswith(".html"):
        return named_in_template(source)
    imported = {(f"import {m}", layer_of(m)) for m in imports_from(source) if layer_of(m)}
    return named_in_python(source) | imported


def imports_from(source: str) -> set[str]:
    """Every module imported, at the top or inside a function."""
    modules = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            modules.add(node.module)
            # `from opsmodel import front` names the module in the alias.
            modules.update(f"{node.module}.{alias.name}" for alias in node.names)
    return modules


def breaches() -> list[str]:
    found = []
    for path in [*source_files(), *template_files()]:
        relative = path.relative_to(ROOT).as_posix()
        found += breaches_in(relative, path.read_text(encoding="utf-8"))
    return found


def test_no_layer_names_one_above_it():
    assert breaches() == []


def test_the_known_breaches_are_still_there_or_are_struck_off():
    """A breach mended is taken off UNTIL_MOVED, so the list never hides a new one."""
    for relative, layers in UNTIL_MOVED.items():
        path = ROOT / relative
        assert path.exists(), f"{relative} has moved: strike it off UNTIL_MOVED"
        named = names_in(relative, path.read_text(encoding="utf-8"))
        assert layers <= {layer for _what, layer in named}, relative


@pytest.mark.parametrize(
    ("relative", "source", "named"),
    [
        # Each way a lower layer can know a higher one, planted: each is caught.
        ("systems/models.py", "from sops.models import SOP", "import sops.models"),
        ("systems/tree.py", "def f():\n    import processes.health", "import processes.health"),
        ("systems/tree.py", 'apps.get_model("sops", "SOP")', "model sops (sops)"),
        ("processes/models.py", 'apps.get_model("sops.SOP")', "model sops.SOP (sops)"),
        ("opsmodel/models.py", 'reverse("front:person", args=[1])', "URL front:person"),
        ("processes/health.py", "x = f\"{reverse('sops:edit')}\"", "URL sops:edit (sops)"),
        ("templates/systems/x.html", "{% url 'processes:new' %}", "URL processes:new"),
        ("templates/includes/x.html", '{% url "sops:promote" sop.pk %}', "URL sops:promote"),
        ("templates/systems/x.html", '{% include "people/_owned.html" %}', "template people/"),
        ("templates/processes/x.html", '{% extends "sops/sop_detail.html" %}', "template sops/"),
        ("templates/systems/x.html", "{% load opsmodel metrics %}", "tags metrics (processes)"),
    ],
)
def test_a_planted_breach_is_caught(relative, source, named):
    found = breaches_in(relative, source)
    assert found and all(named in breach for breach in found), found


@pytest.mark.parametrize(
    ("relative", "source"),
    [
        # The same names from a layer allowed to use them: nothing to catch.
        ("opsmodel/front/people.py", "from sops.models import SOP"),
        (
            "sops/views.py",
            'reverse("processes:detail", args=[1]); apps.get_model("systems.System")',
        ),
        (
            "templates/people/x.html",
            "{% url 'sops:edit' 1 %}{% include 'systems/_map_tree.html' %}",
        ),
        ("templates/processes/x.html", "{% load opsmodel metrics %}{% url 'metrics:new' %}"),
        ("opsmodel/urls.py", 'include("opsmodel.front.urls"); reverse("front:person")'),
        ("templates/systems/x.html", "{% url 'admin:index' %}{% include 'includes/form.html' %}"),
    ],
)
def test_a_name_the_layer_may_use_is_not_a_breach(relative, source):
    assert breaches_in(relative, source) == []


@pytest.mark.parametrize(
    ("module", "layer"),
    [
        ("opsmodel.history", "opsmodel"),
        ("opsmodel.front.people", "opsmodel.front"),
        ("sops.models", "sops"),
        ("django.db", None),
    ],
)
def test_a_module_s_layer_is_the_most_specific_one(module, layer):
    assert layer_of(module) == layer


def test_the_layers_of_the_names_are_read_from_the_code():
    assert url_namespaces() == {
        "systems": "systems",
        "processes": "processes",
        "metrics": "processes",
        "sops": "sops",
        "runs": "opsmodel.runs",
        "comments": "opsmodel.comments",
        "front": "opsmodel.front",
        "notify": "opsmodel.notify",
        "developer": "opsmodel.api",
    }
    assert tag_libraries() == {
        "addresses": "opsmodel",  # (a builtin: {% url %} in every template)
        "dates": "opsmodel",  # (a builtin: |date in every template)
        "opsmodel": "opsmodel",
        "maps": "systems",
        "metrics": "processes",
        "runs": "opsmodel.runs",
        "comment_forms": "opsmodel.comments",
        "steps": "processes",
        "work": "opsmodel.front",
        "found": "opsmodel.front",
    }
