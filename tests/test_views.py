from __future__ import annotations

from pathlib import Path

import pytest
from django.urls import reverse

from tests import factories as make

pytestmark = pytest.mark.django_db

HISTORY_RESTORE = {"HTTP_HX_REQUEST": "true", "HTTP_HX_HISTORY_RESTORE_REQUEST": "true"}


@pytest.fixture
def lead_generation_map():
    """A slice of the source document's map: Wealth › Revenue › Lead generation."""
    maya = make.UserFactory(first_name="Maya", last_name="Ortiz")
    sam = make.UserFactory(first_name="Sam", last_name="Lee")
    wealth = make.SystemFactory(name="Wealth generation", owner=maya)
    revenue = make.SystemFactory(name="Revenue generation", parent=wealth, owner=maya)
    leads = make.SystemFactory(
        name="Lead generation",
        parent=revenue,
        owner=sam,
        purpose="Brings the right people to us every week.",
    )
    youtube = make.ProcessFactory(
        system=leads, name="YouTube content creation", result="One video a week", owner=sam
    )
    steps = {
        name: make.StepFactory(process=youtube, name=name, owner=sam)
        for name in ["Scripting", "Filming", "Editing", "Publishing"]
    }
    recording = make.SOPFactory(
        process=youtube,
        step=steps["Filming"],
        title="Recording a video",
        owner=sam,
        outcome="Clean footage",
        estimated_minutes=90,
        body="1. Charge the camera.\n2. Record.\n\n<script>alert('x')</script>",
    )
    return {
        "wealth": wealth,
        "revenue": revenue,
        "leads": leads,
        "youtube": youtube,
        "steps": steps,
        "recording": recording,
    }


def pages(m):
    return [
        reverse("home"),
        m["leads"].get_absolute_url(),
        m["youtube"].get_absolute_url(),
        m["recording"].get_absolute_url(),
    ]


def test_anonymous_visitors_are_sent_to_log_in(client, lead_generation_map):
    for url in pages(lead_generation_map):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"] == f"{reverse('login')}?next={url}"


def test_a_person_without_a_role_is_refused(client, outsider, lead_generation_map):
    client.force_login(outsider)
    for url in pages(lead_generation_map):
        assert client.get(url).status_code == 403
        assert client.get(url, **make.HTMX).status_code == 403


def test_missing_objects_are_404(member_client):
    for name in ["systems:detail", "processes:detail", "sops:detail"]:
        assert member_client.get(reverse(name, args=[999999])).status_code == 404


def test_home_shows_the_systems_tree_with_owners_and_counts(member_client, lead_generation_map):
    response = member_client.get(reverse("home"))
    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" in html
    # Nested in scope order, with the owner and the counts of each system.
    assert (
        html.index("Wealth generation")
        < html.index("Revenue generation")
        < html.index("Lead generation")
    )
    assert "Sam Lee" in html
    assert "1 process" in html and "1 SOP" in html


def test_home_tells_an_empty_map_what_to_do_next(member_client):
    html = member_client.get(reverse("home")).content.decode()
    assert "No systems yet" in html


def test_system_page_shows_purpose_owner_processes_and_breadcrumbs(
    member_client, lead_generation_map
):
    m = lead_generation_map
    html = member_client.get(m["leads"].get_absolute_url()).content.decode()
    assert "Why it matters" in html
    assert "Brings the right people to us every week." in html
    assert "YouTube content creation" in html
    assert "1 of 4 steps documented" in html
    breadcrumbs = html[html.index('aria-label="Breadcrumb"') :]
    assert breadcrumbs.index("Wealth generation") < breadcrumbs.index("Revenue generation")


def test_process_page_shows_steps_in_order_with_their_sop_or_no_sop_yet(
    member_client, lead_generation_map
):
    m = lead_generation_map
    html = member_client.get(m["youtube"].get_absolute_url()).content.decode()
    positions = [
        html.index(f"{name}</h3>") for name in ["Scripting", "Filming", "Editing", "Publishing"]
    ]
    assert positions == sorted(positions)
    assert "Recording a video" in html
    assert html.count("No SOP yet") == 3


def test_sop_page_shows_the_recipe_and_never_runs_a_script(member_client, lead_generation_map):
    m = lead_generation_map
    html = member_client.get(m["recording"].get_absolute_url()).content.decode()
    assert "Clean footage" in html
    assert "1 h 30 min" in html
    assert "<li>Charge the camera.</li>" in html
    assert "<script>alert" not in html
    assert "Recipe for step 2, Filming".lower() in html.lower()
    crumbs = html[
        html.index('aria-label="Breadcrumb"') : html.index("</nav>", html.index("Breadcrumb"))
    ]
    for name in [
        "Wealth generation",
        "Revenue generation",
        "Lead generation",
        "YouTube content creation",
    ]:
        assert name in crumbs


def test_htmx_navigation_gets_only_the_main_region(member_client, lead_generation_map):
    for url in pages(lead_generation_map):
        response = member_client.get(url, **make.HTMX)
        html = response.content.decode()
        assert response.status_code == 200
        assert "<html" not in html
        assert 'id="sidebar"' not in html
        assert "<h1" in html
        assert "<title>" in html  # htmx updates the document title from it
        assert "HX-Request" in response["Vary"]


def test_full_pages_also_vary_on_hx_request(member_client, lead_generation_map):
    for url in pages(lead_generation_map):
        response = member_client.get(url)
        assert 'id="sidebar"' in response.content.decode()
        assert "HX-Request" in response["Vary"]


def test_history_restore_gets_the_whole_page(member_client, lead_generation_map):
    for url in pages(lead_generation_map):
        html = member_client.get(url, **HISTORY_RESTORE).content.decode()
        assert "<html" in html and 'id="sidebar"' in html


def test_links_work_without_javascript(member_client, lead_generation_map):
    """Every data-hx-get link carries the same real href."""
    import re

    for url in pages(lead_generation_map):
        html = member_client.get(url).content.decode()
        for tag in re.findall(r"<a [^>]*data-hx-get=[^>]*>", html):
            href = re.search(r'href="([^"]+)"', tag).group(1)
            hx_get = re.search(r'data-hx-get="([^"]+)"', tag).group(1)
            assert href == hx_get


def test_pages_spell_htmx_attributes_as_valid_data_attributes(member_client, lead_generation_map):
    """`hx-get` does not validate as HTML; `data-hx-get` does, and htmx reads it the same."""
    import re

    for url in pages(lead_generation_map):
        html = member_client.get(url).content.decode()
        assert "data-hx-get=" in html, url
        assert re.findall(r"[\s\"']hx-[a-z-]+=", html) == [], url


def test_the_sidebar_marks_the_current_system(member_client, lead_generation_map):
    m = lead_generation_map
    html = member_client.get(m["youtube"].get_absolute_url()).content.decode()
    assert f'data-system="{m["leads"].pk}" aria-current="true"' in html
    assert f'data-system="{m["wealth"].pk}" aria-current' not in html


def test_login_page_is_styled_and_logs_in(client, member):
    page = client.get(reverse("login"))
    assert "Log in to Opsmodel" in page.content.decode()
    response = client.post(
        reverse("login"), {"username": "member", "password": "a-long-test-password"}
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("front:start")
    assert client.get(reverse("front:start"))["Location"] == reverse("front:my_work")


def test_a_wrong_password_says_so_and_keeps_the_username(client, member):
    response = client.post(reverse("login"), {"username": "member", "password": "wrong"})
    html = response.content.decode()
    assert response.status_code == 200
    assert "enter a correct username and password" in html
    assert 'value="member"' in html


def test_log_out_is_a_post(member_client):
    assert member_client.get(reverse("logout")).status_code == 405
    response = member_client.post(reverse("logout"))
    assert response.status_code == 302
    assert member_client.get(reverse("home")).status_code == 302


def test_a_history_restore_has_one_title_in_the_head(member_client, lead_generation_map):
    html = member_client.get(pages(lead_generation_map)[1], **HISTORY_RESTORE).content.decode()
    assert html.count("<title>") == 1


def test_an_htmx_request_after_the_session_ends_reloads_the_login_page(client, lead_generation_map):
    url = lead_generation_map["youtube"].get_absolute_url()
    response = client.get(url, **make.HTMX)
    assert response.status_code == 200
    assert response["HX-Redirect"] == f"{reverse('login')}?next={url}"


def test_a_refused_htmx_navigation_gets_the_no_access_message_without_the_frame(
    client, outsider, lead_generation_map
):
    client.force_login(outsider)
    response = client.get(lead_generation_map["leads"].get_absolute_url(), **make.HTMX)
    html = response.content.decode()
    assert response.status_code == 403
    assert "Your account has no role yet" in html
    assert "<title>No access · Opsmodel</title>" in html
    assert "<html" not in html
    full = client.get(lead_generation_map["leads"].get_absolute_url()).content.decode()
    assert "<html" in full and "Your account has no role yet" in full
    # No link back to the map, which would refuse them again: a way out instead.
    assert 'href="/"' not in full.split('<main id="main"', 1)[1]
    assert "Log out" in full


def test_a_member_refused_a_founders_page_is_offered_the_way_back(member_client):
    response = member_client.get(reverse("systems:new"))
    html = response.content.decode()
    assert response.status_code == 403 and "You do not have access to this page" in html
    assert "Back to the operations map" in html


def test_a_missing_page_says_not_found_in_the_apps_own_style(member_client, settings):
    settings.DEBUG = False
    response = member_client.get("/systems/999999/")
    assert response.status_code == 404
    assert "There is nothing at this address" in response.content.decode()


def test_the_cached_sidebar_shows_a_renamed_system_at_once(member_client, lead_generation_map):
    leads = lead_generation_map["leads"]
    assert "Lead generation</a>" in member_client.get("/").content.decode()
    leads.name = "Lead gen"
    leads.save()
    html = member_client.get(reverse("systems:tree"), **make.HTMX).content.decode()
    assert "Lead gen</a>" in html and "Lead generation</a>" not in html


def test_every_level_can_be_printed_without_the_apps_navigation(member_client, lead_generation_map):
    for url in pages(lead_generation_map)[1:]:
        assert "data-print>Print</button>" in member_client.get(url).content.decode()
    css = (Path(__file__).resolve().parent.parent / "static" / "opsmodel" / "app.css").read_text()
    print_rules = css[css.index("@media print") :]
    assert ".topbar, .sidebar" in print_rules and "display: none" in print_rules


def test_the_map_offers_each_person_the_downloads_they_may_use(member_client, founder_client):
    from django.urls import reverse

    member = member_client.get(reverse("home")).text
    assert reverse("front:handbook_zip") in member  # a team member may read every SOP
    assert reverse("front:export_map") not in member and "+ New system" not in member
    founder = founder_client.get(reverse("home")).text
    assert reverse("front:export_map") in founder and reverse("front:import_map") in founder


def test_a_hidden_input_carries_no_aria_attribute(founder_client, lead_generation_map):
    """HTML forbids aria-* on a hidden input; Django copies the visible one's onto the hidden
    initial value it keeps for a field with a computed default (the SOP's review interval)."""
    import re

    sop = lead_generation_map["recording"]
    for url in [
        reverse("sops:edit", args=[sop.pk]),
        f"{reverse('sops:new')}?process={sop.process_id}",
    ]:
        html = founder_client.get(url).content.decode()
        hidden = re.findall(r'<input type="hidden"[^>]*>', html)
        assert any('name="initial-review_interval_days"' in tag for tag in hidden), url
        assert [tag for tag in hidden if "aria-" in tag] == [], url
