"""Every URL of the project against every role, taken from the URLconf itself.

A URL pattern added without an entry here fails `test_every_url_is_in_the_matrix`.
"""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone

from opsmodel import history
from opsmodel.api.models import Delivery, Endpoint, Token
from opsmodel.comments import threads
from opsmodel.comments.models import Comment
from opsmodel.notify.mail import unsubscribe_token
from opsmodel.notify.models import Notification
from opsmodel.roles import ADMINS
from opsmodel.runs.models import Run, Schedule, weekday_bits
from processes.models import Metric
from processes.periods import code, period_start
from sops import attachments, suggestions
from tests.factories import SoftwareFactory, SOPFactory, StepFactory, UserFactory

pytestmark = pytest.mark.django_db

ROLES = ["anonymous", "member", "founder", "staff"]
READ = {"anonymous": 302, "member": 200, "founder": 200, "staff": 200}
FOUNDERS_ONLY = {"anonymous": 302, "member": 403, "founder": 200, "staff": 403}
FOUNDERS_WRITE = {"anonymous": 302, "member": 403, "founder": 302, "staff": 403}
# For founders only, and of another session (an upload, a report): not found.
FOUNDERS_ELSEWHERE = {"anonymous": 302, "member": 403, "founder": 404, "staff": 403}
# A run step's assignee (the member) and founders: the row in place, or back to the run.
ASSIGNEE = {"anonymous": 302, "member": (302, 200), "founder": (302, 200), "staff": 403}
# Writes answered in place for htmx (the changed region) and by a redirect for a plain form.
FOUNDERS_WRITE_IN_PLACE = {"anonymous": 302, "member": 403, "founder": (302, 200), "staff": 403}
# A suggestion (the member's own): seen by its author and founders; decided by founders only.
SEEN = {"anonymous": 302, "member": 200, "founder": 200, "staff": 404}
REVIEWER = {"anonymous": 302, "member": 403, "founder": 302, "staff": 404}
SIGNED_IN = {"anonymous": 302, "member": 200, "founder": 200, "staff": 200}
# Everyone who sees an item comments on it; only its author (the member) edits a comment.
COMMENTER = {"anonymous": 302, "member": (302, 200), "founder": (302, 200), "staff": (302, 200)}
AUTHOR = {"anonymous": 302, "member": 200, "founder": 403, "staff": 403}
# People's accounts: admins only (staff), founders and members refused.
ADMINS_ONLY = {"anonymous": 302, "member": 403, "founder": 403, "staff": 200}
ADMINS_WRITE = {"anonymous": 302, "member": 403, "founder": 403, "staff": 302}
# One's own (the member's): anyone else's is not found.
OWN = {"anonymous": 302, "member": 302, "founder": 404, "staff": 404}
# Software: founders and admins add and change tools (in the app and, for admins, the admin).
TOOL_WRITERS = {"anonymous": 302, "member": 403, "founder": 200, "staff": 200}


def matrix(o) -> dict[str, tuple[str, str, dict, dict]]:
    """URL name → (method, url, data, expected status for each role)."""
    s, p, st, sop, m = (o[k].pk for k in ["system", "process", "step", "sop", "metric"])
    up = {"direction": "up"}
    two = {"from": "1", "to": "2"}
    week = code("weekly", period_start("weekly", timezone.localdate()))
    return {
        "home": ("get", reverse("home"), {}, READ),
        "systems:tree": ("get", reverse("systems:tree"), {}, READ),
        "systems:new": ("get", reverse("systems:new"), {}, FOUNDERS_ONLY),
        "systems:detail": ("get", reverse("systems:detail", args=[s]), {}, READ),
        "systems:branch": ("get", reverse("systems:branch", args=[s]), {}, READ),
        "systems:edit": ("get", reverse("systems:edit", args=[s]), {}, FOUNDERS_ONLY),
        "systems:delete": ("get", reverse("systems:delete", args=[s]), {}, FOUNDERS_ONLY),
        "systems:move": ("post", reverse("systems:move", args=[s]), up, FOUNDERS_WRITE),
        "systems:history": ("get", reverse("systems:history", args=[s]), {}, READ),
        "systems:compare": ("get", reverse("systems:compare", args=[s]), two, READ),
        "systems:software": ("get", reverse("systems:software"), {}, READ),
        "systems:software_detail": (
            "get",
            reverse("systems:software_detail", args=[o["tool"].pk]),
            {},
            READ,
        ),
        "systems:software_new": ("get", reverse("systems:software_new"), {}, TOOL_WRITERS),
        "systems:software_edit": (
            "get",
            reverse("systems:software_edit", args=[o["tool"].pk]),
            {},
            TOOL_WRITERS,
        ),
        # Added where it is picked: the checkboxes drawn again (a second "Loom" is refused,
        # in words, with the same answer).
        "systems:software_add": (
            "post",
            reverse("systems:software_add"),
            {
                "tool-name": "Loom",
                "tool-link": "https://loom.example.com",
                "tool-category": "content",
            },
            TOOL_WRITERS,
        ),
        "processes:new": ("get", f"{reverse('processes:new')}?system={s}", {}, FOUNDERS_ONLY),
        "processes:detail": ("get", reverse("processes:detail", args=[p]), {}, READ),
        "processes:edit": ("get", reverse("processes:edit", args=[p]), {}, FOUNDERS_ONLY),
        "processes:delete": ("get", reverse("processes:delete", args=[p]), {}, FOUNDERS_ONLY),
        "processes:move": ("post", reverse("processes:move", args=[p]), up, FOUNDERS_WRITE),
        "processes:history": ("get", reverse("processes:history", args=[p]), {}, READ),
        "processes:compare": ("get", reverse("processes:compare", args=[p]), two, READ),
        "processes:order_steps": (
            "post",
            reverse("processes:order_steps", args=[p]),
            {"order": str(st)},
            FOUNDERS_ONLY,
        ),
        "processes:add_step": (
            "post",
            reverse("processes:add_step", args=[p]),
            {"new-step-name": "Publishing"},
            FOUNDERS_WRITE_IN_PLACE,
        ),
        "processes:edit_step": (
            "get",
            reverse("processes:edit_step", args=[st]),
            {},
            FOUNDERS_ONLY,
        ),
        "processes:delete_step": (
            "get",
            reverse("processes:delete_step", args=[st]),
            {},
            FOUNDERS_ONLY,
        ),
        "processes:move_step": (
            "post",
            reverse("processes:move_step", args=[st]),
            up,
            FOUNDERS_WRITE_IN_PLACE,
        ),
        "sops:new": ("get", f"{reverse('sops:new')}?process={p}", {}, FOUNDERS_ONLY),
        # Anyone who writes SOPs or suggests edits previews the Markdown.
        "sops:preview": ("post", reverse("sops:preview"), {"body": "1. Go"}, READ),
        "sops:detail": ("get", reverse("sops:detail", args=[sop]), {}, READ),
        "sops:edit": ("get", reverse("sops:edit", args=[sop]), {}, FOUNDERS_ONLY),
        "sops:delete": ("get", reverse("sops:delete", args=[sop]), {}, FOUNDERS_ONLY),
        # Only the people the SOP is assigned to confirm they have read it (here: the member).
        "sops:acknowledge": (
            "post",
            reverse("sops:acknowledge", args=[sop]),
            {"edition": "1"},
            {"anonymous": 302, "member": (302, 200), "founder": 403, "staff": 403},
        ),
        # The SOP's owner (here: the member) and founders mark it reviewed.
        "sops:reviewed": (
            "post",
            reverse("sops:reviewed", args=[sop]),
            {},
            {"anonymous": 302, "member": (302, 200), "founder": (302, 200), "staff": 403},
        ),
        "sops:promote": ("get", reverse("sops:promote", args=[sop]), {}, FOUNDERS_ONLY),
        # Pictures and files: read by the SOP's readers, attached and deleted by founders (a
        # post without a file is sent back to the page, saying what to choose).
        "sops:attach": ("post", reverse("sops:attach", args=[sop]), {}, FOUNDERS_WRITE_IN_PLACE),
        "sops:file": ("get", o["attachment"].get_absolute_url(), {}, READ),
        "sops:delete_file": (
            "get",
            reverse("sops:delete_file", args=[sop, o["attachment"].pk]),
            {},
            FOUNDERS_ONLY,
        ),
        "sops:history": ("get", reverse("sops:history", args=[sop]), {}, READ),
        "sops:compare": ("get", reverse("sops:compare", args=[sop]), two, READ),
        "front:start": ("get", reverse("front:start"), {}, {r: 302 for r in ROLES}),
        "front:my_work": ("get", reverse("front:my_work"), {}, READ),
        "front:list": ("get", reverse("front:list"), {}, READ),
        "front:person": ("get", reverse("front:person", args=["member"]), {}, READ),
        "front:unowned": ("get", reverse("front:unowned"), {}, FOUNDERS_ONLY),
        # People: admins (staff) add people and change those within reach (here: the member);
        # founders, who change the map, reassign what someone owns.
        "front:add_person": ("get", reverse("front:add_person"), {}, ADMINS_ONLY),
        "front:edit_person": (
            "get",
            reverse("front:edit_person", args=["member"]),
            {},
            ADMINS_ONLY,
        ),
        "front:send_link": ("post", reverse("front:send_link", args=["member"]), {}, ADMINS_WRITE),
        "front:deactivate": ("get", reverse("front:deactivate", args=["member"]), {}, ADMINS_ONLY),
        "front:reactivate": (
            "post",
            reverse("front:reactivate", args=["member"]),
            {},
            ADMINS_WRITE,
        ),
        "front:reassign": ("get", reverse("front:reassign", args=["member"]), {}, FOUNDERS_ONLY),
        "front:search": ("get", f"{reverse('front:search')}?q=step", {}, READ),
        "front:handbook": ("get", reverse("front:handbook", args=[s]), {}, READ),
        "front:health": ("get", reverse("front:health"), {}, READ),
        "front:export_map": ("get", reverse("front:export_map"), {}, FOUNDERS_ONLY),
        "front:import_map": ("get", reverse("front:import_map"), {}, FOUNDERS_ONLY),
        # A Markdown import waits for the session that uploaded it: another's token is a 404.
        "front:markdown_upload": ("get", reverse("front:markdown_upload"), {}, FOUNDERS_ONLY),
        "front:markdown_preview": (
            "get",
            reverse("front:markdown_preview", args=["not-this-sessions"]),
            {},
            FOUNDERS_ELSEWHERE,
        ),
        "front:markdown_cancel": (
            "post",
            reverse("front:markdown_cancel", args=["not-this-sessions"]),
            {},
            FOUNDERS_ELSEWHERE,
        ),
        "front:markdown_done": ("get", reverse("front:markdown_done"), {}, FOUNDERS_ELSEWHERE),
        "front:handbook_zip": ("get", reverse("front:handbook_zip"), {}, READ),
        # Adding a starter template creates every level of the map: founders only.
        "front:starters": ("get", f"{reverse('front:starters')}?parent={s}", {}, FOUNDERS_ONLY),
        "metrics:scorecard": ("get", reverse("metrics:scorecard"), {}, READ),
        "metrics:goals": ("get", reverse("metrics:goals"), {}, READ),
        "metrics:new": ("get", f"{reverse('metrics:new')}?process={p}", {}, FOUNDERS_ONLY),
        "metrics:edit": ("get", reverse("metrics:edit", args=[m]), {}, FOUNDERS_ONLY),
        "metrics:delete": ("get", reverse("metrics:delete", args=[m]), {}, FOUNDERS_ONLY),
        "metrics:export": ("get", reverse("metrics:export"), {}, READ),
        # Founders, and the owner of a metric (here: the member), import values.
        "metrics:import": ("get", reverse("metrics:import"), {}, READ | {"staff": 403}),
        # The metric's owner (here: the member) and founders record values.
        "metrics:record": (
            "post",
            reverse("metrics:record", args=[m]),
            {"period": week, "value": "3"},
            {"anonymous": 302, "member": (302, 200), "founder": (302, 200), "staff": 403},
        ),
        "runs:list": ("get", reverse("runs:list"), {}, READ),
        "runs:start": ("get", f"{reverse('runs:start')}?process={p}", {}, FOUNDERS_ONLY),
        "runs:detail": ("get", reverse("runs:detail", args=[o["run"].pk]), {}, READ),
        "runs:cancel": (
            "post",
            reverse("runs:cancel", args=[o["to_cancel"].pk]),
            {"reason": "The sponsor pulled out"},
            FOUNDERS_WRITE,
        ),
        "runs:sop": ("get", reverse("runs:sop", args=[o["to_undo"]]), {}, READ),
        # The step's assignee (here: the member) and founders tick, skip and take back.
        # Founders give a run's step to someone else, for that run (before it is skipped).
        "runs:assign": (
            "post",
            reverse("runs:assign", args=[o["to_skip"]]),
            {"assignee": o["step"].owner_id},
            FOUNDERS_WRITE_IN_PLACE,
        ),
        "runs:tick": ("post", reverse("runs:tick", args=[o["to_tick"]]), {}, ASSIGNEE),
        "runs:skip": (
            "post",
            reverse("runs:skip", args=[o["to_skip"]]),
            {"reason": "Filmed last week"},
            ASSIGNEE,
        ),
        "runs:undo": ("post", reverse("runs:undo", args=[o["to_undo"]]), {}, ASSIGNEE),
        "runs:ticks_csv": ("get", reverse("runs:ticks_csv"), {}, FOUNDERS_ONLY),
        # A process's schedule: founders set, pause and remove it.
        "runs:schedule": ("get", reverse("runs:schedule", args=[p]), {}, FOUNDERS_ONLY),
        "runs:schedule_pause": (
            "post",
            reverse("runs:schedule_pause", args=[p]),
            {"active": "0"},
            FOUNDERS_WRITE_IN_PLACE,
        ),
        "runs:schedule_remove": (
            "post",
            reverse("runs:schedule_remove", args=[p]),
            {},
            FOUNDERS_WRITE_IN_PLACE,
        ),
        # Suggested edits: anyone who reads an SOP suggests; its author, owner and founders
        # see a suggestion (the admin, none of these, is not told it exists); the owner or a
        # founder, never its author, approves or declines it; only its author withdraws it.
        "sops:suggest": ("get", reverse("sops:suggest", args=[sop]), {}, READ),
        "sops:suggestions": ("get", reverse("sops:suggestions"), {}, READ),
        "sops:suggestion": ("get", reverse("sops:suggestion", args=[o["suggested"][0]]), {}, SEEN),
        "sops:approve": (
            "post",
            reverse("sops:approve", args=[o["suggested"][0]]),
            {"title": "Filming, lit", "body": "1. Light", "version": o["sop"].version},
            REVIEWER,
        ),
        "sops:decline": (
            "post",
            reverse("sops:decline", args=[o["suggested"][1]]),
            {"reason": "We film outside"},
            REVIEWER,
        ),
        "sops:withdraw": (
            "post",
            reverse("sops:withdraw", args=[o["suggested"][2]]),
            {},
            {"anonymous": 302, "member": 302, "founder": 403, "staff": 404},
        ),
        # Notifications: everyone's own inbox and preferences; one's own items only (the
        # member's here: someone else's is not found); the unsubscribe link needs no login.
        "notify:inbox": ("get", reverse("notify:inbox"), {}, SIGNED_IN),
        "notify:read_all": ("post", reverse("notify:read_all"), {}, {r: 302 for r in ROLES}),
        "notify:open": ("post", reverse("notify:open", args=[o["note"].pk]), {}, OWN),
        "notify:read": ("post", reverse("notify:read", args=[o["note"].pk]), {}, OWN),
        "notify:preferences": (
            "post",
            reverse("notify:preferences"),
            {"digest": "weekly", "digest_hour": "8", "digest_weekday": "0", "time_zone": ""},
            {r: 302 for r in ROLES},
        ),
        "notify:unsubscribe": (
            "get",
            reverse("notify:unsubscribe", args=[unsubscribe_token(o["note"].person, "digest")]),
            {},
            {r: 200 for r in ROLES},
        ),
        # Comments: everyone who sees an item comments and replies (page: back to where the
        # thread is read; htmx: the thread in place); only its author (the member) edits one;
        # its author and founders delete it; the thread's author, the item's owner and
        # founders resolve and reopen it. The mention suggestions: anyone who reads.
        "comments:thread": (
            "get",
            reverse("comments:thread", args=["run-step", o["to_tick"]]),
            {},
            READ,
        ),
        "comments:new": (
            "post",
            reverse("comments:new", args=["step", st]),
            {"body": "Which light?"},
            COMMENTER,
        ),
        "comments:reply": (
            "post",
            reverse("comments:reply", args=[o["comments"][0]]),
            {"body": "The big one"},
            COMMENTER,
        ),
        "comments:edit": ("get", reverse("comments:edit", args=[o["comments"][0]]), {}, AUTHOR),
        "comments:delete": (
            "post",
            reverse("comments:delete", args=[o["comments"][1]]),
            {},
            {"anonymous": 302, "member": (302, 200), "founder": (302, 200), "staff": 403},
        ),
        "comments:resolve": (
            "post",
            reverse("comments:resolve", args=[o["comments"][0]]),
            {},
            {"anonymous": 302, "member": (302, 200), "founder": (302, 200), "staff": 403},
        ),
        "comments:reopen": (
            "post",
            reverse("comments:reopen", args=[o["comments"][2]]),
            {},
            {"anonymous": 302, "member": (302, 200), "founder": (302, 200), "staff": 403},
        ),
        "comments:people": ("get", f"{reverse('comments:people')}?q=ma", {}, READ),
        **api_matrix(o),
        "login": ("get", reverse("login"), {}, {r: 200 for r in ROLES}),
        # Setting one's password from an emailed link needs no login (a link that does not
        # work says so).
        "password_reset": ("get", reverse("password_reset"), {}, {r: 200 for r in ROLES}),
        "password_reset_done": ("get", reverse("password_reset_done"), {}, {r: 200 for r in ROLES}),
        "password_reset_confirm": (
            "get",
            reverse("password_reset_confirm", args=["MQ", "bad-token"]),
            {},
            {r: 200 for r in ROLES},
        ),
        "password_reset_complete": (
            "get",
            reverse("password_reset_complete"),
            {},
            {r: 200 for r in ROLES},
        ),
        "healthz": ("get", reverse("healthz"), {}, {r: 200 for r in ROLES}),
        "logout": ("post", reverse("logout"), {}, {r: 302 for r in ROLES}),
        # The admin is one app of its own: only staff get in.
        "admin:*": (
            "get",
            reverse("admin:index"),
            {},
            {"anonymous": 302, "member": 302, "founder": 302, "staff": 200},
        ),
    }


# The API takes personal tokens only: the app's session is not enough (tests/test_api.py checks
# each operation with tokens of each role).
TOKEN_ONLY = {r: 401 for r in ROLES}


def api_matrix(o) -> dict[str, tuple[str, str, dict, dict]]:
    s, p, st, sop, m = (o[k].pk for k in ["system", "process", "step", "sop", "metric"])
    run, tick, hook = o["run"].pk, o["to_tick"], o["endpoint"]
    reads = {
        "api:me": reverse("api:me"),
        "api:people": reverse("api:people"),
        "api:systems": reverse("api:systems"),
        "api:system": reverse("api:system", args=[s]),
        "api:processes": reverse("api:processes"),
        "api:process": reverse("api:process", args=[p]),
        "api:step": reverse("api:step", args=[st]),
        "api:sops": reverse("api:sops"),
        "api:sop": reverse("api:sop", args=[sop]),
        "api:software": reverse("api:software"),
        "api:metrics": reverse("api:metrics"),
        "api:metric_values": reverse("api:metric_values", args=[m]),
        "api:runs": reverse("api:runs"),
        "api:run": reverse("api:run", args=[run]),
        "api:run_steps": reverse("api:run_steps"),
        "api:sop_comments": reverse("api:sop_comments", args=[sop]),
        "api:suggestions": reverse("api:suggestions"),
    }
    writes = {
        "api:record_value": reverse("api:record_value", args=[m]),
        "api:start": reverse("api:start"),
        "api:tick": reverse("api:tick", args=[tick]),
        "api:skip": reverse("api:skip", args=[tick]),
        "api:comment": reverse("api:comment", args=[sop]),
    }
    changes = {
        "api:change_system": reverse("api:change_system", args=[s]),
        "api:change_process": reverse("api:change_process", args=[p]),
        "api:change_step": reverse("api:change_step", args=[st]),
        "api:change_sop": reverse("api:change_sop", args=[sop]),
    }
    return {
        **{name: ("patch", url, {}, TOKEN_ONLY) for name, url in changes.items()},
        **{name: ("get", url, {}, TOKEN_ONLY) for name, url in reads.items()},
        **{name: ("post", url, {}, TOKEN_ONLY) for name, url in writes.items()},
        "api:api-root": ("get", reverse("api:api-root"), {}, {r: 302 for r in ROLES}),
        "api:openapi-json": ("get", reverse("api:openapi-json"), {}, {r: 200 for r in ROLES}),
        "developer:home": ("get", reverse("developer:home"), {}, {r: 302 for r in ROLES}),
        "developer:docs": ("get", reverse("developer:docs"), {}, SIGNED_IN),
        "developer:tokens": ("get", reverse("developer:tokens"), {}, SIGNED_IN),
        "developer:revoke": ("post", reverse("developer:revoke", args=[o["token"]]), {}, OWN),
        "developer:endpoints": ("get", reverse("developer:endpoints"), {}, FOUNDERS_ONLY),
        "developer:endpoint": (
            "get",
            reverse("developer:endpoint", args=[hook]),
            {},
            FOUNDERS_ONLY,
        ),
        "developer:delete_endpoint": (
            "post",
            reverse("developer:delete_endpoint", args=[o["spare_endpoint"]]),
            {},
            FOUNDERS_WRITE,
        ),
        "developer:resend": (
            "post",
            reverse("developer:resend", args=[o["delivery"]]),
            {},
            FOUNDERS_WRITE,
        ),
    }


def url_names(patterns=None, namespace: str = "") -> set[str]:
    names: set[str] = set()
    for pattern in patterns if patterns is not None else get_resolver().url_patterns:
        if isinstance(pattern, URLResolver):
            ns = pattern.namespace or ""
            if ns == "admin":
                names.add("admin:*")
                continue
            prefix = f"{namespace}{ns}:" if ns else namespace
            names |= url_names(pattern.url_patterns, prefix)
        elif isinstance(pattern, URLPattern):
            names.add(f"{namespace}{pattern.name}")
    return names


@pytest.fixture
def objects(member, founder):
    step = StepFactory(owner=member)
    sop = SOPFactory(process=step.process, step=step, owner=member)
    metric = Metric.objects.create(
        process=step.process, name="Videos published", target=1, cadence="weekly", owner=member
    )
    for obj in (step.process.system, step.process, sop):  # two revisions of each, to compare
        history.record(obj, None, "Created")
        obj.owner = None
        history.record(obj, None, "Edited")
    today = timezone.localdate()
    runs = [Run.start(step.process, None, today) for _ in range(3)]
    to_tick, to_skip, to_undo = (run.steps.get() for run in runs)
    to_undo.tick(member)  # just now: the member may take it back, as founders may
    Schedule.objects.create(
        process=step.process, weekdays=weekday_bits([0]), starts_on=today, name_template="#{n}"
    )
    # A run under way: its page offers to tick, skip and cancel (the SOP of the step ticked, to
    # take the tick back).
    under_way = Run.start(step.process, None, today)
    note = Notification.objects.create(
        person=member,
        kind="owner",
        key="matrix",
        subject="You own a step",
        url=step.get_absolute_url(),
    )
    suggested = [
        suggestions.suggest(sop, member, sop.version, {**suggestions.values_of(sop), "title": t}).pk
        for t in ("Filming, lit", "Filming outside", "Filming at night")
    ]
    # The member's comments on the SOP: one to reply to, edit and resolve, one to delete, and
    # one resolved to reopen (mentioning the founder, so the page draws a mention).
    comments = [
        threads.post(sop, member, text).pk
        for text in ("Which light do we use, @founder?", "A typo", "Solved")
    ]
    threads.resolve(Comment.objects.get(pk=comments[2]), member, sop)
    attachment = attachments.attach(sop, SimpleUploadedFile("notes.txt", b"Blue folder."), founder)
    endpoint = Endpoint.objects.create(url="https://hooks.example.com/a", events=["run.started"])
    delivery = Delivery.objects.create(
        endpoint=endpoint, event="run.started", message_id="msg_matrix", payload={}
    )
    return {
        "attachment": attachment,
        "endpoint": endpoint.pk,
        "spare_endpoint": Endpoint.objects.create(url="https://hooks.example.com/b").pk,
        "delivery": delivery.pk,
        "token": Token.make(member, "The member's script")[0].pk,
        "comments": comments,
        "suggested": suggested,
        "note": note,
        "system": step.process.system,
        "process": step.process,
        "step": step,
        "sop": sop,
        "metric": metric,
        "run": under_way,
        "to_tick": to_tick.pk,
        "to_skip": to_skip.pk,
        "to_undo": to_undo.pk,
        "to_cancel": under_way,
        "tool": SoftwareFactory(owner=member),
    }


@pytest.fixture
def people(founder, member):
    staff = UserFactory(username="staff", is_staff=True, roles=[ADMINS])
    return {"anonymous": None, "member": member, "founder": founder, "staff": staff}


def test_every_url_is_in_the_matrix(objects):
    assert url_names() == set(matrix(objects))


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("htmx", [False, True], ids=["page", "htmx"])
def test_each_role_gets_the_expected_answer_from_every_url(client, objects, people, role, htmx):
    headers = {"HTTP_HX_REQUEST": "true"} if htmx else {}
    failures = []
    for name, (method, url, data, expected) in matrix(objects).items():
        client.logout()
        if people[role] is not None:
            client.force_login(people[role])
        response = getattr(client, method)(url, data, **headers)
        status = response.status_code
        want = expected[role]
        if isinstance(want, tuple):
            want = want[1] if htmx else want[0]
        if htmx and status == 200 and want == 302 and "HX-Redirect" in response:
            status = 302  # an htmx request sent to log in gets a client-side redirect
        if htmx and status == 200 and want == 302 and "HX-Location" in response:
            status = 302  # after a write, htmx is sent on with HX-Location
        if status != want:
            failures.append(f"{method.upper()} {url} ({name}): {status}, expected {want}")
    assert failures == []
