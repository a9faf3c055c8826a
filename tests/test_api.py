"""The REST API: tokens, the same permissions as the app, problem details, pages, throttling."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from opsmodel.api.models import Token, digest_of
from opsmodel.runs.models import Run, RunStep
from processes.models import Metric, MetricValue
from processes.periods import code, period_start
from tests.factories import SOPFactory, StepFactory, UserFactory

pytestmark = pytest.mark.django_db


def bearer(secret: str) -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {secret}"}


@pytest.fixture
def member_token(member):
    return Token.make(member, "Member's script", "write")[1]


@pytest.fixture
def member_reader(member):
    return Token.make(member, "Member's reader", "read")[1]


@pytest.fixture
def founder_token(founder):
    return Token.make(founder, "Founder's script", "write")[1]


@pytest.fixture
def run_of(member):
    step = StepFactory(owner=member, name="Filming")
    StepFactory(process=step.process, owner=None, name="Editing")
    return Run.start(step.process, None, timezone.localdate())


def this_week() -> str:
    return code("weekly", period_start("weekly", timezone.localdate()))


# ---------------------------------------------------------------------------------------------
# Tokens


def test_a_person_makes_a_token_on_their_page_sees_it_once_and_it_is_stored_hashed(
    member_client, member
):
    page = member_client.get("/people/member/")
    assert "Make a token" in page.content.decode()
    response = member_client.post("/tokens/", {"name": "Shop sales", "scope": "write"})
    assert response.status_code == 201
    assert response["Cache-Control"] == "no-store"
    token = Token.objects.get(person=member)
    secret = response.context["secret"]
    assert secret.startswith("opm_") and secret in response.content.decode()
    assert token.digest == digest_of(secret) and secret not in (token.digest, token.shown)
    assert token.shown == secret[:12] and token.scope == "write"
    # Never shown again: the list says how it starts, not what it is.
    listed = member_client.get("/tokens/").content.decode()
    assert "Shop sales" in listed and f"{token.shown}…" in listed and secret not in listed
    # And it works, as the member.
    me = member_client.get("/api/me", **bearer(secret)).json()
    assert me["username"] == "member" and me["scope"] == "write"


def test_a_token_without_a_name_is_refused_with_a_message_and_nothing_made(member_client):
    response = member_client.post("/tokens/", {"name": "  ", "scope": "write"})
    assert response.status_code == 400
    assert "This field is required." in response.content.decode()
    assert not Token.objects.exists()


def test_revoking_a_token_ends_it_and_nobody_revokes_anothers(
    member_client, member, founder, founder_token
):
    token, secret = Token.make(member, "Old script")
    assert member_client.get("/api/me", **bearer(secret)).status_code == 200
    founders = Token.objects.get(person=founder)
    assert member_client.post(f"/tokens/{founders.pk}/revoke/").status_code == 404
    assert member_client.post(f"/tokens/{token.pk}/revoke/").status_code == 302
    answer = member_client.get("/api/me", **bearer(secret))
    assert answer.status_code == 401
    assert answer["Content-Type"] == "application/problem+json"
    assert answer["WWW-Authenticate"].startswith("Bearer")
    assert "make one on your page" in answer.json()["detail"]
    assert member_client.get("/api/me", **bearer(founder_token)).status_code == 200


def test_a_person_who_left_has_no_working_tokens(client, member, member_token):
    member.is_active = False
    member.save()
    assert client.get("/api/me", **bearer(member_token)).status_code == 401


def test_the_apitoken_command_prints_a_token_for_scripts(client, founder):
    out = io.StringIO()
    call_command("apitoken", "founder", "--scope", "write", stdout=out)
    secret = out.getvalue().strip()
    assert client.get("/api/me", **bearer(secret)).json()["scope"] == "write"
    with pytest.raises(Exception, match="Nobody has the username"):
        call_command("apitoken", "nobody", stdout=io.StringIO())


def test_no_token_a_malformed_one_or_a_session_is_not_enough(client, member_client):
    assert client.get("/api/systems").status_code == 401
    assert client.get("/api/systems", **bearer("opm_nonsense")).status_code == 401
    assert client.get("/api/systems", HTTP_AUTHORIZATION="Basic abc").status_code == 401
    assert (
        member_client.get("/api/systems").status_code == 401
    )  # cookies are the app's, not the API's


# ---------------------------------------------------------------------------------------------
# The same permissions as the app


def test_a_read_token_reads_and_may_not_write(client, member_reader, run_of):
    step = run_of.steps.get(name="Filming")
    assert client.get("/api/runs", **bearer(member_reader)).status_code == 200
    answer = client.post(
        f"/api/run-steps/{step.pk}/tick",
        {},
        content_type="application/json",
        **bearer(member_reader),
    )
    assert answer.status_code == 403
    assert "may only read" in answer.json()["detail"]
    step.refresh_from_db()
    assert step.state == "todo"


def test_the_assignee_ticks_their_step_once_and_a_second_tick_is_a_conflict(
    client, member, member_token, run_of
):
    step = run_of.steps.get(name="Filming")
    url = f"/api/run-steps/{step.pk}/tick"
    answer = client.post(
        url, {"note": "Two takes"}, content_type="application/json", **bearer(member_token)
    )
    assert answer.status_code == 200
    assert answer.json()["state"] == "done" and answer.json()["done_by"]["username"] == "member"
    step.refresh_from_db()
    assert (step.state, step.done_by, step.note) == ("done", member, "Two takes")
    again = client.post(url, {}, content_type="application/json", **bearer(member_token))
    assert again.status_code == 409
    assert "already done this step" in again.json()["detail"]


def test_a_team_member_may_not_tick_anothers_step_nor_start_a_run(client, member_token, run_of):
    editing = run_of.steps.get(name="Editing")
    answer = client.post(
        f"/api/run-steps/{editing.pk}/tick",
        {},
        content_type="application/json",
        **bearer(member_token),
    )
    assert answer.status_code == 403
    assert "Only its assignee or a founder" in answer.json()["detail"]
    started = client.post(
        "/api/runs",
        {"process": run_of.process_id},
        content_type="application/json",
        **bearer(member_token),
    )
    assert started.status_code == 403
    assert Run.objects.count() == 1


def test_a_founder_starts_a_run_and_skips_a_step_with_a_reason(client, founder_token, run_of):
    answer = client.post(
        "/api/runs",
        {"process": run_of.process_id, "name": "Video #7"},
        content_type="application/json",
        **bearer(founder_token),
    )
    assert answer.status_code == 201
    body = answer.json()
    assert body["name"] == "Video #7" and [s["name"] for s in body["steps"]] == [
        "Filming",
        "Editing",
    ]
    step = RunStep.objects.get(pk=body["steps"][1]["id"])
    url = f"/api/run-steps/{step.pk}/skip"
    refused = client.post(
        url, {"reason": " "}, content_type="application/json", **bearer(founder_token)
    )
    assert refused.status_code == 422
    assert refused.json()["errors"] == [
        {"field": "reason", "message": "Say why the step is skipped."}
    ]
    done = client.post(
        url, {"reason": "No edit needed"}, content_type="application/json", **bearer(founder_token)
    )
    assert done.status_code == 200 and done.json()["state"] == "skipped"


def test_a_run_too_far_ahead_is_refused_with_the_field_named(client, founder_token, run_of):
    answer = client.post(
        "/api/runs",
        {"process": run_of.process_id, "starts_on": "2099-01-01"},
        content_type="application/json",
        **bearer(founder_token),
    )
    assert answer.status_code == 422
    assert answer.json()["errors"][0]["field"] == "starts_on"


def test_my_steps_due_today(client, member, member_token, run_of):
    run_of.steps.filter(name="Filming").update(due_on=timezone.localdate())
    answer = client.get("/api/run-steps?assignee=me&due=today", **bearer(member_token))
    assert [s["name"] for s in answer.json()["items"]] == ["Filming"]
    bad = client.get("/api/run-steps?due=soon", **bearer(member_token))
    assert bad.status_code == 422 and "due is one of" in bad.json()["detail"]


def test_a_metrics_owner_records_a_value_as_on_the_scorecard(client, member, member_token, founder):
    step = StepFactory()
    mine = Metric.objects.create(
        process=step.process, name="Videos", target=2, cadence="weekly", owner=member
    )
    theirs = Metric.objects.create(
        process=step.process, name="Views", target=2, cadence="weekly", owner=founder
    )
    url = f"/api/metrics/{mine.pk}/values"
    answer = client.post(
        url,
        {"period": this_week(), "value": "1,500"},
        content_type="application/json",
        **bearer(member_token),
    )
    assert answer.status_code == 200
    assert answer.json()["period"] == this_week() and answer.json()["value"] == "1500.00"
    assert MetricValue.objects.get(metric=mine).recorded_by == member
    # Bad input names each field and says what to write; nothing is stored.
    bad = client.post(
        url,
        {"period": "2026-13", "value": "1,5"},
        content_type="application/json",
        **bearer(member_token),
    )
    assert bad.status_code == 422
    fields = {e["field"]: e["message"] for e in bad.json()["errors"]}
    assert "write it like" in fields["period"] and "decimals with a point" in fields["value"]
    # Someone else's metric is theirs (and founders') to record.
    other = client.post(
        f"/api/metrics/{theirs.pk}/values",
        {"period": this_week(), "value": "3"},
        content_type="application/json",
        **bearer(member_token),
    )
    assert other.status_code == 403
    assert MetricValue.objects.count() == 1
    listed = client.get(url, **bearer(member_token)).json()
    assert listed["count"] == 1 and listed["items"][0]["value"] == "1500.00"


def test_an_outsider_without_a_role_reads_nothing(client, outsider):
    secret = Token.make(outsider, "Curious")[1]
    for url in [
        "/api/systems",
        "/api/processes",
        "/api/sops",
        "/api/runs",
        "/api/metrics",
        "/api/people",
    ]:
        answer = client.get(url, **bearer(secret))
        assert answer.status_code == 403, url
    assert client.get("/api/me", **bearer(secret)).status_code == 200


# ---------------------------------------------------------------------------------------------
# Lists, the schema, the docs, throttling


def test_lists_paginate_and_say_the_count(client, member_token):
    SOPFactory.create_batch(7)
    first = client.get("/api/sops?page_size=5", **bearer(member_token)).json()
    second = client.get("/api/sops?page_size=5&page=2", **bearer(member_token)).json()
    assert first["count"] == second["count"] == 7
    assert len(first["items"]) == 5 and len(second["items"]) == 2
    assert not {s["id"] for s in first["items"]} & {s["id"] for s in second["items"]}
    huge = client.get("/api/sops?page_size=100000", **bearer(member_token))
    assert huge.status_code == 200  # capped at 200, not refused


@pytest.mark.parametrize(
    "url",
    [
        "/api/systems",
        "/api/processes",
        "/api/sops",
        "/api/runs",
        "/api/run-steps",
        "/api/metrics",
        "/api/software",
        "/api/people",
    ],
)
def test_a_list_costs_the_same_queries_whatever_its_length(client, member, member_token, url):
    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(url, **bearer(member_token)).status_code == 200
        return len(captured)

    step = StepFactory(owner=member)
    SOPFactory(process=step.process, step=step, owner=member)
    Run.start(step.process, None, timezone.localdate())
    UserFactory()
    queries()  # the token's first use is written down; later ones within a minute are not
    small = queries()
    for _ in range(4):
        step = StepFactory(owner=UserFactory())
        SOPFactory(process=step.process, step=step, owner=step.owner)
        Run.start(step.process, None, timezone.localdate())
    assert queries() == small


def test_the_schema_is_public_and_the_docs_page_lists_every_operation(client, member_client):
    schema = client.get("/api/openapi.json").json()
    assert schema["openapi"].startswith("3.")
    assert "/api/run-steps/{pk}/tick" in schema["paths"]
    problem = schema["paths"]["/api/run-steps/{pk}/tick"]["post"]["responses"]["409"]
    assert "application/problem+json" in problem["content"]
    docs = member_client.get("/api/docs/")
    assert docs.status_code == 200
    text = docs.content.decode()
    for path in schema["paths"]:
        assert f"<code>{path}</code>" in text
    assert client.get("/api/docs/").status_code == 302  # the docs are a page of the app


def test_requests_beyond_the_rate_get_429_with_retry_after(client, settings, member_token):
    settings.API_RATE = "3/m"
    answers = [client.get("/api/me", **bearer(member_token)) for _ in range(4)]
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    assert int(answers[-1]["Retry-After"]) > 0
    assert "Too many requests" in answers[-1].json()["detail"]


@pytest.mark.parametrize("url", ["/tokens/", "/api/docs/", "/people/member/"])
def test_the_tokens_and_docs_pages_cost_the_same_queries_with_many_tokens(
    member_client, member, url
):
    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert member_client.get(url).status_code == 200
        return len(captured)

    Token.make(member, "One")
    one = queries()
    for n in range(12):
        Token.make(member, f"Script {n}")
    assert queries() == one


# ---------------------------------------------------------------------------------------------
# Changes to the map, as the edit forms make them


def patch(client, url: str, data: dict, secret: str):
    return client.patch(url, data, content_type="application/json", **bearer(secret))


def test_a_founder_changes_an_sop_from_the_version_read_and_history_keeps_it(
    client, founder, founder_token
):
    from opsmodel.models import Revision

    sop = SOPFactory(title="Filming", body="1. Charge the camera.")
    read = client.get(f"/api/sops/{sop.pk}", **bearer(founder_token)).json()
    answer = patch(
        client,
        f"/api/sops/{sop.pk}",
        {"version": read["version"], "title": "Filming outside", "owner": founder.pk},
        founder_token,
    )
    assert answer.status_code == 200
    body = answer.json()
    assert body["title"] == "Filming outside" and body["version"] == read["version"] + 1
    assert body["body"] == "1. Charge the camera."  # what was not sent stays as it was
    sop.refresh_from_db()
    assert (sop.title, sop.owner) == ("Filming outside", founder)
    assert Revision.objects.filter(object_id=sop.pk, changed_by=founder).exists()


def test_a_change_from_an_old_version_is_a_conflict_and_changes_nothing(client, founder_token):
    sop = SOPFactory(title="Filming")
    version = sop.version
    sop.title = "Filming, lit"
    sop.save()  # someone else saved meanwhile
    answer = patch(
        client, f"/api/sops/{sop.pk}", {"version": version, "title": "Mine"}, founder_token
    )
    assert answer.status_code == 409
    assert f"it is at version {version + 1}" in answer.json()["detail"]
    sop.refresh_from_db()
    assert sop.title == "Filming, lit"


def test_bad_changes_name_the_field_and_team_members_change_nothing(
    client, founder_token, member_token, outsider
):
    step = StepFactory(name="Filming")
    url = f"/api/steps/{step.pk}"
    empty = patch(client, url, {"version": step.version, "name": ""}, founder_token)
    assert empty.status_code == 422
    assert empty.json()["errors"][0]["field"] == "name"
    outsider.is_active = False
    outsider.save()
    left = patch(client, url, {"version": step.version, "owner": outsider.pk}, founder_token)
    assert left.status_code == 422 and left.json()["errors"][0]["field"] == "owner"
    refused = patch(client, url, {"version": step.version, "name": "Mine"}, member_token)
    assert refused.status_code == 403
    step.refresh_from_db()
    assert step.name == "Filming"
    renamed = patch(client, url, {"version": step.version, "name": "Filming, lit"}, founder_token)
    assert renamed.status_code == 200 and renamed.json()["name"] == "Filming, lit"


def test_a_system_and_a_process_change_through_the_api(client, founder_token):
    from tests.factories import ProcessFactory, SoftwareFactory

    process = ProcessFactory(name="Videos")
    system = process.system
    tool = SoftwareFactory()
    answer = patch(
        client,
        f"/api/systems/{system.pk}",
        {"version": system.version, "purpose": "Leads, weekly", "software": [tool.pk]},
        founder_token,
    )
    assert answer.status_code == 200 and answer.json()["software"] == [tool.pk]
    moved = patch(
        client,
        f"/api/processes/{process.pk}",
        {"version": process.version, "result": "Two videos a week"},
        founder_token,
    )
    assert moved.status_code == 200 and moved.json()["result"] == "Two videos a week"


def test_a_reviewed_sops_instructions_change_only_through_a_suggestion(client, founder_token):
    sop = SOPFactory(body="1. Open the books.")
    system = sop.process.system
    system.reviews_sop_changes = True
    system.save()
    answer = patch(
        client,
        f"/api/sops/{sop.pk}",
        {"version": sop.version, "body": "1. Skip it."},
        founder_token,
    )
    assert answer.status_code == 422
    assert answer.json()["errors"][0]["field"] == "body"
    assert "suggest" in answer.json()["detail"].lower()
    sop.refresh_from_db()
    assert sop.body == "1. Open the books."


def test_lists_give_what_changed_since_a_moment(client, founder_token, member):
    import datetime

    from django.utils.http import urlencode

    old, changed = SOPFactory(title="Old"), SOPFactory(title="Changed")
    moment = timezone.now()
    SOP = type(old)
    SOP.objects.filter(pk__in=[old.pk, changed.pk]).update(
        updated_at=moment - datetime.timedelta(hours=1)
    )
    changed.refresh_from_db()
    changed.title = "Changed again"
    changed.save()
    query = urlencode({"updated_since": moment.isoformat()})
    found = client.get(f"/api/sops?{query}", **bearer(founder_token)).json()
    assert [s["title"] for s in found["items"]] == ["Changed again"]
    assert found["items"][0]["updated_at"] >= moment.isoformat()[:19]
    everything = client.get("/api/sops", **bearer(founder_token)).json()
    assert everything["count"] == 2
    # Runs and their steps: what started, finished or was ticked since.
    step = StepFactory(owner=member)
    run = Run.start(step.process, None, timezone.localdate())
    later = urlencode(
        {"updated_since": (timezone.now() + datetime.timedelta(minutes=1)).isoformat()}
    )
    assert client.get(f"/api/runs?{later}", **bearer(founder_token)).json()["count"] == 0
    assert client.get(f"/api/runs?{query}", **bearer(founder_token)).json()["count"] == 1
    run.steps.get().tick(member)
    ticked = client.get(f"/api/run-steps?state=any&{query}", **bearer(founder_token)).json()
    assert ticked["count"] == 1
    bad = client.get("/api/sops?updated_since=yesterday", **bearer(founder_token))
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "updated_since"


def test_comments_on_an_sop_are_read_and_written_as_in_the_app(client, member, member_token):
    from opsmodel.comments.models import Comment

    sop = SOPFactory()
    url = f"/api/sops/{sop.pk}/comments"
    first = client.post(
        url, {"body": "Which mic?"}, content_type="application/json", **bearer(member_token)
    )
    assert first.status_code == 201 and first.json()["author"]["username"] == "member"
    reply = client.post(
        url,
        {"body": "The red one.", "parent": first.json()["id"]},
        content_type="application/json",
        **bearer(member_token),
    )
    assert reply.status_code == 201 and reply.json()["parent_id"] == first.json()["id"]
    empty = client.post(
        url, {"body": "  "}, content_type="application/json", **bearer(member_token)
    )
    assert empty.status_code == 422 and empty.json()["errors"][0]["field"] == "body"
    listed = client.get(url, **bearer(member_token)).json()
    assert [c["body"] for c in listed["items"]] == ["Which mic?", "The red one."]
    assert Comment.objects.count() == 2


def test_suggestions_are_seen_by_their_author_the_sops_owner_and_founders(
    client, member, member_token, founder_token
):
    from sops import suggestions

    mine = SOPFactory(owner=None)
    suggestion = suggestions.suggest(
        mine, member, mine.version, {**suggestions.values_of(mine), "title": "Better"}
    )
    other = UserFactory(username="other", roles=["Team members"])
    others_token = Token.make(other, "Other's")[1]
    assert (
        client.get("/api/suggestions", **bearer(member_token)).json()["items"][0]["id"]
        == suggestion.pk
    )
    assert client.get("/api/suggestions", **bearer(founder_token)).json()["count"] == 1
    assert client.get("/api/suggestions", **bearer(others_token)).json()["count"] == 0
    waiting = client.get("/api/suggestions?state=waiting", **bearer(founder_token)).json()
    assert waiting["items"][0]["proposed"] == {"title": "Better"}
