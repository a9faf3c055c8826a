"""Places in a page of a lower layer that a layer above fills: the one-way rule turned around.

The system page (systems) shows the system's numbers (processes) and its scope checks (the
front, which knows every level). The systems layer names only the place, `{% slot
"system-metrics" system %}`; the app above registers what fills it in its `ready()`:

    @slots.fills("system-metrics")
    def system_metrics(context, system):
        return "metrics/_system_metrics.html", {...}

A filler returns a template and the values it is drawn with, as an inclusion tag does (the
request's CSRF token is passed on), or what it drew itself (a SafeString: for a small place a
page repeats on every row), or None to draw nothing there; a place nobody fills draws nothing.

A place that most often has nothing to show (a process's schedule, its runs under way, its
comments) may ask whether it has, with the object its page reads, rather than by a query of
its own: the layer above registers the question (`@slots.asks("processes.process", name)`, an
Exists subquery of OuterRef("pk"), or a few joined by | or &), the layer below annotates the
objects its pages read with every question asked of them (`slots.asked(label)`), and the
filler reads the answer with `slots.has(obj, name)`: yes when the object was read otherwise
(without the answer, its filler asks the database as before).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db.models import Expression, Q
from django.template import Context
from django.utils.safestring import SafeString, mark_safe

Filler = Callable[..., tuple[str, dict] | SafeString | None]
FILLERS: dict[str, Filler] = {}


# The questions asked of the objects of a model (by its label, "processes.process"): each by
# the attribute that holds its answer, and what makes its subquery.
Question = Expression | Q  # an Exists, or a few joined (Exists | Exists is a Q)
QUESTIONS: dict[str, dict[str, Callable[[], Question]]] = {}


def asks(label: str, name: str) -> Callable[[Callable[[], Question]], Callable[[], Question]]:
    """Register, for the objects of the model `label`, the question `name` (a decorator of
    what makes its subquery, an Exists of OuterRef("pk")), read with them where their pages
    read them (asked())."""

    def register(question: Callable[[], Question]) -> Callable[[], Question]:
        QUESTIONS.setdefault(label, {})[name] = question
        return question

    return register


def asked(label: str) -> dict[str, Question]:
    """Every question asked of the objects of `label`, as annotations: `.annotate(**asked())`."""
    return {name: question() for name, question in QUESTIONS.get(label, {}).items()}


def asked_names(label: str) -> tuple[str, ...]:
    """The names of the questions asked of the objects of `label` (asked()): what else an
    object read with them holds."""
    return tuple(QUESTIONS.get(label, ()))


def has(obj: Any, name: str) -> bool:
    """The answer to the question `name` read with `obj`; yes if it was read without it."""
    return getattr(obj, name, True)


def fills(name: str) -> Callable[[Filler], Filler]:
    """Register the function that fills the place `name` (as a decorator)."""

    def register(filler: Filler) -> Filler:
        FILLERS[name] = filler
        return filler

    return register


def render(name: str, context: Context, *args) -> SafeString:
    filler = FILLERS.get(name)
    if filler is None:
        return mark_safe("")
    filled = filler(context, *args)
    if filled is None:
        return mark_safe("")
    if isinstance(filled, SafeString):
        return filled
    template_name, values = filled
    template = context.template.engine.get_template(template_name)
    drawn_with = context.new(values)
    csrf_token = context.get("csrf_token")
    if csrf_token is not None:
        drawn_with["csrf_token"] = csrf_token
    return template.render(drawn_with)


def read_once(obj: Any, name: str, read: Callable[[], Any]) -> Any:
    """What `read()` gives, read once for the object a page shows (`obj`, fetched for this
    request): kept on it as `name`, for the places of one page that need the same rows (a
    system's processes for its processes and its weekly roll-up; a process's runs ended for
    its last runs and its figures)."""
    found = getattr(obj, name, None)
    if found is None:
        found = read()
        setattr(obj, name, found)
    return found
