"""A process's steps, drawn in Python: `{% process_step step number first last %}`; and a
system's processes as cards, `{% process_cards processes can_reorder %}`.

A process page lists its steps, each with its owner, due day, SOP, comments and the buttons to
edit, move or delete it; drawn by a template with the reorder form included, a step cost some
1,200 Python calls, a fifth of drawing the page. Here it is a few formatted strings, the same
HTML the template drew.
"""

from __future__ import annotations

from collections.abc import Callable

from django import template
from django.utils.safestring import SafeString, mark_safe

from opsmodel import slots
from opsmodel.addresses import address
from opsmodel.escaping import escape
from opsmodel.mapcache import COMMENTS, MAP, Store, rights_of
from opsmodel.templatetags.opsmodel import kept_drawing, minutes, owner, plural, reorder_form

register = template.Library()


# A process's steps and its other SOPs as its page lists them, drawn once for each version of
# the map and the comments, and the rights of the person looking (kept_rows).
ROWS: Store[str] = Store(512)


def kept_rows(context, kind: str, draw: Callable[[], str]) -> SafeString:
    """What `draw()` draws of a process's page's rows of `kind`, when the page is looked at
    (a GET of its own address, without parameters: none can make the store churn) and lists
    them as kept (`rows_kept`: as views.kept_listed keeps them, none just added, saved or
    moved): drawn once for everyone with the same rights (what each may do to a row, whose
    comments each may see), version of the map and of the comments, then kept: a person's
    first look at the page, or a look after a tick or a value recorded, draws them no more.
    Else drawn now."""
    request = context["request"]
    if not context.get("rows_kept") or request.method != "GET" or request.GET:
        return mark_safe(draw())
    key = (kind, context["process"].pk, request.path, rights_of(request.user))
    return kept_drawing(context, key, draw, ROWS, (MAP, COMMENTS))


@register.simple_tag(takes_context=True)
def process_steps(context, steps) -> SafeString:
    """Each of the process's `steps` (process_step), in order."""
    last = len(steps)

    def draw() -> str:
        return "".join(
            process_step(context, step, number, number == 1, number == last)
            for number, step in enumerate(steps, 1)
        )

    return kept_rows(context, "steps", draw)


@register.simple_tag(takes_context=True)
def loose_sops(context, sops) -> SafeString:
    """Each of the process's SOPs that no step links (loose_sop), by title."""
    return kept_rows(context, "SOPs", lambda: "\n".join(loose_sop(context, sop) for sop in sops))


@register.simple_tag(takes_context=True)
def loose_sop(context, sop) -> SafeString:
    """An SOP of the process that no step links, as "Other SOPs in this process" lists it: its
    title linked, its owner, its sitting and its comments (the layer above's slot)."""
    url = escape(sop.get_absolute_url())
    who = escape(str(sop.owner)) if sop.owner else "no owner"
    sitting = f" · {minutes(sop.estimated_minutes)}" if sop.estimated_minutes else ""
    return mark_safe(
        f'<li><a href="{url}" data-hx-get="{url}">{escape(sop.title)}</a>\n'
        f'          <span class="muted">· {who}{sitting}</span>\n'
        f"          {slots.render('sop-comment-count', context, sop)}</li>"
    )


@register.simple_tag(takes_context=True)
def process_step(context, step, number: int, first: bool, last: bool) -> SafeString:
    """Step `number` of the process's steps (`steps` in the context), as the road shows it:
    marked when just added or saved (`added`, `saved`), with what the person may do to it."""
    user = context["user"]
    may_change = user.has_perm("processes.change_step")
    may_delete = user.has_perm("processes.delete_step")
    pk, name = step.pk, escape(step.name)
    just = step.pk in (context.get("added"), context.get("saved"))
    saved = step.pk == context.get("saved")
    if step.due_days is not None:
        due = f"Due {escape(step.due_text)}"
    else:
        due = '<span class="due due-none">No due day</span>'
    lines = [
        f'<li class="road-step{" just-changed" if just else ""}" id="step-{pk}" data-step="{pk}">',
        '<div class="step-top">',
        f'<p class="step-number" aria-hidden="true">{number}</p>',
    ]
    if may_change:
        lines.append(
            '<span class="drag-handle" aria-hidden="true" title="Drag to reorder">⠿</span>'
        )
    lines += [
        "</div>",
        f'<h3 tabindex="-1"{" data-autofocus" if saved else ""}><span class="visually-hidden">'
        f"Step {number}: </span>{name}</h3>",
        f'<p class="meta">{owner(step.owner)}</p>',
        f'<p class="meta">{due}</p>',
        f'<p class="meta step-comments">{slots.render("step-comments", context, step)}</p>',
    ]
    sop = getattr(step, "sop", None)
    if sop is not None:
        url = escape(sop.get_absolute_url())
        estimate = (
            f'<span class="muted">· {minutes(sop.estimated_minutes)}</span>'
            if sop.estimated_minutes
            else ""
        )
        lines.append(
            f'<p class="step-sop"><span class="visually-hidden">SOP: </span>'
            f'<a href="{url}" data-hx-get="{url}">{escape(sop.title)}</a>\n{estimate}\n'
            f"{slots.render('sop-comment-count', context, sop)}</p>"
        )
    else:
        write = ""
        if user.has_perm("sops.add_sop"):
            new = escape(f"{address('sops:new')}?process={step.process_id}&step={pk}")
            write = (
                f' · <a href="{new}" data-hx-get="{new}">Write the SOP'
                f'<span class="visually-hidden"> for {name}</span></a>'
            )
        lines.append(f'<p class="step-sop step-sop-missing">No SOP yet{write}</p>')
    if may_change or may_delete:
        actions = []
        if may_change:
            edit = escape(address("processes:edit_step", pk))
            actions.append(
                f'<a class="link-small" href="{edit}" data-hx-get="{edit}" '
                f'data-hx-target="#step-{pk}" data-hx-swap="innerHTML" data-hx-push-url="false">'
                f'Edit<span class="visually-hidden"> step {name}</span></a>'
            )
            if len(context.get("steps") or ()) > 1:
                actions.append(
                    reorder_form(
                        context,
                        address("processes:move_step", pk),
                        step.name,
                        first,
                        last,
                        target="#steps",
                        swap="outerHTML",
                        autofocus=getattr(step, "moved_direction", ""),
                    )
                )
        if may_delete:
            delete = escape(address("processes:delete_step", pk))
            actions.append(
                f'<a class="link-small link-danger" href="{delete}" data-hx-get="{delete}">'
                f'Delete<span class="visually-hidden"> step {name}</span></a>'
            )
        lines.append('<div class="step-actions">\n' + "\n".join(actions) + "\n</div>")
    lines.append("</li>")
    return mark_safe("\n".join(lines))


@register.simple_tag(takes_context=True)
def process_cards(context, processes: list, can_reorder: bool) -> SafeString:
    """A system's processes (processes.models.processes_in) as cards: each with its result,
    owner, how many of its steps have an SOP, and the form that moves it among the others."""
    movable = can_reorder and len(processes) > 1
    last = len(processes) - 1
    drawn = []
    for place, process in enumerate(processes):
        url, name = escape(process.get_absolute_url()), escape(process.name)
        steps, documented = process.step_count, process.documented_step_count
        result = f'<p class="result">{escape(process.result)}</p>' if process.result else ""
        progress = ""
        if steps:
            progress = (
                f'<p class="progress-label">{documented} of {steps} steps documented</p>'
                f'<meter min="0" max="{steps}" value="{documented}" '
                f'aria-label="Steps of {name} with an SOP">{documented} of {steps}</meter>'
            )
        move = address("processes:move", process.pk)
        reorder = (
            reorder_form(context, move, process.name, place == 0, place == last) if movable else ""
        )
        drawn.append(
            f'<li class="card card-process"><h3><a href="{url}" data-hx-get="{url}">{name}</a>'
            f'</h3>{result}<p class="meta">{owner(process.owner)} '
            f"<span>{plural(steps, 'step,steps')}</span></p>{progress}{reorder}</li>"
        )
    return mark_safe("".join(drawn))
