"""Search's hits, drawn in Python: `{% search_hits group.hits %}`.

A search shows up to sixty hits; drawn by the template, each cost some 150 Python calls (its
conditions and variables), a fifth of a search. Here each is a formatted string, the same HTML
the template drew: its title (a link: in the app through htmx, elsewhere opened apart), where
it is, and the words found (a snippet marked by opsmodel.front.search.highlight).
"""

from __future__ import annotations

from django import template
from django.utils.safestring import SafeString, mark_safe

from opsmodel.escaping import conditional_escape, escape

register = template.Library()


@register.simple_tag
def search_hits(hits: list) -> SafeString:
    """Each hit (opsmodel.front.search.Hit) as an item of the group's list."""
    drawn = []
    for hit in hits:
        title = conditional_escape(hit.title)
        if hit.url:
            url = escape(hit.url)
            if hit.url.startswith("/"):
                how = f' data-hx-get="{url}" data-hx-target="#main" data-hx-push-url="true"'
            else:
                how = ' rel="noopener noreferrer"'
            title = f'<a href="{url}"{how}>{title}</a>'
        path = (
            f'<span class="muted small"> · {conditional_escape(hit.path)}</span>'
            if hit.path
            else ""
        )
        snippet = f'<p class="snippet">{conditional_escape(hit.snippet)}</p>' if hit.snippet else ""
        drawn.append(f"<li>\n{title}\n{path}\n{snippet}\n</li>")
    return mark_safe("\n".join(drawn))
