"""What comments draw on the pages of the layers below, in the places they leave for them
(opsmodel.slots): an SOP's and a process's thread on their pages, and the count of comments of
each step of a process and of a run (which link to each one's thread). The layers below name
only the places.

A page lists many steps; their counts come in one query for the page, not one each: the first
count drawn counts every step the page lists (its `steps`), and the rest are read from what
it kept on the request. Most have no comment at all: what the page read with its rows says so
(opsmodel.slots.asks: a run step's `has_comments`; a process's `has_comments_within`, for its
steps and SOPs), and those are not counted; a page none of whose rows has any asks nothing.
"""

from __future__ import annotations

from django.db.models import Exists, OuterRef, Q
from django.utils.safestring import SafeString, mark_safe

from opsmodel import slots
from opsmodel.comments import threads
from opsmodel.comments.models import Comment
from opsmodel.comments.views import thread_context
from opsmodel.escaping import escape


@slots.fills("sop-comments")
def sop_comments(context, sop) -> tuple[str, dict]:
    empty = not slots.has(sop, "has_comments")
    return "comments/_thread.html", thread_context(context["request"], sop, empty=empty)


@slots.asks("sops.sop", "has_comments")
def sop_has_comments() -> Exists:
    """Whether an SOP has a thread (a comment, deleted or not): most have none."""
    return Exists(Comment.objects.filter(sop=OuterRef("pk")))


@slots.asks("processes.process", "has_comments")
def has_comments() -> Exists:
    """Whether a process has a thread (a comment, deleted or not): most have none."""
    return Exists(Comment.objects.filter(process=OuterRef("pk")))


def any_comment_on(target: str) -> Exists:
    """Whether the object `target` names, from the object read (OuterRef), has a comment that
    is not deleted (one a count counts)."""
    return Exists(Comment.objects.shown().filter(**{target: OuterRef("pk")}))


@slots.asks("processes.process", "has_comments_within")
def has_comments_within() -> Q:
    """Whether any step or SOP of a process has a comment: its page counts them only if so."""
    return any_comment_on("step__process") | any_comment_on("sop__process")


@slots.asks("runs.runstep", "has_comments")
def run_step_has_comments() -> Exists:
    """Whether a step of a run has a comment: most have none."""
    return any_comment_on("run_step")


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


# What holds the items of a kind on a page that lists them, as the page's context names it.
HELD_BY = {"step": "process", "sop": "process"}


def said_to_have_none(context, item, kind: str) -> bool:
    """Whether the page read, with the item or with what holds it, that it has no comments."""
    if not slots.has(item, "has_comments"):
        return True
    holder = context.get(HELD_BY.get(kind, ""))
    return (
        holder is not None
        and not slots.has(holder, "has_comments_within")
        and getattr(item, f"{HELD_BY[kind]}_id", None) == holder.pk
    )


def count_of(context, item, field: str) -> int:
    request = context.get("request")
    kept = getattr(request, "comment_counts", None) if request is not None else None
    if kept is None:
        kept = {}
        if request is not None:
            request.comment_counts = kept
    if (field, item.pk) not in kept:
        # The kinds listed together (a process page's steps and their SOPs) in one query.
        # Of those the page read as having none, none are asked for.
        wanted: dict[str, set] = {}
        for kind in TOGETHER.get(field, (field,)):
            wanted[kind] = set()
            for one in (*LISTED[kind](context), *([item] if kind == field else [])):
                if getattr(one, "pk", None) is None:
                    continue
                if said_to_have_none(context, one, kind):
                    kept[(kind, one.pk)] = 0
                else:
                    wanted[kind].add(one.pk)
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
