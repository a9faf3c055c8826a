"""Who may edit: the server refuses every write from anyone without the permission."""

from __future__ import annotations

import pytest
from django.urls import reverse

from systems.models import System
from tests.factories import SOPFactory, StepFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def objects():
    step = StepFactory()
    sop = SOPFactory(process=step.process, step=step)
    return {"system": step.process.system, "process": step.process, "step": step, "sop": sop}


def write_endpoints(o) -> list[tuple[str, str]]:
    """(method, url) for every endpoint that changes the map."""
    s, p, st, sop = o["system"].pk, o["process"].pk, o["step"].pk, o["sop"].pk
    return [
        ("get", reverse("systems:new")),
        ("post", reverse("systems:new")),
        ("get", reverse("systems:edit", args=[s])),
        ("post", reverse("systems:edit", args=[s])),
        ("get", reverse("systems:delete", args=[s])),
        ("post", reverse("systems:delete", args=[s])),
        ("post", reverse("systems:move", args=[s])),
        ("get", f"{reverse('processes:new')}?system={s}"),
        ("post", f"{reverse('processes:new')}?system={s}"),
        ("get", reverse("processes:edit", args=[p])),
        ("post", reverse("processes:edit", args=[p])),
        ("get", reverse("processes:delete", args=[p])),
        ("post", reverse("processes:delete", args=[p])),
        ("post", reverse("processes:move", args=[p])),
        ("post", reverse("processes:add_step", args=[p])),
        ("post", reverse("processes:order_steps", args=[p])),
        ("get", reverse("processes:edit_step", args=[st])),
        ("post", reverse("processes:edit_step", args=[st])),
        ("get", reverse("processes:delete_step", args=[st])),
        ("post", reverse("processes:delete_step", args=[st])),
        ("post", reverse("processes:move_step", args=[st])),
        ("get", f"{reverse('sops:new')}?process={p}"),
        ("post", f"{reverse('sops:new')}?process={p}"),
        ("get", reverse("sops:edit", args=[sop])),
        ("post", reverse("sops:edit", args=[sop])),
        ("get", reverse("sops:delete", args=[sop])),
        ("post", reverse("sops:delete", args=[sop])),
    ]


@pytest.mark.parametrize("htmx", [False, True], ids=["page", "htmx"])
def test_team_members_are_refused_every_write(member_client, objects, htmx):
    headers = {"HTTP_HX_REQUEST": "true"} if htmx else {}
    for method, url in write_endpoints(objects):
        response = getattr(member_client, method)(url, {"direction": "up"}, **headers)
        assert response.status_code == 403, (method, url)
    assert System.objects.count() == 1
    objects["sop"].refresh_from_db()


def test_anonymous_visitors_are_sent_to_log_in_for_every_write(client, objects):
    for method, url in write_endpoints(objects):
        response = getattr(client, method)(url)
        assert response.status_code == 302, (method, url)
        assert response["Location"].startswith(reverse("login"))


def test_founders_may_open_every_edit_form(founder_client, objects):
    for method, url in write_endpoints(objects):
        if method == "get":
            assert founder_client.get(url).status_code == 200, url


def test_team_members_see_no_edit_controls(member_client, objects):
    for obj in ["system", "process", "sop"]:
        html = member_client.get(objects[obj].get_absolute_url()).content.decode()
        assert "Edit" not in html and "Delete" not in html and "Add step" not in html


def test_founders_see_edit_controls(founder_client, objects):
    for obj in ["system", "process", "sop"]:
        html = founder_client.get(objects[obj].get_absolute_url()).content.decode()
        assert "Edit" in html and "Delete…" in html


def test_state_never_changes_over_get(founder_client, objects):
    for method, url in write_endpoints(objects):
        if method == "get":
            founder_client.get(url)
    assert System.objects.count() == 1
    objects["sop"].refresh_from_db()
    objects["step"].refresh_from_db()
