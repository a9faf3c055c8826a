from __future__ import annotations

import hashlib

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.functional import SimpleLazyObject
from django.utils.safestring import SafeString, mark_safe

from opsmodel import mapcache
from systems.models import System
from systems.tree import OPEN_LEVELS, flat_tree


def tree_version() -> str:
    """A short fingerprint of the systems tree: every name, place and order in it.

    A page names the sidebar's tree by it (`?v=`), so the browser keeps the tree it fetched
    once for as long as the tree stays the same, however many pages are opened meanwhile.
    Reading 200 systems for it costs a millisecond on every page drawn, so it is kept under
    the map's stamp (opsmodel.mapcache: any change to a system changes it) while that holds.
    """
    now = mapcache.stamps()
    key = f"tree-version:{settings.MAP_FOLD_OVER}:{now[mapcache.MAP]}" if now else None
    version = cache.get(key) if key else None
    if version is None:
        shape = System.objects.order_by("tree_id", "lft")
        shape = shape.values_list("pk", "name", "parent_id", "level", "lft")
        drawn = (settings.MAP_FOLD_OVER, list(shape))  # and how it is drawn
        version = hashlib.sha256(repr(drawn).encode()).hexdigest()[:16]
        if key:
            cache.set(key, version, mapcache.PAGE_SECONDS)
    return version


def sidebar_tree_html(version: str) -> SafeString:
    """The sidebar's systems tree as HTML, drawn once per version of the tree.

    Drawing 200 systems costs far more than reading them; the drawing is kept under the
    tree's version, so any change to names or structure simply makes a new key: nothing to
    invalidate. A large tree comes folded below its first two levels (app.js opens the way
    to the page's own system).
    """
    key = f"sidebar-tree:{version}"
    html = cache.get(key)
    if html is None:
        nodes = list(System.objects.only("name", "parent", "level", "tree_id", "lft", "rght"))
        fold = len(nodes) > settings.MAP_FOLD_OVER
        context = {"rows": flat_tree(nodes), "fold": fold, "open_levels": OPEN_LEVELS}
        html = render_to_string("systems/_sidebar_tree.html", context)
        cache.set(key, html, 24 * 60 * 60)
    return mark_safe(html)


def systems_tree(request: HttpRequest) -> dict:
    """Where the sidebar fetches the systems tree from, read only if the template shows it.

    A full page carries the tree's address, not the tree: the browser fetches it once per
    version of the tree and keeps it (systems.views.tree). htmx partials show no sidebar.
    """
    user = getattr(request, "user", None)
    if user is None or not user.has_perm("systems.view_system"):
        return {}
    return {
        "show_sidebar": True,
        "sidebar_tree_url": SimpleLazyObject(
            lambda: f"{reverse('systems:tree')}?v={tree_version()}"
        ),
    }
