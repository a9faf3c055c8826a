"""My work's groups, drawn in Python: `work_group(group)` (`{% work_group group %}` in a
template), each page of them drawn once for each version of the map and of the read
confirmations (people.drawn_groups).

A page of My work lists dozens of steps and SOPs; drawn by the template, each row cost some
1,500 Python calls (its variables, filters and links), most of drawing the page afresh. Here
each group is a few formatted strings, the same HTML the template drew: its process (a link)
and system, the steps the person owns there (when each falls due in a run, its SOP) and their
SOPs (to read, their review overdue). Everything typed into the map is escaped.
"""

from __future__ import annotations

from django import template
from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe

from opsmodel import mapcache, slots
from opsmodel.escaping import escape
from opsmodel.runs.templatetags.runs import run_step
from opsmodel.templatetags.opsmodel import kept_drawing

register = template.Library()

# Each person's rows of steps to do in runs (drawn_run_steps), under what they are drawn from.
RUN_STEPS: mapcache.Store[str] = mapcache.Store(512)


def drawn_from(step) -> tuple:
    """All a row of My work's steps to do (run_step, show_run) is drawn from: what My work
    reads of the step (people.run_steps_to_do), its run and the run's system, and what the
    layers above asked of it (slots.asked: whether it has comments)."""
    run = step.run
    asked = tuple(getattr(step, name, None) for name in slots.asked_names("runs.runstep"))
    sop = (step.sop_id, step.sop.title) if step.sop_id else None
    return (
        *(step.pk, step.state, step.name, step.position, step.due_on, step.done_on),
        *(step.assignee_id, sop, run.pk, run.name, run.state, run.process.system.name, asked),
    )


@register.simple_tag(takes_context=True)
def drawn_run_steps(context, steps) -> SafeString:
    """A person's rows of steps to do in runs under way, as My work lists them (run_step,
    naming the run), drawn once for the same rows of the same person at the same address on
    the same day, until the map or the comments change (what the person may do to each, their
    counts of comments): My work drawn again after a tick elsewhere draws none of its rows.
    Each request's own CSRF token is put into their forms (kept_drawing)."""

    def draw() -> str:
        return "".join(run_step(context, step, True) for step in steps)

    request, user = context.get("request"), context.get("user")
    if request is None or user is None or context.get("problem") or context.get("focus"):
        return mark_safe(draw())
    today = timezone.localdate()
    key = (
        *("my run steps", user.pk, request.get_full_path(), today),
        tuple(drawn_from(step) for step in steps),
    )
    return kept_drawing(context, key, draw, RUN_STEPS, (mapcache.MAP, mapcache.COMMENTS))


@register.simple_tag
def work_group(group: dict) -> SafeString:
    """One process's group of My work (opsmodel.front.people.page_of_work)."""
    process = group["process"]
    pk = process.pk
    url = escape(process.get_absolute_url())
    drawn = [
        f'<section class="work-group" aria-labelledby="group-{pk}">'
        f'<p class="eyebrow level-process">{escape(process.system.name)}</p>'
        f'<h2 id="group-{pk}" class="section-title work-title">'
        f'<a href="{url}" data-hx-get="{url}">{escape(process.name)}</a></h2>'
    ]
    if group["steps"]:
        drawn.append('<h3 class="work-subtitle">Your steps</h3><ul class="work-list" role="list">')
        drawn.extend(step_row(url, step) for step in group["steps"])
        drawn.append("</ul>")
    if group["sops"]:
        drawn.append('<h3 class="work-subtitle">Your SOPs</h3><ul class="work-list" role="list">')
        drawn.extend(sop_row(sop) for sop in group["sops"])
        drawn.append("</ul>")
    drawn.append("</section>")
    return mark_safe("".join(drawn))


def step_row(process_url: str, step) -> str:
    """A step the person owns: when it falls due in each run, and its SOP if it has one."""
    url = f"{process_url}#step-{step.pk}"  # Step.get_absolute_url, its process's known
    due = f"Each run: due {escape(step.due_text)}" if step.due_days is not None else "No due day"
    sop = ""
    its_sop = getattr(step, "sop", None)  # (a step without one raises, as a reverse one-to-one)
    if its_sop is not None:
        sop_url = escape(its_sop.get_absolute_url())
        sop = (
            f' · <a href="{sop_url}" data-hx-get="{sop_url}">its SOP'
            f'<span class="visually-hidden">, {escape(its_sop.title)}</span></a>'
        )
    return (
        f'<li><span><a href="{url}" data-hx-get="{url}">{escape(step.name)}</a></span>'
        f'<span class="meta">{due}{sop}</span></li>'
    )


def sop_row(sop) -> str:
    """An SOP of the person's: whether they have read its edition, whether its review is
    overdue, and the way to each."""
    url = escape(sop.get_absolute_url())
    title = escape(sop.title)
    badges = ""
    if sop.to_read:
        badges += ' <span class="badge badge-info">To read</span>'
    if sop.review_due:
        badges += ' <span class="badge badge-danger">Review overdue</span>'
    review = (
        f'<a href="{url}#review">Review it<span class="visually-hidden">: {title}</span></a> · '
        if sop.review_due
        else ""
    )
    reading = (
        f'<a href="{url}#reading" data-hx-get="{url}">Read it and confirm'
        f'<span class="visually-hidden">: {title}</span></a>'
        if sop.to_read
        else '<span class="status status-ok">Read ✓</span>'
    )
    return (
        f'<li><span><a href="{url}" data-hx-get="{url}">{title}</a>{badges}</span>'
        f'<span class="meta">{review}{reading}</span></li>'
    )
