"""What comments draw on the pages of the layers below, in the places they leave for them
(opsmodel.slots): an SOP's and a process's thread on their pages, and the count of comments of
each step of a process and of a run (which link to each one's thread). The layers below name
only the places.

A page lists many steps; their counts come in one query for the page, not one each: the first
count drawn counts every step the page lists (its `steps`), and the rest are read from what
it kept on the request.
"""

from __future__ import annotations

from django.db.models import Exists, OuterRef
from django.utils.safestring import SafeString, mark_safe

from opsmodel import slots
from opsmodel.comments import threads
from opsmodel.comments.models import Comment
from opsmodel.comments.views import thread_context
from opsmodel.escaping import escape


@slots.fills("sop-comments")
def sop_comments(context, sop) -> tuple[str, dict]:
    return "comments/_thread.html", thread_context(context["request"], sop)


@slots.asks("processes.process", "has_comments")
def has_comments() -> Exists:
    """Whether a process has a thread (a comment, deleted or not): most have none."""
    return Exists(Comment.objects.filter(process=OuterRef("pk")))


@slots.fills("process-comments")
def process_comments(context, process) -> tuple[str, dict]:
    empty = not slots.has(process, "has_comments")
    return "comments/_thread.html", thread_context(context["request"], process, empty=empty)


def listed_sops(context) -> list:
    """The SOPs a process page lists: each step's, then the others of the process."""
    sops = [getattr(step, "sop", None) for step in context.get("steps") or []]
    return [sop for sop in sops if sop is not None] + list(context.get("loose_sops") or [])


# What a page lists of each kind, so that one query counts the comments of all of them.
LISTED = {
    "step": lambda context: context.get("steps") or [],
    # A run's steps; or on a page that lists them in groups (My work), all of them.
    "run_step": lambda context: context.get("run_steps_listed") or context.get("steps") or [],
    "sop": listed_sops,
}


# Kinds a page lists side by side, counted in the same query.
TOGETHER = {"step": ("step", "sop"), "sop": ("step", "sop")}


def count_of(context, item, field: str) -> int:
    request = context.get("request")
    kept = getattr(request, "comment_counts", None) if request is not None else None
    if kept is None:
        kept = {}
        if request is not None:
            request.comment_counts = kept
    if (field, item.pk) not in kept:
        # The kinds listed together (a process page's steps and their SOPs) in one query.
        wanted = {}
        for kind in TOGETHER.get(field, (field,)):
            listed = [getattr(one, "pk", None) for one in LISTED[kind](context)]
            wanted[kind] = {pk for pk in listed if pk is not None}
        wanted[field].add(item.pk)
        counts = threads.counts_of_many(wanted)
        kept.update(
            {(kind, pk): counts.get((kind, pk), 0) for kind in wanted for pk in wanted[kind]}
        )
    return kept[(field, item.pk)]


def count(context, item, field: str, *, only_if_any: bool = False) -> SafeString | None:
    """The link to an item's thread, with how many comments it has: drawn in Python, as a
    page lists dozens (a template each was a tenth of drawing My work)."""
    request = context.get("request")
    if request is None or not threads.may_see(request.user, item):
        return None
    number = count_of(context, item, field)
    if only_if_any and not number:
        return None
    url = escape(threads.thread_url(item))
    on = f'<span class="visually-hidden"> on {escape(threads.name_of(item))}</span>'
    text = f"{number} comment{'' if number == 1 else 's'}{on}" if number else f"Comment{on}"
    return mark_safe(
        f'<a class="comment-count link-small" href="{url}" data-hx-get="{url}">{text}</a>'
    )


@slots.fills("step-comments")
def step_comments(context, step) -> SafeString | None:
    return count(context, step, "step")


@slots.fills("run-step-comments")
def run_step_comments(context, step) -> SafeString | None:
    return count(context, step, "run_step")


@slots.fills("sop-comment-count")
def sop_comment_count(context, sop) -> SafeString | None:
    """Beside an SOP where a process page lists it: its count, when it has comments (its own
    page holds the thread and the box to start one)."""
    return count(context, sop, "sop", only_if_any=True)
