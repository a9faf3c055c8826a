"""My work's groups, drawn in Python: `work_group(group)` (`{% work_group group %}` in a
template), each page of them drawn once for each version of the map (people.drawn_groups).

A page of My work lists dozens of steps and SOPs; drawn by the template, each row cost some
1,500 Python calls (its variables, filters and links), most of drawing the page afresh. Here
each group is a few formatted strings, the same HTML the template drew: its process (a link)
and system, the steps the person owns there (when each falls due in a run, its SOP) and their
SOPs (to read, their review overdue). Everything typed into the map is escaped.
"""

from __future__ import annotations

from django import template
from django.utils.safestring import SafeString, mark_safe

from opsmodel.escaping import escape

register = template.Library()


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
