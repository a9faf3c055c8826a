"""Who may do what with comments, and the writes: post, reply, edit, delete, resolve, reopen.

Everyone who may see an item comments on it and replies (`sops.view_sop` for the map's SOPs,
processes and steps; `runs.view_runstep` for a run's steps). Only its author edits a comment.
Its author deletes it, and so do founders, to moderate: a founder answers for what the
business's map says. A thread is resolved or reopened by whoever opened it, the item's owner
(a run step's assignee) or a founder. "Founder" here is whoever may change SOPs, as it is
for suggested edits.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models, transaction
from django.db.models import Count, Q, QuerySet
from django.http import Http404
from django.utils import timezone

from opsmodel.access import get_or_404
from opsmodel.addresses import address
from opsmodel.comments import mentions
from opsmodel.comments.models import MAX_LENGTH, Comment, comment_posted
from opsmodel.models import tell
from opsmodel.prepared import prepared
from opsmodel.runs.models import RunStep
from processes.models import Process, Step
from sops.models import SOP

MODERATE = "sops.change_sop"


@dataclass(frozen=True)
class Kind:
    """One kind of thing a comment is about."""

    word: str  # in its URLs: /comments/run-step/3/
    field: str  # the comment's field that names it
    model: type[models.Model]
    sees: str  # the permission to see it, and so to comment on it
    called: str  # "the step", in sentences

    def related(self) -> list[str]:
        return {
            "sop": ["process__system", "owner"],
            "process": ["system", "owner"],
            "step": ["process__system", "owner"],
            "run_step": ["run__process__system", "assignee"],
        }[self.field]


KINDS = {
    kind.word: kind
    for kind in (
        Kind("sop", "sop", SOP, "sops.view_sop", "SOP"),
        Kind("process", "process", Process, "sops.view_sop", "process"),
        Kind("step", "step", Step, "sops.view_sop", "step"),
        Kind("run-step", "run_step", RunStep, "runs.view_runstep", "run step"),
    )
}
BY_FIELD = {kind.field: kind for kind in KINDS.values()}


def kind_of(target) -> Kind:
    return next(kind for kind in KINDS.values() if isinstance(target, kind.model))


def owner_of(target):
    """Who answers for it: its owner, or for a run's step, whoever it is given to."""
    return target.assignee if isinstance(target, RunStep) else target.owner


def name_of(target) -> str:
    return getattr(target, "title", None) or target.name


def page_of(target) -> str:
    """Where its thread is read: the SOP's or process's own page, or the thread's page for a
    step or a run step (their pages list many; each thread has a page of its own)."""
    if isinstance(target, SOP | Process):
        return target.get_absolute_url() + "#comments"
    return thread_url(target)


def place_of(target) -> str:
    """Where the item itself is shown: its page, or its row on its run's page."""
    if isinstance(target, RunStep):
        return f"{target.run.get_absolute_url()}#run-step-{target.pk}"
    return target.get_absolute_url()


def thread_url(target) -> str:
    return address("comments:thread", kind_of(target).word, target.pk)


def anchor(target) -> str:
    return f"comments-{kind_of(target).word}-{target.pk}"


def may_see(user, target) -> bool:
    return user.has_perm(kind_of(target).sees)


def may_edit(user, comment: Comment) -> bool:
    return not comment.is_deleted and comment.author_id == user.pk


def may_delete(user, comment: Comment) -> bool:
    if comment.is_deleted:
        return False
    return comment.author_id == user.pk or user.has_perm(MODERATE)


def may_resolve(user, comment: Comment, target) -> bool:
    """The thread's author, the item's owner, or a founder; only a thread's opening comment."""
    if comment.parent_id is not None:
        return False
    owner = owner_of(target)
    return (
        comment.author_id == user.pk
        or (owner is not None and owner.pk == user.pk)
        or user.has_perm(MODERATE)
    )


def target_of(user, word: str, pk) -> models.Model:
    """The item `word` `pk` for `user`: 404 if no such kind or item, 403 if they may not see
    it (asked first, so an id tells nobody without the right that it exists)."""
    kind = KINDS.get(word)
    if kind is None:
        raise Http404("Nothing of that kind takes comments")
    if not user.has_perm(kind.sees):
        raise PermissionDenied
    return get_or_404(kind.model.objects.select_related(*kind.related()), pk)


def checked(body: str) -> tuple[str, list]:
    """The text to keep, and the people it mentions; refused with what to change."""
    body = (body or "").strip()
    if not body:
        raise ValidationError("Write something first: the comment is empty.")
    if len(body) > MAX_LENGTH:
        raise ValidationError(
            f"A comment holds at most {MAX_LENGTH:,} characters; this one has {len(body):,}. "
            "Shorten it, or say the rest in a reply."
        )
    if "\x00" in body:
        raise ValidationError("The comment holds a NUL character, which text cannot: remove it.")
    return mentions.resolve(body)


def post(target, author, body: str, parent: Comment | None = None) -> Comment:
    """A new thread on `target`, or a reply to `parent` (a thread's opening comment)."""
    if not may_see(author, target):
        raise PermissionDenied("Only people who may see it comment on it.")
    body, mentioned = checked(body)
    with transaction.atomic():
        comment = Comment(author=author, body=body, parent=parent)
        setattr(comment, kind_of(target).field, target)
        comment.save()
        tell(comment_posted, sender=Comment, comment=comment, mentioned=mentioned, by=author)
    return comment


def edit(comment: Comment, by, body: str) -> Comment:
    """New words for your own comment; people newly mentioned are told (nobody twice)."""
    with transaction.atomic():
        locked = Comment.objects.select_for_update().get(pk=comment.pk)
        if not may_edit(by, locked):
            raise PermissionDenied("Only its author edits a comment.")
        body, mentioned = checked(body)
        locked.body, locked.edited_at = body, timezone.now()
        locked.save(update_fields=["body", "edited_at"])
        tell(comment_posted, sender=Comment, comment=locked, mentioned=mentioned, by=by)
    return locked


def delete(comment: Comment, by) -> None:
    """Gone, or, for a thread's opening comment that has replies, a placeholder that keeps
    them in their place. A placeholder whose last reply goes, goes too."""
    with transaction.atomic():
        locked = Comment.objects.select_for_update().filter(pk=comment.pk).first()
        if locked is None or locked.is_deleted:
            return  # deleted already: what was asked is done
        if not may_delete(by, locked):
            raise PermissionDenied("Only its author or a founder deletes a comment.")
        if locked.parent_id is None and locked.replies.exists():
            Comment.objects.filter(pk=locked.pk).update(body="", deleted_at=timezone.now())
            return
        locked.delete()
        if locked.parent_id is not None:
            Comment.objects.filter(pk=locked.parent_id, deleted_at__isnull=False).exclude(
                replies__isnull=False
            ).delete()


def resolve(comment: Comment, by, target, *, resolved: bool = True) -> None:
    if not may_resolve(by, comment, target):
        raise PermissionDenied("The thread's author, the owner or a founder resolves it.")
    changes = {"resolved_at": timezone.now(), "resolved_by": by} if resolved else {}
    changes = changes or {"resolved_at": None, "resolved_by": None}
    Comment.objects.filter(pk=comment.pk, parent__isnull=True).update(**changes)


@dataclass
class Thread:
    """The comments on one item, as its page draws them: each thread's opening comment with
    its replies (`.shown_replies`), and the people they mention (one query each)."""

    target: object
    comments: list[Comment]
    people: dict
    count: int
    open_count: int


@functools.cache
def comments_on(field: str) -> Callable[[int], list[Comment]]:
    """The comments on one item of a kind (`field`: "process", "sop"…), with their authors, in
    the order they were made: a query prepared once a kind."""

    def comments(pk: int) -> QuerySet[Comment]:
        return Comment.objects.filter(**{field: pk}).select_related("author", "resolved_by")

    comments.__qualname__ = f"comments_on({field!r})"
    return prepared(comments)


def thread_of(target, empty: bool = False) -> Thread:
    """Two queries at most, however many comments: the comments (with their authors), and
    the people they mention; none for a target known to have no comment (`empty`)."""
    rows = [] if empty else comments_on(kind_of(target).field)(target.pk)
    top = [row for row in rows if row.parent_id is None]
    replies: dict[int, list[Comment]] = {}
    for row in rows:
        if row.parent_id is not None:
            replies.setdefault(row.parent_id, []).append(row)
    for comment in top:
        comment.shown_replies = replies.get(comment.pk, [])
        for reply in comment.shown_replies:
            reply.parent = comment  # no query to ask its thread
    people = mentions.people_named(row.body for row in rows)
    count = sum(1 for row in rows if not row.is_deleted)
    open_count = sum(1 for c in top if not c.is_resolved)
    return Thread(target, top, people, count, open_count)


@functools.cache
def counts_on(fields: tuple[str, ...]) -> Callable[..., list[tuple]]:
    """The counts of comments (not deleted) on items of some kinds, by lists of their ids in
    the order of `fields`, as rows (one id of each kind, the count): a query prepared once for
    each set of kinds."""

    def counted(*ids: list[int]) -> QuerySet:
        which = Q()
        for field, some in zip(fields, ids, strict=True):
            which |= Q(**{f"{field}__in": some})
        shown = Comment.objects.shown().filter(which).values(*fields)
        return shown.annotate(n=Count("pk")).values_list(*fields, "n")

    counted.__qualname__ = f"counts_on({fields!r})"
    return prepared(counted)


def counts_of_many(wanted: dict[str, set]) -> dict[tuple[str, int], int]:
    """How many comments (not deleted) each item has, for items of several kinds at once
    ({"step": ids, "sop": ids}): one query, however many. Keyed (kind, id)."""
    wanted = {field: sorted(ids) for field, ids in wanted.items() if ids}
    if not wanted:
        return {}
    rows = counts_on(tuple(wanted))(*wanted.values())
    counts: dict[tuple[str, int], int] = {}
    for *keys, n in rows:
        for field, key in zip(wanted, keys, strict=True):
            if key is not None:  # a comment is about one item: one key of its row is set
                counts[(field, key)] = counts.get((field, key), 0) + n
    return counts
