"""The map's cards, drawn in Python: `{% map_tree rows can_reorder %}`.

The map opens with dozens of systems and each branch opened adds more; drawn by a template,
each card cost some 1,500 Python calls (its variables, tags, the included reorder form), most
of drawing the map afresh. Here each card is a few formatted strings, the same HTML the
template drew: the card, its owner, its counts, the button that opens a folded branch, and the
form that moves it up or down among its siblings (which works without JavaScript).
"""

from __future__ import annotations

from django import template
from django.utils.safestring import SafeString, mark_safe

from opsmodel.addresses import address
from opsmodel.escaping import escape
from opsmodel.templatetags.opsmodel import owner, plural, reorder_form

register = template.Library()


@register.simple_tag(takes_context=True)
def map_tree(context, rows, can_reorder) -> SafeString:
    """The systems of `rows` (systems.tree.flat_tree) as the map's nested cards, each with its
    counts (`process_count`, `sop_count`); `can_reorder`: whether to offer moving them. A
    system whose sub-systems are not among the rows gets a button that fetches them."""
    target = context.get("reorder_target") or "#main"
    drawn = ['<ul class="map-tree" role="list">']
    for row in rows:
        node = row.node
        pk, name = node.pk, escape(node.name)
        url = escape(address("systems:detail", pk))
        inside = (node.rght - node.lft - 1) // 2  # get_descendant_count(), read directly
        opener = ""
        if not row.has_children and inside:
            opener = (
                f' <button type="button" class="link-button branch-toggle" hidden '
                f'aria-expanded="false" aria-controls="map-branch-{pk}" '
                f'data-branch="{escape(address("systems:branch", pk))}" data-name="{name}">'
                f'<span class="visually-hidden">{name}: </span>'
                f"{plural(inside, 'system inside,systems inside')}</button>"
            )
        reorder = ""
        if can_reorder and row.siblings > 1:
            reorder = reorder_form(
                context,
                address("systems:move", pk),
                node.name,
                row.first,
                row.last,
                target=target,
                autofocus=getattr(node, "moved_direction", ""),
            )
        drawn.append(
            f'<li><article class="map-node level-{node.level}" aria-labelledby="map-node-{pk}">'
            f'<div class="map-node-main"><h3 id="map-node-{pk}">'
            f'<a href="{url}" data-hx-get="{url}">{name}</a></h3>'
            f'<p class="meta">{owner(node.owner)} '
            f"<span>{plural(node.process_count, 'process,processes')}</span> "
            f"<span>{plural(node.sop_count, 'SOP,SOPs')}</span>{opener}</p></div>"
            f"{reorder}</article>"
        )
        if row.has_children:
            drawn.append('<ul class="map-tree" role="list">')
        else:
            if inside:
                drawn.append(f'<div id="map-branch-{pk}" class="map-branch" hidden></div>')
            drawn.append("</li>")
        drawn.extend("</ul></li>" for _ in row.closes)
    drawn.append("</ul>")
    return mark_safe("".join(drawn))
