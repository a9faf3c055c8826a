from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from django.urls import reverse

from processes.models import Metric, MetricValue, Process, Step
from sops.models import SOP
from systems.models import Software, System


def test_no_migrations_are_missing(db):
    out = io.StringIO()
    try:
        call_command("makemigrations", "--check", "--dry-run", stdout=out)
    except SystemExit:
        pytest.fail(f"Model changes without a migration:\n{out.getvalue()}")


def snapshot() -> dict:
    return {
        "systems": list(
            System.objects.order_by("tree_id", "lft").values_list(
                "name", "parent__name", "purpose", "owner__username", "level"
            )
        ),
        "software": list(
            Software.objects.values_list("name", "link", "category", "owner__username")
        ),
        "processes": list(
            Process.objects.order_by("system__name", "position").values_list(
                "system__name", "position", "name", "result", "owner__username"
            )
        ),
        "steps": list(
            Step.objects.order_by("process__name", "position").values_list(
                "process__name", "position", "name", "owner__username", "due_days", "due_after"
            )
        ),
        "sops": list(
            SOP.objects.order_by("process__name", "title").values_list(
                "process__name",
                "step__name",
                "title",
                "owner__username",
                "outcome",
                "estimated_minutes",
                "body",
            )
        ),
        "links": sorted(SOP.software.through.objects.values_list("sop__title", "software__name")),
        "metrics": sorted(
            Metric.objects.values_list(
                "name", "process__name", "system__name", "cadence", "target", "direction"
            )
        ),
        "values": sorted(MetricValue.objects.values_list("metric__name", "period", "value")),
    }


def test_loaddemo_builds_the_source_documents_map_and_is_idempotent(db):
    call_command("loaddemo", stdout=io.StringIO())
    first = snapshot()
    out = io.StringIO()
    call_command("loaddemo", stdout=out)
    assert snapshot() == first

    leads = System.objects.get(name="Lead generation")
    assert [s.name for s in leads.get_ancestors()] == [
        "Wealth generation",
        "Revenue generation",
        "IP creation",
    ]
    assert set(leads.processes.values_list("name", flat=True)) == {
        "YouTube content creation",
        "Email content",
        "Opt-in funnels",
    }
    youtube = leads.processes.get(name="YouTube content creation")
    assert list(youtube.steps.values_list("name", flat=True)) == [
        "Scripting",
        "Filming",
        "Editing",
        "Publishing",
    ]
    for title in ["Recording a video", "Sending an invoice", "Offboarding a client"]:
        sop = SOP.objects.get(title=title)
        assert sop.owner is not None and sop.outcome and sop.estimated_minutes
        if sop.step:
            assert sop.step.process_id == sop.process_id
    # Weekly metrics on processes, monthly and annual ones on systems, with months of values.
    assert Metric.objects.get(name="Videos published").process == youtube
    assert Metric.objects.get(name="Annual revenue").cadence == "annual"
    assert MetricValue.objects.filter(metric__name="Opt-in subscribers").count() >= 13
    assert "founder / opsmodel-demo" in out.getvalue()
    assert "member / opsmodel-demo" in out.getvalue()


def test_demo_logins_work_with_their_roles(client, db):
    call_command("loaddemo", stdout=io.StringIO())
    log_in = {"username": "founder", "password": "opsmodel-demo"}
    assert client.post(reverse("login"), log_in).status_code == 302
    assert client.get("/").status_code == 200
    assert client.get("/admin/").status_code == 200
    client.logout()
    log_in = {"username": "member", "password": "opsmodel-demo"}
    assert client.post(reverse("login"), log_in).status_code == 302
    assert client.get("/").status_code == 200
    assert client.get("/admin/").status_code == 302


def test_the_migrated_roles_match_the_roles_in_code(db):
    from django.contrib.auth.models import Group

    from opsmodel.roles import ROLE_PERMISSIONS

    for role, perms in ROLE_PERMISSIONS.items():
        group = Group.objects.get(name=role)
        have = set(group.permissions.values_list("content_type__app_label", "codename"))
        assert have == set(perms), role
