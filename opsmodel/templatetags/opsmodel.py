from __future__ import annotations

import datetime
import html
from collections.abc import Callable

from django import template
from django.template.defaulttags import CsrfTokenNode
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe

from opsmodel import mapcache, slots
from opsmodel.addresses import address
from opsmodel.escaping import conditional_escape, escape
from opsmodel.markdown import render_markdown
from opsmodel.paging import drawn_pager

register = template.Library()


def csrf_field(context) -> str:
    """What `{% csrf_token %}` draws, for forms drawn in Python (a placeholder while the page
    is drawn to be kept)."""
    return CsrfTokenNode().render(context)


def form_fields(context) -> str:
    """What each form drawn in Python that posts from a page carries: the CSRF field, and the
    page to come back to (`next`). Drawn once for all the forms of a page that carry the same
    token (this request's, or the placeholder of what is drawn to be kept: kept_drawing)."""
    once = (form_fields, str(context.get("csrf_token", "")))
    drawn = context.render_context.get(once)
    if drawn is None:
        request = context.get("request")
        back = escape(request.get_full_path()) if request is not None else ""
        drawn = f'{csrf_field(context)}\n<input type="hidden" name="next" value="{back}">'
        context.render_context[once] = drawn
    return drawn


def reorder_form(
    context,
    action: str,
    name: str,
    first: bool,
    last: bool,
    target: str = "#main",
    swap: str = "innerHTML",
    autofocus: str = "",
) -> str:
    """A form that moves a thing of a list one place up or down: it works from the keyboard,
    and without JavaScript. `autofocus` ("up", "down"): the button pressed last, which keeps
    the focus (the other one where that one cannot move it further)."""
    action, name = escape(action), escape(name)
    up_focus = (autofocus == "up" and not first) or (autofocus == "down" and last)
    down_focus = (autofocus == "down" and not last) or (autofocus == "up" and first)
    return (
        f'<form method="post" action="{action}" data-hx-post="{action}" '
        f'data-hx-target="{escape(target)}" data-hx-swap="{escape(swap)}" '
        f'data-hx-push-url="false" class="reorder">\n{form_fields(context)}\n'
        f'<button type="submit" name="direction" value="up" class="icon-button"'
        f"{' disabled' if first else ''}{' data-autofocus' if up_focus else ''}>"
        f'<span aria-hidden="true">↑</span><span class="visually-hidden">Move {name} up</span>'
        f"</button>\n"
        f'<button type="submit" name="direction" value="down" class="icon-button"'
        f"{' disabled' if last else ''}{' data-autofocus' if down_focus else ''}>"
        f'<span aria-hidden="true">↓</span><span class="visually-hidden">Move {name} down</span>'
        f"</button>\n</form>"
    )


@register.simple_tag(takes_context=True)
def reorder(context, action: str, name: str, first: bool, last: bool, **options) -> SafeString:
    """`{% reorder move_url child.name forloop.first forloop.last %}`: reorder_form()."""
    return mark_safe(reorder_form(context, action, name, first, last, **options))


@register.simple_tag(takes_context=True)
def pager(context) -> SafeString:
    """`{% pager %}`: the pager of the list on the page (its `page` and `pager`, from
    opsmodel.paging.paginate)."""
    return drawn_pager(context["page"], context["pager"])


@register.filter
def markdown(text: str) -> SafeString:
    return render_markdown(text)


@register.filter
def minutes(value: int | None) -> str:
    """45 → "45 min", 90 → "1 h 30 min", 120 → "2 h"."""
    if not value:
        return ""
    hours, mins = divmod(int(value), 60)
    if not hours:
        return f"{mins} min"
    return f"{hours} h {mins} min" if mins else f"{hours} h"


@register.simple_tag
def due(date: datetime.date | None, today: datetime.date | None = None) -> SafeString | str:
    """A due date as people read it: "due Tue 2 Dec", marked when overdue or today (`today`:
    the local day, when the caller has it already)."""
    if date is None:
        return mark_safe('<span class="due due-none">No due date</span>')
    today = today or timezone.localdate()
    label = f"{date:%a} {date.day} {date:%b}"
    if date.year != today.year:
        label += f" {date.year}"
    iso = date.isoformat()
    if date < today:
        return format_html(
            '<span class="due due-overdue">Overdue · was due <time datetime="{}">{}</time></span>',
            iso,
            label,
        )
    if date == today:
        return mark_safe('<span class="due due-today">Due today</span>')
    return format_html('<span class="due">Due <time datetime="{}">{}</time></span>', iso, label)


@register.simple_tag
def options(choices, chosen) -> SafeString:
    """`<option>`s of (value, label) pairs, the one whose value is `chosen` selected: drawn in
    Python, where a template loop costs a few nodes for each of hundreds (systems, people)."""
    chosen = "" if chosen is None else str(chosen)
    drawn = []
    for value, label in choices:
        value = str(value)
        # html.escape is what Django's escape() runs, without its wrapping (hundreds of calls).
        text = label.__html__() if hasattr(label, "__html__") else html.escape(str(label))
        selected = " selected" if chosen and value == chosen else ""
        drawn.append(f'<option value="{html.escape(value)}"{selected}>{text}</option>')
    return mark_safe("".join(drawn))


@register.filter
def plural(count: int, words: str) -> str:
    """3|plural:"process,processes" → "3 processes"."""
    singular, _, many = words.partition(",")
    return f"{count} {singular if count == 1 else many}"


@register.simple_tag
def sparkline(cells, target, width: int = 150, height: int = 40) -> SafeString:
    """A small trend chart drawn on the server as SVG: the values, and the target dashed.

    `cells` have `.value` (None where nothing was recorded) and `.label`.
    """
    points = [(i, float(c.value)) for i, c in enumerate(cells) if c.value is not None]
    if not points:
        return mark_safe('<span class="muted small">No values yet</span>')
    pad = 4
    values = [v for _, v in points] + [float(target)]
    low, high = min(values), max(values)
    span = (high - low) or 1.0
    steps = max(len(cells) - 1, 1)

    def x(i: float) -> float:
        return pad + i * (width - 2 * pad) / steps

    def y(v: float) -> float:
        return height - pad - (v - low) * (height - 2 * pad) / span

    line = " ".join(f"{x(i):.1f},{y(v):.1f}" for i, v in points)
    last_i, last_v = points[-1]
    first_cell = next(c for c in cells if c.value is not None)
    description = (
        f"Trend from {first_cell.label} ({first_cell.value}) to {cells[last_i].label} "
        f"({cells[last_i].value}); target {target}"
    )
    return format_html(
        '<svg class="sparkline" viewBox="0 0 {w} {h}" width="{w}" height="{h}" role="img" '
        'aria-label="{d}"><line class="sparkline-target" x1="{p}" x2="{xe}" y1="{ty}" y2="{ty}"/>'
        '<polyline class="sparkline-line" points="{line}"/>'
        '<circle class="sparkline-last" cx="{lx}" cy="{ly}" r="2.5"/></svg>',
        w=width,
        h=height,
        d=description,
        p=pad,
        xe=width - pad,
        ty=f"{y(float(target)):.1f}",
        line=line,
        lx=f"{x(last_i):.1f}",
        ly=f"{y(last_v):.1f}",
    )


@register.filter
def number(value) -> str:
    """1234.50 → "1,234.5"; whole numbers without decimals."""
    if value is None or value == "":
        return ""
    text = f"{value:,.2f}".rstrip("0").rstrip(".")
    return text


@register.simple_tag
def owner(person) -> SafeString:
    """A person as an owner: initials, name linking to their page, and whether they have left.

    A tag rather than an included template: it is drawn once per row on long lists.
    """
    if person is None:
        return mark_safe('<span class="owner owner-none">No owner</span>')
    initials = ((person.first_name or person.username)[:1] + person.last_name[:1]).upper()
    url = person.get_absolute_url()
    inactive = (
        mark_safe(' <span class="badge badge-warning">owner inactive</span>')
        if not person.is_active
        else ""
    )
    url = escape(url)
    return mark_safe(
        f'<span class="owner{"" if person.is_active else " owner-inactive"}">'
        f'<span class="avatar" aria-hidden="true">{escape(initials)}</span>'
        f'<a href="{url}" data-hx-get="{url}">{escape(str(person))}</a>{inactive}</span>'
    )


@register.simple_tag(takes_context=True)
def breadcrumb_trail(context) -> SafeString:
    """The path to a page (includes/breadcrumbs.html, which each page includes with what it
    adds: `process`, linked when `sop` says the page is below it, and `current`), drawn in
    Python: a template of it cost as much as the rest of a page's header."""
    system, process = context.get("current_system"), context.get("process")
    current = context.get("current")
    home = address("home")
    drawn = [
        '<nav class="breadcrumbs" aria-label="Breadcrumb" data-current-system="'
        f'{escape(system.pk) if system is not None else ""}">\n  <ol>\n'
        f'    <li><a href="{home}" data-hx-get="{home}">Map</a></li>\n    '
    ]
    for ancestor in context.get("ancestors") or ():
        url = escape(ancestor.get_absolute_url())
        drawn.append(
            f'\n      <li><a href="{url}" data-hx-get="{url}">{conditional_escape(ancestor.name)}'
            "</a></li>\n    "
        )
    drawn.append("\n    ")
    if process:
        name = conditional_escape(process.name)
        if context.get("sop"):
            url = escape(process.get_absolute_url())
            drawn.append(f'<li><a href="{url}" data-hx-get="{url}">{name}</a></li>')
        else:
            drawn.append(f'<li aria-current="page">{name}</li>')
    drawn.append("\n    ")
    if current:
        drawn.append(f'<li aria-current="page">{conditional_escape(current)}</li>')
    drawn.append("\n  </ol>\n</nav>")
    return mark_safe("".join(drawn))


@register.simple_tag(takes_context=True)
def slot(context, name: str, *args) -> SafeString:
    """What a layer above draws in this place of the page (opsmodel.slots)."""
    return slots.render(name, context, *args)


def kept_drawing(
    context,
    key: tuple,
    draw: Callable[[], str],
    store: mapcache.Store = mapcache.FRAMES,
    topics: tuple[str, ...] = (mapcache.MAP,),
) -> SafeString:
    """What `draw()` draws of the page being drawn in `context`, kept (mapcache.kept_for_map,
    under `key` and `topics`): what it draws must be the same for every request with the same
    key. It is drawn with placeholders for the CSRF token and CSP nonce, and this request's own
    are put in each time (or the placeholders again, while a page is drawn to be kept: they
    are put in when it is served)."""

    def drawn() -> str:
        placeholders = {
            "csrf_token": mapcache.CSRF_PLACEHOLDER,
            "csp_nonce": mapcache.NONCE_PLACEHOLDER,
        }
        with context.push(placeholders):
            return draw()

    kept = mapcache.kept_for_map(key, drawn, store, topics)
    kept = kept.replace(mapcache.CSRF_PLACEHOLDER, str(context.get("csrf_token", "")))
    return mark_safe(kept.replace(mapcache.NONCE_PLACEHOLDER, str(context.get("csp_nonce", ""))))


class KeptForPersonNode(template.Node):
    def __init__(self, nodelist: template.NodeList, vary: list) -> None:
        self.nodelist, self.vary = nodelist, vary

    def render(self, context) -> SafeString:
        user = context.get("user")
        if user is None or not user.is_authenticated:
            return self.nodelist.render(context)
        key = ("person", id(self), user.pk, *(str(v.resolve(context)) for v in self.vary))
        return kept_drawing(context, key, lambda: self.nodelist.render(context))


@register.tag
def kept_for_person(parser, token) -> KeptForPersonNode:
    """`{% kept_for_person var … %}…{% endkept_for_person %}`: what is between, drawn once for
    each person, version of the map and value of each `var`, then kept (opsmodel.mapcache's
    kept_for_map, FRAMES), with this request's CSRF token and CSP nonce put in each time.

    For the frame of whole pages (the head's assets, the header, the sidebar's place), whose
    drawing cost a seventh of a page drawn afresh: what it shows must be the person's (their
    name, their permissions: a change to either changes the map's stamp), the map's, or a
    `var`. Never around anything a request changes otherwise: the one-time messages, the
    page's own content.
    """
    vary = [parser.compile_filter(bit) for bit in token.split_contents()[1:]]
    nodelist = parser.parse(("endkept_for_person",))
    parser.delete_first_token()
    return KeptForPersonNode(nodelist, vary)
