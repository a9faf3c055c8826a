"""What happens that people are told of, as it happens (alerts), written in the transaction of the
change itself: a change that rolls back tells nobody.

The layers below send signals (`opsmodel.models.saved` and `handed_over`, the runs' `run_started`
and `step_given`); this module turns them into notifications. Nobody is told of what they did
themselves, a person who has left is told nothing, and nobody is told of what they may not see.
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from opsmodel.comments import threads
from opsmodel.dates import format_date
from opsmodel.notify.models import Email, Kind, Notification, preferences_of
from opsmodel.runs.models import RunStep
from sops.models import SOP, Acknowledgement

# What a person must be allowed to see to be told of each kind.
SEES = {
    Kind.ASSIGNED: "runs.view_runstep",
    Kind.OWNER: "sops.view_sop",  # the map: every role that reads it reads all of it
    Kind.REREAD: "sops.view_sop",
    Kind.SUGGESTION: "sops.view_sop",
    # A comment's: the map's (a run step's comments pass `sees="runs.view_runstep"`).
    Kind.MENTION: "sops.view_sop",
    Kind.COMMENT: "sops.view_sop",
}


MODEL_BACKEND = "django.contrib.auth.backends.ModelBackend"


def one_line(text: str, limit: int) -> str:
    """Names people typed (a run's, an SOP's) may hold line breaks: a subject holds none."""
    return " ".join(text.split())[:limit]


def tell_all(
    people, kind: str, key: str, subject: str, *, text="", url="", by=None, sees=""
) -> int:
    """Notify each of `people` (a queryset of users) of one event, at most once each (`key`
    names the event), in two queries however many they are. Told are those who work here, may
    see what it is about (`sees`, a permission, when the kind's own `SEES` is not it), and did
    not do it themselves. Returns how many were told."""
    may_see = get_user_model().objects.with_perm(sees or SEES[kind], backend=MODEL_BACKEND)
    told = people.filter(is_active=True, pk__in=may_see.values("pk"))
    if by is not None:
        told = told.exclude(pk=by.pk)
    made = []
    for person in told.select_related("notify_preferences"):
        wants = bool(person.email) and preferences_of(person).emails(kind)
        made.append(
            Notification(
                person=person,
                kind=kind,
                key=key[:120],
                subject=one_line(subject, 200),
                text=one_line(text, 2000),
                url=url,
                by=by,
                email=Email.PENDING if wants else Email.NONE,
            )
        )
    # The same event told twice (a retried task) is written once: the unique key says so.
    Notification.objects.bulk_create(made, ignore_conflicts=True)
    if any(note.email == Email.PENDING for note in made):
        from opsmodel.notify.tasks import send_soon

        transaction.on_commit(send_soon)
    return len(made)


def tell(person, kind: str, key: str, subject: str, **kwargs) -> int:
    """Notify one person (see `tell_all`)."""
    if person is None:
        return 0
    return tell_all(get_user_model().objects.filter(pk=person.pk), kind, key, subject, **kwargs)


def called(instance) -> str:
    """An object as a sentence names it: the SOP “Film the video”."""
    return f"the {instance._meta.verbose_name} “{instance}”"


def on_saved(sender, instance, stored, by, **kwargs) -> None:
    """A map object (or a tool) saved: its new owner is told, and so, for an SOP with new
    instructions, is everyone who confirmed an earlier edition."""
    owner_id = getattr(instance, "owner_id", None)
    if owner_id and owner_id != getattr(stored, "owner_id", None):
        owner = get_user_model().objects.get(pk=owner_id)
        what = called(instance)
        # A map object has a version and a page; a tool has neither: it is listed on its
        # owner's page.
        version = getattr(instance, "version", None) or timezone.now().isoformat()
        page = getattr(instance, "get_absolute_url", owner.get_absolute_url)
        tell(
            owner,
            Kind.OWNER,
            f"owner:{instance._meta.label_lower}:{instance.pk}:{version}",
            f"You own {what} now",
            text=f"{by} made you the owner of {what}." if by else f"You are the owner of {what}.",
            url=page(),
            by=by,
        )
    if isinstance(instance, SOP) and stored is not None and instance.edition > stored.edition:
        readers = get_user_model().objects.filter(
            pk__in=Acknowledgement.objects.filter(sop=instance).values("person")
        )
        tell_all(
            readers,
            Kind.REREAD,
            f"reread:{instance.pk}:{instance.edition}",
            f"Read again: “{instance.title}” has new instructions",
            text=f"You confirmed you had read “{instance.title}”; its instructions changed "
            f"(edition {instance.edition}). Read them and confirm again.",
            url=instance.get_absolute_url(),
            by=by,
        )


def on_handed_over(sender, person, other, by, moved, **kwargs) -> None:
    """Everything `person` owned went to `other`: one notification, not one per item."""
    if moved:
        things = "thing" if moved == 1 else "things"
        tell(
            other,
            Kind.OWNER,
            f"handover:{person.pk}:{other.pk}:{timezone.now().isoformat()}",
            f"{person}'s work is yours now: {moved} {things}",
            text=f"Everything {person} owned went to you ({moved} {things}), "
            "and the steps they had to do in runs under way.",
            url=other.get_absolute_url(),
            by=by,
        )


def on_run_started(sender, run, by, **kwargs) -> None:
    """Each person with steps in a new run is told once, with their first due date."""
    mine: dict[int, list[RunStep]] = {}
    for step in run.steps.select_related("assignee").order_by("position"):
        if step.assignee_id:
            mine.setdefault(step.assignee_id, []).append(step)
    for steps in mine.values():
        names = ", ".join(f"“{step.name}”" for step in steps[:3])
        more = f" and {len(steps) - 3} more" if len(steps) > 3 else ""
        due = [step.due_on for step in steps if step.due_on]
        when = f" The first is due {format_date(min(due), 'D j M')}." if due else ""
        count = f"{len(steps)} step{'s' if len(steps) > 1 else ''}"
        tell(
            steps[0].assignee,
            Kind.ASSIGNED,
            f"run:{run.pk}:started",
            f"{count} for you in {run.name}",
            text=f"{run.name} has started. Yours: {names}{more}.{when}",
            url=run.get_absolute_url(),
            by=by,
        )


def on_step_given(sender, step, by, **kwargs) -> None:
    run = step.run
    due = f" It is due {format_date(step.due_on, 'D j M')}." if step.due_on else ""
    tell(
        step.assignee,
        Kind.ASSIGNED,
        f"runstep:{step.pk}:to:{step.assignee_id}:{timezone.now().isoformat()}",
        f"“{step.name}” in {run.name} is yours",
        text=f"{by} gave you the step “{step.name}” of {run.name}.{due}",
        url=run.get_absolute_url(),
        by=by,
    )


def on_suggestion_made(sender, suggestion, **kwargs) -> None:
    """The SOP's owner reviews it; with no owner who works here, the founders do."""
    sop, author = suggestion.sop, suggestion.author
    owner = sop.owner if sop.owner and sop.owner.is_active else None
    users = get_user_model().objects
    if owner:
        reviewers = users.filter(pk=owner.pk)
    else:
        reviewers = users.filter(pk__in=users.with_perm("sops.change_sop", backend=MODEL_BACKEND))
    tell_all(
        reviewers,
        Kind.SUGGESTION,
        f"suggestion:{suggestion.pk}:made",
        f"{author} suggests an edit to “{sop.title}”",
        text=f"“{suggestion.note}”" if suggestion.note else "Review it: approve or decline.",
        url=suggestion.get_absolute_url(),
        by=author,
    )


def on_suggestion_decided(sender, suggestion, by, **kwargs) -> None:
    approved = suggestion.state == suggestion.State.APPROVED
    title = suggestion.sop.title
    tell(
        suggestion.author,
        Kind.SUGGESTION,
        f"suggestion:{suggestion.pk}:{suggestion.state}",
        f"Your edit to “{title}” was {'approved' if approved else 'declined'}",
        text=f"{by} published it." if approved else f"{by} declined it: {suggestion.reason}",
        url=suggestion.sop.get_absolute_url() if approved else suggestion.get_absolute_url(),
        by=by,
    )


def on_comment_posted(sender, comment, mentioned, by, **kwargs) -> None:
    """The people a comment mentions are told so; the item's owner, and for a reply the
    thread's author, are told of a comment on what is theirs. Each once: a mention says it
    all, and an edit tells only whom it newly mentions (the keys are the comment's)."""
    target = comment.target
    kind = threads.kind_of(target)
    name = threads.name_of(target)
    author = by or "Someone"
    excerpt = one_line(comment.body, 300)
    url = threads.page_of(target).split("#")[0] + f"#comment-{comment.pk}"
    users = get_user_model().objects
    mentioned_ids = [person.pk for person in mentioned]
    if mentioned_ids:
        tell_all(
            users.filter(pk__in=mentioned_ids),
            Kind.MENTION,
            f"mention:{comment.pk}",
            f"{author} mentioned you on the {kind.called} “{name}”",
            text=excerpt,
            url=url,
            by=by,
            sees=kind.sees,
        )
    if comment.edited_at is not None:
        return  # an edit is news only to whom it newly mentions
    owner = threads.owner_of(target)
    concerned = {owner.pk} if owner is not None else set()
    if comment.parent_id is not None and comment.parent.author_id:
        concerned.add(comment.parent.author_id)
    concerned -= set(mentioned_ids)
    if concerned:
        what = "replied on" if comment.parent_id else "commented on"
        tell_all(
            users.filter(pk__in=concerned),
            Kind.COMMENT,
            f"comment:{comment.pk}",
            f"{author} {what} the {kind.called} “{name}”",
            text=excerpt,
            url=url,
            by=by,
            sees=kind.sees,
        )
