"""The addresses of an object's own pages, the same at every level: its page at `<pk>/`, and
`edit/`, `delete/`, `move/`, `history/` and `history/compare/` below it."""

from __future__ import annotations

from types import ModuleType

from django.urls import URLPattern, path

# Each page of an object, and its address below the object's own.
PAGES = {
    "detail": "",
    "edit": "edit/",
    "delete": "delete/",
    "move": "move/",
    "history": "history/",
    "compare": "history/compare/",
}


def object_paths(prefix: str, views: ModuleType, *pages: str, suffix: str = "") -> list[URLPattern]:
    """`pages` of one kind of object at `<prefix><pk>/…`: each served by the view of `views`
    named after the page (plus `suffix`: "edit_step"), and named as that view is."""
    return [
        path(f"{prefix}<int:pk>/{PAGES[page]}", getattr(views, page + suffix), name=page + suffix)
        for page in pages
    ]
