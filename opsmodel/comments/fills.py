"""What comments draw on the pages of the layers below, in the places they leave for them
(opsmodel.slots): an SOP's and a process's thread on their pages, and the count of comments of
each step of a process and of a run (which link to each one's thread). The layers below name
only the places.

A page lists many steps; their counts come in one query for the page, not one each: the first
count drawn counts every step the page lists (its `steps`), and the rest are read from what
it kept on the request.
"""

from __future__ import annotations

from opsmodel import slots
from opsmodel.comments import threads
from opsmodel.comments.views import thread_context


@slots.fills("sop-comments")
def sop_comments(context, sop) -> tuple[str, dict]:
    return "comments/_thread.html", thread_context(context["request"], sop)


@slots.fills("process-comments")
def process_comments(context, process) -> tuple[str, dict]:
    return "comments/_thread.html", thread_context(context["request"], process)


def count_of(context, item, field: str) -> int:
    request = context.get("request")
    kept = getattr(request, "comment_counts", None) if request is not None else None
    if kept is None:
        kept = {}
        if request is not None:
            request.comment_counts = kept
    if (field, item.pk) not in kept:
        listed = [getattr(one, "pk", None) for one in context.get("steps") or []]
        ids = {item.pk, *(pk for pk in listed if pk is not None)}
        counts = threads.counts_for(field, ids)
        kept.update({(field, pk): counts.get(pk, 0) for pk in ids})
    return kept[(field, item.pk)]


def count(context, item, field: str) -> tuple[str, dict] | None:
    request = context.get("request")
    if request is None or not threads.may_see(request.user, item):
        return None
    return "comments/_count.html", {
        "count": count_of(context, item, field),
        "url": threads.thread_url(item),
        "name": threads.name_of(item),
    }


@slots.fills("step-comments")
def step_comments(context, step) -> tuple[str, dict] | None:
    return count(context, step, "step")


@slots.fills("run-step-comments")
def run_step_comments(context, step) -> tuple[str, dict] | None:
    return count(context, step, "run_step")
