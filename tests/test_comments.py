"""Comments: on SOPs, processes, steps and run steps; one level of replies; edited and deleted
by their authors; resolved and reopened; @mentions that tell people; counts where items are
listed, in a fixed number of queries."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from opsmodel.comments import mentions, threads
from opsmodel.comments.models import Comment
from opsmodel.notify.models import Kind, Notification
from opsmodel.roles import TEAM_MEMBERS
from opsmodel.runs.models import Run
from tests import factories as make

pytestmark = pytest.mark.django_db


@pytest.fixture
def sop(founder):
    sop = make.SOPFactory(title="Recording a video", owner=founder)
    Notification.objects.all().delete()
    return sop


def new_url(target) -> str:
    return reverse("comments:new", args=[threads.kind_of(target).word, target.pk])


def page(client, url) -> str:
    response = client.get(url)
    assert response.status_code == 200
    return response.content.decode()


def told(person, kind) -> list[Notification]:
    return list(Notification.objects.filter(person=person, kind=kind))


# --- The model's rules -------------------------------------------------------------------------


def test_a_comment_is_about_exactly_one_thing(sop, member):
    step = make.StepFactory(process=sop.process)
    with pytest.raises(ValidationError):
        Comment(author=member, body="Hm", sop=sop, step=step).save()
    with pytest.raises(ValidationError):
        Comment(author=member, body="Hm").save()
    # The database holds the rule for what goes around save(): a bulk write, say.
    with pytest.raises(IntegrityError), transaction.atomic():
        Comment.objects.bulk_create([Comment(author=member, body="Hm", sop=sop, step=step)])


def test_a_reply_is_about_its_thread_and_a_reply_to_a_reply_is_refused(sop, member, founder):
    first = threads.post(sop, member, "Which microphone?")
    reply = threads.post(sop, founder, "The blue one.", parent=first)
    assert reply.sop == sop and reply.parent == first
    with pytest.raises(ValidationError, match="not to another reply"):
        threads.post(sop, member, "Thanks", parent=reply)
    with pytest.raises(ValidationError, match="not to another reply"):
        Comment(author=member, body="Thanks", parent=reply).save()
    # A reply is never resolved: only its thread is (the database says so too).
    with pytest.raises(IntegrityError), transaction.atomic():
        Comment.objects.filter(pk=reply.pk).update(resolved_at=timezone.now())


def test_a_deleted_item_takes_its_comments_with_it(sop, member):
    threads.post(sop, member, "A question")
    sop.delete()
    assert not Comment.objects.exists()


# --- Posting, by role --------------------------------------------------------------------------


def test_a_member_comments_on_an_sop_and_everyone_who_reads_it_sees_it(
    member_client, founder_client, sop
):
    response = member_client.post(new_url(sop), {"body": "Which **microphone** do we use?"})
    assert response.status_code == 302
    assert response["Location"] == sop.get_absolute_url() + "#comments"
    comment = Comment.objects.get()
    assert comment.sop == sop and comment.author.username == "member"
    shown = page(founder_client, sop.get_absolute_url())
    assert "Which <strong>microphone</strong> do we use?" in shown
    assert 'Comments <span class="count">1' in shown


def test_posting_from_htmx_draws_the_thread_again_and_says_so(member_client, sop):
    response = member_client.post(new_url(sop), {"body": "First"}, **make.HTMX)
    assert response.status_code == 200
    body = response.content.decode()
    assert body.lstrip().startswith('<section class="comments" id="comments-sop-')
    assert "First" in body and "Comment posted." in response["HX-Trigger"]


def test_a_comment_s_markdown_is_sanitised_like_an_sop_s(member_client, sop):
    member_client.post(new_url(sop), {"body": "<script>alert(1)</script> [x](javascript:alert(1))"})
    shown = page(member_client, sop.get_absolute_url())
    assert "<script>alert(1)" not in shown and 'href="javascript' not in shown
    assert "&lt;script&gt;" in shown


def test_people_without_a_role_neither_see_nor_comment(client, outsider, sop):
    client.force_login(outsider)
    assert client.post(new_url(sop), {"body": "Hello"}).status_code == 403
    assert client.get(reverse("comments:thread", args=["sop", sop.pk])).status_code == 403
    assert client.get(reverse("comments:people")).status_code == 403
    assert not Comment.objects.exists()


def test_comments_on_a_process_a_step_and_a_run_step(member_client, member, founder):
    step = make.StepFactory(owner=member, name="Filming")
    process = step.process
    run = Run.start(process, founder, timezone.localdate())
    run_step = run.steps.get()
    for target in (process, step, run_step):
        assert member_client.post(new_url(target), {"body": f"On {target}"}).status_code == 302
    assert "On " + str(process) in page(member_client, process.get_absolute_url())
    thread = reverse("comments:thread", args=["step", step.pk])
    assert f"On {step}" in page(member_client, thread)
    assert f"On {run_step}" in page(
        member_client, reverse("comments:thread", args=["run-step", run_step.pk])
    )
    # Each is listed with its count, linking to its thread.
    assert f'href="{thread}"' in page(member_client, process.get_absolute_url())
    run_page = page(member_client, run.get_absolute_url())
    assert "1 comment<span" in run_page


def test_an_unknown_kind_or_id_is_not_found(member_client, sop):
    assert member_client.get("/comments/system/1/").status_code == 404
    assert member_client.get("/comments/sop/999999/").status_code == 404
    assert member_client.get("/comments/sop/x/").status_code == 404


# --- Bad input: a clear message, nothing typed lost --------------------------------------------


def test_an_empty_comment_is_refused_and_the_thread_is_shown_again(member_client, sop):
    response = member_client.post(new_url(sop), {"body": "   \n "}, **make.HTMX)
    assert response.status_code == 400
    assert "Write something first: the comment is empty." in response.content.decode()
    plain = member_client.post(new_url(sop), {"body": ""})
    assert plain.status_code == 400 and "Write something first" in plain.content.decode()
    assert not Comment.objects.exists()


def test_a_comment_too_long_is_refused_with_what_was_typed(member_client, sop):
    typed = "Long words. " * 500
    response = member_client.post(new_url(sop), {"body": typed})
    body = response.content.decode()
    assert response.status_code == 400 and "at most 5,000 characters" in body
    assert typed.strip() in body


def test_a_mention_of_nobody_or_of_someone_who_left_is_refused_naming_them(member_client, sop):
    make.UserFactory(username="jonas", first_name="Jonas", is_active=False, roles=[TEAM_MEMBERS])
    typed = "Ask @ghost and @jonas about the lights"
    response = member_client.post(new_url(sop), {"body": typed}, **make.HTMX)
    body = response.content.decode()
    assert response.status_code == 400
    assert "Nobody here is called @ghost" in body
    assert "@jonas (Jonas" in body and "no longer works here" in body
    assert typed in body  # in the comment box, as typed
    assert not Comment.objects.exists()


def test_a_comment_mentions_at_most_twenty_people(member, sop):
    with pytest.raises(ValidationError, match="at most 20 people; this one mentions 21"):
        threads.post(sop, member, " ".join(f"@p{i}" for i in range(21)))


def test_a_comment_on_an_item_deleted_meanwhile_keeps_what_was_typed(member_client, sop):
    url = new_url(sop)
    sop.delete()
    response = member_client.post(url, {"body": "My long careful question"})
    body = response.content.decode()
    assert response.status_code == 410
    assert "This SOP was deleted while you were writing" in body
    assert "My long careful question" in body


def test_a_reply_to_a_comment_deleted_meanwhile_keeps_what_was_typed(member_client, founder, sop):
    first = threads.post(sop, founder, "Is this right?")
    url = reverse("comments:reply", args=[first.pk])
    threads.delete(first, founder)
    response = member_client.post(url, {"body": "Yes it is"}, **make.HTMX)
    assert response.status_code == 410 and "Yes it is" in response.content.decode()


# --- Replies, edits, deletes -------------------------------------------------------------------


def test_a_reply_goes_under_its_thread(member_client, founder, sop):
    first = threads.post(sop, founder, "Lights first?")
    response = member_client.post(
        reverse("comments:reply", args=[first.pk]), {"body": "Yes"}, **make.HTMX
    )
    assert response.status_code == 200
    reply = Comment.objects.get(parent=first)
    assert reply.author.username == "member" and reply.sop == sop
    assert 'class="comment-replies"' in response.content.decode()


def test_only_its_author_edits_a_comment(member_client, founder_client, member, sop):
    mine = threads.post(sop, member, "Frist")
    url = reverse("comments:edit", args=[mine.pk])
    form = member_client.get(url, **make.HTMX).content.decode()
    assert "Edit your comment" in form and ">Frist</textarea>" in form
    assert member_client.post(url, {"body": "First"}).status_code == 302
    mine.refresh_from_db()
    assert mine.body == "First" and mine.edited_at is not None
    assert founder_client.get(url).status_code == 403
    assert founder_client.post(url, {"body": "Mine now"}).status_code == 403
    refused = member_client.post(url, {"body": " "}, **make.HTMX)
    assert refused.status_code == 400 and "Write something first" in refused.content.decode()
    mine.refresh_from_db()
    assert mine.body == "First"


def test_deleting_a_comment_with_replies_leaves_a_placeholder(member_client, member, founder, sop):
    first = threads.post(sop, member, "Question")
    answer = threads.post(sop, founder, "Answer", parent=first)
    assert member_client.post(reverse("comments:delete", args=[first.pk])).status_code == 302
    first.refresh_from_db()
    assert first.is_deleted and first.body == ""
    shown = page(member_client, sop.get_absolute_url())
    assert "Deleted comment" in shown and "Answer" in shown and "Question" not in shown
    # The last reply gone, the placeholder goes with it.
    threads.delete(answer, founder)
    assert not Comment.objects.exists()


def test_a_member_deletes_only_their_own_and_a_founder_any(
    member_client, founder_client, member, founder, sop
):
    theirs = threads.post(sop, founder, "The founder's")
    mine = threads.post(sop, member, "Mine")
    assert member_client.post(reverse("comments:delete", args=[theirs.pk])).status_code == 403
    assert founder_client.post(reverse("comments:delete", args=[mine.pk])).status_code == 302
    assert list(Comment.objects.all()) == [theirs]


# --- Resolving ---------------------------------------------------------------------------------


def test_the_thread_s_author_the_owner_and_founders_resolve_and_reopen(
    client, member, founder, sop
):
    other = make.UserFactory(roles=[TEAM_MEMBERS])
    first = threads.post(sop, member, "Is the mic charged?")
    resolve = reverse("comments:resolve", args=[first.pk])
    client.force_login(other)
    assert client.post(resolve).status_code == 403
    client.force_login(member)
    assert client.post(resolve, **make.HTMX).status_code == 200
    first.refresh_from_db()
    assert first.resolved_by == member
    page_now = page(client, sop.get_absolute_url())
    assert "Resolved</span> by Sam Lee" in page_now and "Reopen" in page_now
    client.force_login(founder)  # the SOP's owner, and a founder
    assert client.post(reverse("comments:reopen", args=[first.pk])).status_code == 302
    first.refresh_from_db()
    assert first.resolved_at is None and first.resolved_by is None


def test_a_reply_is_not_resolved_on_its_own(member_client, member, founder, sop):
    first = threads.post(sop, member, "Q")
    reply = threads.post(sop, founder, "A", parent=first)
    assert member_client.post(reverse("comments:resolve", args=[reply.pk])).status_code == 404


# --- Mentions and who is told ------------------------------------------------------------------


def test_mentioned_people_and_the_owner_are_told_but_not_the_author(
    member_client, member, founder, sop
):
    jonas = make.UserFactory(username="jonas", first_name="Jonas", roles=[TEAM_MEMBERS])
    member_client.post(new_url(sop), {"body": "@Jonas can you check this? cc @member"})
    comment = Comment.objects.get()
    assert comment.body == "@jonas can you check this? cc @member"  # spelt as the username
    [mention] = told(jonas, Kind.MENTION)
    assert mention.subject == "Sam Lee mentioned you on the SOP “Recording a video”"
    assert mention.url == f"{sop.get_absolute_url()}#comment-{comment.pk}"
    [owner] = told(founder, Kind.COMMENT)
    assert owner.subject == "Sam Lee commented on the SOP “Recording a video”"
    assert not Notification.objects.filter(person=member).exists()
    # Drawn as links to their pages.
    shown = page(member_client, sop.get_absolute_url())
    assert f'<a class="mention" href="{jonas.get_absolute_url()}"' in shown


def test_an_owner_who_is_mentioned_is_told_once(member_client, founder, sop):
    member_client.post(new_url(sop), {"body": "@founder have a look"})
    assert len(told(founder, Kind.MENTION)) == 1 and told(founder, Kind.COMMENT) == []


def test_a_reply_tells_the_thread_s_author(member_client, founder_client, member, founder, sop):
    first = threads.post(sop, member, "Question")
    Notification.objects.all().delete()
    founder_client.post(reverse("comments:reply", args=[first.pk]), {"body": "Answer"})
    [note] = told(member, Kind.COMMENT)
    assert note.subject == "Maya Ortiz replied on the SOP “Recording a video”"
    assert told(founder, Kind.COMMENT) == []  # the owner wrote it


def test_an_edit_tells_only_whom_it_newly_mentions(member, founder, sop):
    jonas = make.UserFactory(username="jonas", roles=[TEAM_MEMBERS])
    comment = threads.post(sop, member, "cc @founder")
    threads.edit(comment, member, "cc @founder @jonas")
    assert len(told(founder, Kind.MENTION)) == 1 and len(told(jonas, Kind.MENTION)) == 1
    assert Notification.objects.filter(kind=Kind.COMMENT).count() == 0  # mentioned already


def test_a_run_step_s_comment_tells_its_assignee(member, founder):
    step = make.StepFactory(owner=member)
    run_step = Run.start(step.process, founder, timezone.localdate()).steps.get()
    Notification.objects.all().delete()
    threads.post(run_step, founder, "Shall I take it?")
    [note] = told(member, Kind.COMMENT)
    assert note.url.startswith(reverse("comments:thread", args=["run-step", run_step.pk]))


def test_mentions_inside_code_or_an_email_address_are_left_alone(member, founder, sop):
    assert mentions.usernames_in("mail maya@example.com, ask @founder. `@member`") == [
        "founder",
        "member",
    ]
    html = mentions.linked("<p>ask @founder</p><p><code>@founder</code></p>", {"founder": founder})
    assert html.count('class="mention"') == 1 and "<code>@founder</code>" in html


def test_the_suggestions_offer_active_people_by_name_or_username(member_client, founder):
    make.UserFactory(username="mara", first_name="Mara", is_active=False)
    found = member_client.get(reverse("comments:people"), {"q": "ma"}).json()["people"]
    assert found == [{"username": "founder", "name": "Maya Ortiz"}]
    everyone = member_client.get(reverse("comments:people")).json()["people"]
    assert "member" not in [p["username"] for p in everyone]  # not oneself


# --- Counts and queries ------------------------------------------------------------------------


def count_queries(client, url: str, **headers) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url, **headers).status_code == 200
    return len(captured)


def add_comments(targets, author, mentioned, n: int) -> None:
    """n comments on each target, each mentioning someone, half with a reply."""
    for target in targets:
        for i in range(n):
            first = threads.post(target, author, f"Note {i} for @{mentioned.username}")
            if i % 2:
                threads.post(target, mentioned, "Seen", parent=first)


@pytest.mark.parametrize("where", ["sop", "process", "run", "my_work"])
def test_each_page_runs_as_many_queries_with_forty_comments_as_with_one(where, member, founder):
    steps = [make.StepFactory(owner=member) for _ in range(1)]
    process = steps[0].process
    steps += [make.StepFactory(process=process, owner=member) for _ in range(3)]
    sop = make.SOPFactory(process=process, step=steps[0], owner=founder)
    run = Run.start(process, founder, timezone.localdate())
    client = Client()
    client.force_login(member)
    fresh = {"HTTP_CACHE_CONTROL": "no-cache"}
    url = {
        "sop": sop.get_absolute_url(),
        "process": process.get_absolute_url(),
        "run": run.get_absolute_url(),
        "my_work": reverse("front:my_work"),
    }[where]
    targets = {
        "sop": [sop],
        "process": [process, *steps],
        "run": list(run.steps.all()),
        "my_work": list(run.steps.all()),
    }[where]

    def queries():
        return count_queries(client, url), count_queries(client, url, **make.HTMX, **fresh)

    add_comments(targets, founder, member, 1)
    one = queries()
    add_comments(targets, founder, member, 39)
    assert Comment.objects.count() > 40 * len(targets)
    assert queries() == one
    if where in ("process", "run"):
        field = threads.kind_of(targets[-1]).field
        n = Comment.objects.filter(**{field: targets[-1]}).count()  # 40, and their replies
        assert f"{n} comments<span" in client.get(url).content.decode()


@pytest.mark.parametrize("where", ["process", "run", "my_work"])
def test_a_page_whose_rows_have_no_comments_counts_none_and_one_comment_brings_the_count(
    where, member, founder
):
    """The page reads, with its rows (a run step's `has_comments`) or with what holds them (a
    process's `has_comments_within`), whether any has a comment: most have none, and then no
    query counts them. One comment on one row brings back the one query that counts, and its
    count; a deleted comment counts as none."""
    step = make.StepFactory(owner=member, name="Filming")
    process = step.process
    later = make.StepFactory(process=process, owner=member, name="Editing")
    make.SOPFactory(process=process, step=step, owner=founder, title="How to film")
    run = Run.start(process, founder, timezone.localdate())
    url = {
        "process": process.get_absolute_url(),
        "run": run.get_absolute_url(),
        "my_work": reverse("front:my_work"),
    }[where]
    # The row that gets a comment: the last step (a run's copy of it on the run's pages).
    target = later if where == "process" else run.steps.get(name="Editing")
    client = Client()
    client.force_login(member)
    fresh = {"HTTP_CACHE_CONTROL": "no-cache"}

    def page() -> str:
        return client.get(url, **fresh).content.decode()

    assert 'Comment<span class="visually-hidden"> on Editing</span>' in page()
    none = count_queries(client, url, **fresh)
    first = threads.post(target, founder, "Which camera?")
    assert '1 comment<span class="visually-hidden"> on Editing</span>' in page()
    assert 'Comment<span class="visually-hidden"> on Filming</span>' in page()
    assert count_queries(client, url, **fresh) == none + 1
    threads.delete(first, founder)
    assert 'Comment<span class="visually-hidden"> on Editing</span>' in page()
    assert count_queries(client, url, **fresh) == none
    # Deleted but kept (as one with replies is, or as the admin may leave one): none either.
    kept = threads.post(target, founder, "Which lens?")
    Comment.objects.filter(pk=kept.pk).update(deleted_at=timezone.now())
    assert 'Comment<span class="visually-hidden"> on Editing</span>' in page()
    assert count_queries(client, url, **fresh) == none


def test_the_process_page_shows_each_listed_sops_count_in_the_same_query_as_its_steps(
    member, founder
):
    step = make.StepFactory(owner=member)
    process = step.process
    sop = make.SOPFactory(process=process, step=step, owner=founder, title="Filming")
    other = make.SOPFactory(process=process, owner=founder, title="Lighting")
    client = Client()
    client.force_login(member)
    page = client.get(process.get_absolute_url()).content.decode()
    assert "on Filming" not in page  # no comments: no count beside the SOP
    # Read with the process: none of its steps and SOPs has a comment, so none is counted.
    before = count_queries(client, process.get_absolute_url(), HTTP_CACHE_CONTROL="no-cache")
    add_comments([sop], founder, member, 2)
    add_comments([other], founder, member, 1)
    page = client.get(process.get_absolute_url(), HTTP_CACHE_CONTROL="no-cache").content.decode()
    assert '3 comments<span class="visually-hidden"> on Filming</span>' in page  # 2 and a reply
    assert '1 comment<span class="visually-hidden"> on Lighting</span>' in page
    # Now they are: the steps' and both SOPs' counts in one query.
    assert (
        count_queries(client, process.get_absolute_url(), HTTP_CACHE_CONTROL="no-cache")
        == before + 1
    )
