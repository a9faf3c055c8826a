from __future__ import annotations

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from systems.models import System
from systems.tree import flat_tree


def systems_tree(request: HttpRequest) -> dict:
    """The systems tree for the sidebar, queried only if the template shows it.

    htmx partials do not render the sidebar, so they do not pay for this query.
    """
    user = getattr(request, "user", None)
    if user is None or not user.has_perm("systems.view_system"):
        return {}
    return {
        "show_sidebar": True,
        "sidebar_systems": SimpleLazyObject(
            lambda: flat_tree(
                list(System.objects.only("name", "parent", "level", "tree_id", "lft", "rght"))
            )
        ),
    }
