from __future__ import annotations

import hashlib

from django.core.cache import cache
from django.http import HttpRequest
from django.template.loader import render_to_string
from django.utils.functional import SimpleLazyObject
from django.utils.safestring import SafeString, mark_safe

from systems.models import System
from systems.tree import flat_tree


def sidebar_tree_html() -> SafeString:
    """The sidebar's systems tree as HTML, rendered once per shape of the tree.

    The tree is read on every full page (one small query), but drawing 200 systems costs far
    more than reading them; the drawing is cached under a key made from the tree itself, so
    any change to names or structure simply makes a new key: nothing to invalidate.
    """
    nodes = list(System.objects.only("name", "parent", "level", "tree_id", "lft", "rght"))
    if not nodes:
        return mark_safe("")
    shape = repr([(n.pk, n.name, n.parent_id, n.level, n.lft) for n in nodes])
    key = "sidebar-tree:" + hashlib.sha256(shape.encode()).hexdigest()
    html = cache.get(key)
    if html is None:
        html = render_to_string("systems/_sidebar_tree.html", {"rows": flat_tree(nodes)})
        cache.set(key, html, 24 * 60 * 60)
    return mark_safe(html)


def systems_tree(request: HttpRequest) -> dict:
    """The systems tree for the sidebar, read only if the template shows it.

    htmx partials do not render the sidebar, so they do not pay for it at all.
    """
    user = getattr(request, "user", None)
    if user is None or not user.has_perm("systems.view_system"):
        return {}
    return {"show_sidebar": True, "sidebar_tree": SimpleLazyObject(sidebar_tree_html)}
