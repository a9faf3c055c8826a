import datetime

from django import template
from django.template.defaultfilters import truncatechars
from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe

from opsmodel import mapcache, slots
from opsmodel.addresses import address
from opsmodel.dates import format_date
from opsmodel.escaping import escape
from opsmodel.runs.models import UNDO_MINUTES, RunStep, late_on, may_run
from opsmodel.templatetags.opsmodel import due, form_fields, options, plural

register = template.Library()


@register.filter
def may_tick(step, user) -> bool:
    """{% if step|may_tick:user %}: the assignee or a founder ticks a step."""
    return step.may_tick(user)


@register.filter
def may_undo(step, user) -> bool:
    """{% if step|may_undo:user %}: who ticked it, soon after, or a founder takes it back.

    Offered for a while only (founders always): the page is kept no longer than that."""
    allowed = step.may_undo(user)
    if allowed and not may_run(user):
        mapcache.keep_until(step.done_at + datetime.timedelta(minutes=UNDO_MINUTES))
    return allowed


@register.filter
def lateness(days: int | None) -> str:
    """Typical days after the due date a step is done, in words."""
    if days is None:
        return "—"
    if days == 0:
        return "on its day"
    word = "day" if abs(days) == 1 else "days"
    return f"{days} {word} late" if days > 0 else f"{-days} {word} early"


@register.filter
def span(duration) -> str:
    """A timedelta in words, to the precision a person reads: "2 days 3 h", "45 min"."""
    if duration is None:
        return "—"
    minutes = int(duration.total_seconds() // 60)
    days, minutes = divmod(minutes, 24 * 60)
    hours, minutes = divmod(minutes, 60)
    if days:
        return f"{days} day{'s' if days != 1 else ''}" + (f" {hours} h" if hours else "")
    if hours:
        return f"{hours} h" + (f" {minutes} min" if minutes else "")
    return f"{minutes} min"


def hidden_fields(context, show_run: bool) -> str:
    """What each of a step's forms carries: the CSRF token, the page to come back to, and
    whether the row names its run (My work) when it is drawn again."""
    shown = '\n<input type="hidden" name="show_run" value="1">' if show_run else ""
    return form_fields(context) + shown


def step_form(context, view: str, step, show_run: bool, inside: str) -> str:
    """A form posting to `view` for `step` that replaces the step's row with its answer."""
    action = escape(address(view, step.pk))
    return (
        f'<form method="post" action="{action}" data-hx-post="{action}" '
        f'data-hx-target="#run-step-{step.pk}" data-hx-swap="outerHTML" '
        f'data-hx-push-url="false">\n{hidden_fields(context, show_run)}\n{inside}\n</form>'
    )


def step_actions(context, step, show_run: bool, focus: bool, problem) -> str:
    """Done, More… (a note, skip, give it to someone) for a step to do; Undo for one done."""
    user = context.get("user")
    name = escape(step.name)
    autofocus = " data-autofocus" if focus and not problem else ""
    if step.state == "todo" and step.run.state == "active":
        if not may_tick(step, user):
            return ""
        people = context.get("people")
        done = step_form(
            context, "runs:tick", step, show_run,
            f'<button class="button button-small" aria-label="Done: {name}"{autofocus}>'
            "Done</button>",
        )  # fmt: skip
        noted = step_form(
            context, "runs:tick", step, show_run,
            f'<label for="tick-note-{step.pk}">Done, with a note</label>\n'
            f'<input id="tick-note-{step.pk}" type="text" name="note" maxlength="300" '
            "required>\n"
            f'<button class="button button-small button-secondary" '
            f'aria-label="Done with this note: {name}">Done</button>',
        )  # fmt: skip
        skip = step_form(
            context, "runs:skip", step, show_run,
            f'<label for="skip-reason-{step.pk}">Why skip it?</label>\n'
            f'<input id="skip-reason-{step.pk}" type="text" name="reason" maxlength="300" '
            "required>\n"
            f'<button class="button button-small button-secondary" '
            f'aria-label="Skip it: {name}">Skip it</button>',
        )  # fmt: skip
        give = ""
        if people:
            choices = options(people, step.assignee_id)  # (id, name) each: runs.views.assignable
            give = "\n" + step_form(
                context, "runs:assign", step, show_run,
                f'<label for="assignee-{step.pk}">Give it, in this run, to</label>\n'
                f'<select id="assignee-{step.pk}" name="assignee">{choices}</select>\n'
                f'<button class="button button-small button-secondary" '
                f'aria-label="Give it: {name}">Give it</button>',
            )  # fmt: skip
        more = (
            f'<summary class="link-small" aria-label="More for {name}: a note, skip'
            f'{", give it to someone" if people else ""}…">More…</summary>'
        )
        return f'{done}\n<details class="run-step-skip">\n{more}\n{noted}\n{skip}{give}\n</details>'
    if step.state != "todo" and may_undo(step, user) and step.run.state != "cancelled":
        return step_form(
            context, "runs:undo", step, show_run,
            f'<button class="button button-small button-quiet" aria-label="Undo: {name}"'
            f"{autofocus}>Undo</button>",
        )  # fmt: skip
    return ""


# Each state as people read it ("To do", "Done", "Skipped"), escaped.
STATE_NAMES = {state: escape(label) for state, label in RunStep.State.choices}
LATE_BADGE = ' <span class="badge badge-warning">Late</span>'
# The mark beside a step done or skipped (one to do has an empty box).
TICKS = {"done": ("tick-done", "✓"), "skipped": ("tick-skipped", "–")}


@register.simple_tag(takes_context=True)
def run_step(context, step, show_run=None) -> SafeString:
    """One step of a run as a checklist row: its state, name, due day, who has it, its SOP and
    comments, who ticked it and when, and the buttons the person may press.

    `show_run`: name the run and its system (My work lists steps of many runs); by default as
    the context says. The row's `problem` and `focus` (after a press) come from the context.
    Drawn in Python: a run page and My work list dozens, each some 1,200 Python calls through
    a template.
    """
    if show_run is None:
        show_run = bool(context.get("show_run"))
    problem, focus = context.get("problem"), bool(context.get("focus"))
    today = timezone.localdate()
    state, name = step.state, escape(step.name)
    late = late_on(step.due_on, state, step.done_on, today)
    tick_class, tick_mark = TICKS.get(state, ("tick-open", ""))
    number = (
        ""
        if show_run
        else f'<span class="run-step-number" aria-hidden="true">{step.position}.</span> '
    )
    meta = []
    if show_run:
        run_url = escape(step.run.get_absolute_url())
        meta.append(
            f'<a href="{run_url}" data-hx-get="{run_url}">{escape(step.run.name)}</a>'
            f'<span class="muted">{escape(step.run.process.system.name)}</span>'
        )
    if state == "todo":
        meta.append(due(step.due_on, today))
    elif step.due_on:
        meta.append(
            f'<span class="due">was due <time datetime="{step.due_on:%Y-%m-%d}">'
            f"{format_date(step.due_on, 'D j M')}</time></span>"
        )
    if not show_run:
        who = (
            escape(str(step.assignee))
            if step.assignee
            else '<span class="owner-none">nobody assigned</span>'
        )
        meta.append(f'<span class="run-step-assignee">{who}</span>')
    if step.sop:
        sop_url = escape(address("runs:sop", step.pk))
        meta.append(
            f'<a class="run-step-sop no-print" href="{sop_url}" data-hx-get="{sop_url}" '
            f'aria-label="its SOP, {escape(step.sop.title)}">its SOP</a>'
        )
    meta.append(f'<span class="no-print">{slots.render("run-step-comments", context, step)}</span>')
    lines = [
        f'<li class="run-step run-step-{escape(state)}{" run-step-late" if late else ""}" '
        f'id="run-step-{step.pk}">',
        f'<span class="tick {tick_class}" aria-hidden="true">{tick_mark}</span>',
        '<div class="run-step-main">',
        f'<p class="run-step-name">{number}<span class="visually-hidden">'
        f"{STATE_NAMES[state]}: </span>{name}</p>",
        '<p class="meta">\n' + "\n".join(meta) + "\n</p>",
    ]
    if state != "todo":
        done_at = timezone.localtime(step.done_at) if step.done_at else None
        when = (
            f'<time datetime="{done_at:%Y-%m-%dT%H:%M:%S%z}">'
            f"{format_date(done_at, 'D j M, H:i')}</time>"
            if done_at
            else '<time datetime=""></time>'
        )
        by = escape(str(step.done_by)) if step.done_by else "someone"
        note = f" · “{escape(step.note)}”" if step.note else ""
        lines.append(
            f'<p class="run-step-who">{STATE_NAMES[state]} by {by}, {when}'
            f"{LATE_BADGE if late else ''}{note}</p>"
        )
    if problem:
        autofocus = ' tabindex="-1" data-autofocus' if focus else ""
        lines.append(f'<p class="field-error" role="alert"{autofocus}>{escape(problem)}</p>')
    lines.append("</div>")
    if step.run.state == "active" or state != "todo":
        actions = step_actions(context, step, show_run, focus, problem)
        lines.append(f'<div class="run-step-actions no-print">\n{actions}\n</div>')
    lines.append("</li>")
    return mark_safe("\n".join(lines))


@register.simple_tag
def run_card(row, show_process: bool = False) -> SafeString:
    """A run as a card (`row`: runs.views.Progress): its name and state, how far it has come,
    when it started, what is next or how long it took, and who is late; `show_process`: under
    its process and system (the runs across the map). Drawn in Python: the runs page lists 25."""
    run = row.run
    url = escape(run.get_absolute_url())
    name = escape(run.name)
    classes = "run-card"
    if row.overdue_steps:
        classes += " run-card-late"
    if run.state != "active":
        classes += f" run-card-{escape(run.state)}"
    if run.state == "active":
        badge = '<span class="badge badge-danger">Late</span>' if row.overdue_steps else ""
    elif run.state == "finished":
        badge = (
            '<span class="badge badge-warning">Finished late</span>'
            if row.late
            else '<span class="badge badge-ok">Finished on time</span>'
        )
    else:
        badge = '<span class="badge run-state-cancelled">Cancelled</span>'
    lines = [
        f'<li class="{classes}">',
        '<div class="run-card-head">',
        f'<h3 class="run-card-title"><a href="{url}" data-hx-get="{url}">{name}</a></h3>',
        badge,
        "</div>",
    ]
    if show_process:
        process = run.process
        process_url = escape(process.get_absolute_url())
        lines.append(
            f'<p class="run-card-process"><span class="eyebrow level-system">'
            f"{escape(process.system.name)}</span> "
            f'<a href="{process_url}" data-hx-get="{process_url}">{escape(process.name)}</a></p>'
        )
    done, total = row.done, row.total
    lines.append(
        f'<div class="run-progress-row">\n'
        f'<progress class="run-progress" max="{total}" value="{done}" '
        f'aria-label="Steps of {name} done">{done} of {total}</progress>\n'
        f'<span class="run-progress-label">{done} of {total}</span>\n</div>'
    )
    started = (
        f'<span>Started <time datetime="{run.starts_on:%Y-%m-%d}">'
        f"{format_date(run.starts_on, 'D j M')}</time></span>"
    )
    if run.state == "active":
        after = ""
        step = row.next_step
        if step:
            when = f" · {due(step.due_on, row.today)}" if step.due_on else ""
            after = f'<span class="run-card-next">Next: {escape(step.name)}{when}</span>'
    elif run.state == "finished":
        after = f"<span>Took {plural(row.took_days, 'day,days')}</span>"
    else:
        ended = format_date(timezone.localtime(run.ended_at), "D j M") if run.ended_at else ""
        after = f"<span>Cancelled {ended}</span>"
    lines.append(f'<p class="meta">\n{started}\n{after}\n</p>')
    if run.state == "active":
        late = row.late_people
        if late:
            people = ", ".join(escape(person) for person in late)
            lines.append(f'<p class="run-card-late-line">Late: {people}</p>')
    lines.append("</li>")
    return mark_safe("\n".join(lines))


@register.simple_tag
def runs_ended(runs) -> SafeString:
    """A process's last runs ended, a line each: on time or late (finished), or why it was
    cancelled, when it ended and how long it took. Drawn in Python, as the run cards are."""
    lines = []
    for run in runs:
        url = escape(run.get_absolute_url())
        ended = timezone.localtime(run.ended_at) if run.ended_at else None
        when = format_date(ended, "D j M") if ended else ""
        if run.state == "finished":
            badge = (
                '<span class="badge badge-warning">Finished late</span>'
                if run.ended_late
                else '<span class="badge badge-ok">On time</span>'
            )
            said = f"{when} · took {plural(run.took_days, 'day,days')}"
        else:
            badge = '<span class="badge run-state-cancelled">Cancelled</span>'
            said = f"{when} · “{escape(truncatechars(run.cancel_reason, 80))}”"
        lines.append(
            f'<li>\n<a href="{url}" data-hx-get="{url}">{escape(run.name)}</a>\n{badge}\n'
            f'<span class="muted">{said}</span>\n</li>'
        )
    return mark_safe("\n".join(lines))


@register.simple_tag
def figures_rows(steps) -> SafeString:
    """Each step's row of what a process's runs say (runs.stats.run_figures): how often it was
    done late, when it is typically done, how long it takes, and its SOP's sitting."""
    rows = []
    for step in steps:
        long = step.longer_than_estimated
        if step.estimate:
            badge = ' <span class="badge badge-warning">Takes longer</span>' if long else ""
            sitting = f"{escape(step.estimate)} min{badge}"
        else:
            sitting = '<span class="muted">—</span>'
        rows.append(
            f"<tr{' class="run-figures-long"' if long else ''}>\n"
            f'<th scope="row">{escape(step.position)}. {escape(step.name)}</th>\n'
            f"<td>{escape(step.late_runs)} of {len(step.lateness)}</td>\n"
            f"<td>{escape(lateness(step.typical_lateness))}</td>\n"
            f"<td>{escape(span(step.typical_time))}</td>\n"
            f"<td>{sitting}</td>\n</tr>"
        )
    return mark_safe("\n".join(rows))
