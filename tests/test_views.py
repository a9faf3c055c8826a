from __future__ import annotations

import re
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


def test_the_maps_cards_show_names_as_typed_and_offer_moves_to_founders_only(
    client, member, founder, settings
):
    settings.MAP_FOLD_OVER = 3  # folded below the first levels: the rest opens on demand
    top = make.SystemFactory(name='Wealth <b>&</b> "more"')
    first = make.SystemFactory(name="Revenue", parent=top)
    make.SystemFactory(name="Costs", parent=top)
    make.SystemFactory(name="Deep", parent=make.SystemFactory(name="Deeper", parent=first))
    client.force_login(founder)
    html = client.get(reverse("home")).content.decode()
    assert ">Wealth &lt;b&gt;&amp;&lt;/b&gt; &quot;more&quot;</a></h3>" in html
    # Revenue's systems are folded away: a button fetches them into the branch below it.
    branch = reverse("systems:branch", args=[first.pk])
    assert f'aria-controls="map-branch-{first.pk}" data-branch="{branch}"' in html
    assert "2 systems inside" in html and f'id="map-branch-{first.pk}"' in html
    # Revenue and Costs can swap places (the one system at the top cannot move): each form
    # carries the request's token and comes back to the map.
    move = reverse("systems:move", args=[first.pk])
    assert html.count('class="reorder"') == 2 and f'action="{move}"' in html
    token = re.search(r'name="csrfmiddlewaretoken" value="(\w+)"', html)
    assert token and html.count(token.group(0)) >= 2
    assert 'name="next" value="/"' in html
    client.force_login(member)
    html = client.get(reverse("home")).content.decode()
    assert 'class="reorder"' not in html and "Revenue" in html


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


def test_system_page_names_its_software_and_links_only_web_addresses(member_client):
    system = make.SystemFactory()
    other = make.SystemFactory()
    page = member_client.get(system.get_absolute_url()).content.decode()
    assert '<span class="muted">none listed</span>' in page
    stripe = make.SoftwareFactory(name="Stripe", link="https://stripe.com")
    old = make.SoftwareFactory(name="Old CRM", link="javascript:alert(1)")
    make.SoftwareFactory(name="Zapier").systems.add(other)  # another system's
    system.software.add(stripe, old)
    page = member_client.get(system.get_absolute_url()).content.decode()
    line = page[
        page.index('class="software-line"') : page.index("</p>", page.index("software-line"))
    ]
    # By name; a stored link that is no web address is shown as text, never followed.
    assert line.index("Old CRM") < line.index("Stripe") and "Zapier" not in line
    assert '<a href="https://stripe.com" rel="noopener noreferrer">Stripe</a>' in line
    assert "Old CRM" in line and "javascript:" not in line and "none listed" not in line


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


def test_process_page_lists_its_other_sops_with_owner_sitting_and_comments(member_client):
    from opsmodel.comments.models import Comment

    process = make.ProcessFactory()
    step = make.StepFactory(process=process, name="Filming")
    make.SOPFactory(process=process, step=step, title="Recording a video")  # its step's
    ann = make.UserFactory(first_name="Ann", last_name="Lee")
    checklist = make.SOPFactory(
        process=process, title="Checklist <1>", owner=ann, estimated_minutes=90
    )
    make.SOPFactory(process=process, title="Archive", owner=None, estimated_minutes=None)
    Comment.objects.create(sop=checklist, author=ann, body="Add the lights.")
    html = member_client.get(process.get_absolute_url()).content.decode()
    others = html[html.index('id="loose-heading"') : html.index("</ul>", html.index("loose-"))]
    rows = others.split("<li>")[1:]
    # By title, each linked, with its owner (or none) and its one sitting.
    assert [re.search(r'">([^<]+)</a>', row).group(1) for row in rows] == [
        "Archive",
        "Checklist &lt;1&gt;",
    ]
    assert '<span class="muted">· no owner</span>' in rows[0]
    assert '<span class="muted">· Ann Lee · 1 h 30 min</span>' in rows[1]
    assert f'href="{checklist.get_absolute_url()}" data-hx-get=' in rows[1]
    # Its comments counted beside it; none said for the other.
    assert "1 comment" in rows[1] and "comment" not in rows[0]
    assert "Recording a video" not in others  # its step's SOP is shown with the step


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


def test_full_pages_name_the_sidebar_tree_which_the_browser_keeps_while_it_stays_the_same(
    member_client, lead_generation_map
):
    m = lead_generation_map
    html = member_client.get(m["youtube"].get_absolute_url()).content.decode()
    assert "data-system=" not in html  # the tree is not in the page…
    # …which says where its system is, for app.js to mark it in the tree once it arrives.
    assert f'data-current-system="{m["leads"].pk}"' in html
    address = re.search(r'data-hx-get="(/systems/tree/\?v=\w+)"', html).group(1)
    tree = member_client.get(address, **make.HTMX)
    assert f'data-system="{m["leads"].pk}">Lead generation</a>' in tree.content.decode()
    assert "max-age=31536000" in tree["Cache-Control"] and "immutable" in tree["Cache-Control"]
    assert "private" in tree["Cache-Control"]
    # Once the tree changes, pages name a new version, and the old one is no longer kept.
    m["leads"].name = "Lead gen"
    m["leads"].save()
    html = member_client.get(m["youtube"].get_absolute_url()).content.decode()
    assert address not in html
    stale = member_client.get(address, **make.HTMX)
    assert "no-cache" in stale["Cache-Control"] and "max-age" not in stale["Cache-Control"]
    assert ">Lead gen</a>" in stale.content.decode()


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


def test_a_large_map_opens_folded_below_two_levels_and_each_branch_comes_when_opened(
    member_client, settings, django_assert_num_queries
):
    wealth = make.SystemFactory(name="Wealth generation")
    revenue = make.SystemFactory(name="Revenue generation", parent=wealth)
    ip = make.SystemFactory(name="IP creation", parent=revenue)
    leads = make.SystemFactory(name="Lead generation", parent=ip)
    make.SystemFactory(name="Hiring")
    make.SOPFactory(process=make.ProcessFactory(system=leads))
    # A small map shows everything at once.
    html = member_client.get(reverse("home")).content.decode()
    assert "Lead generation" in html and "data-branch=" not in html

    settings.MAP_FOLD_OVER = 4
    html = member_client.get(reverse("home")).content.decode()
    assert "Revenue generation" in html and "Hiring" in html
    assert "IP creation" not in html and "Lead generation" not in html
    # The totals still count the whole map.
    totals = re.search(r'<ul class="stats".*?</ul>', html, re.DOTALL).group(0)
    assert re.sub(r"<[^>]+>|\s+", " ", totals).split() == [
        "5",
        "systems",
        "1",
        "process",
        "1",
        "SOP",
    ]
    button = re.search(r'<button [^>]*data-branch="([^"]+)"[^>]*>(.*?)</button>', html)
    assert button.group(1) == reverse("systems:branch", args=[revenue.pk])
    assert f'aria-controls="map-branch-{revenue.pk}"' in button.group(0)
    assert "Revenue generation: </span>2 systems inside" in button.group(2)

    branch = member_client.get(button.group(1), **make.HTMX).content.decode()
    assert "IP creation" in branch and "Lead generation" not in branch
    assert "1 system inside" in branch
    deepest = member_client.get(reverse("systems:branch", args=[ip.pk]), **make.HTMX)
    assert "Lead generation" in deepest.content.decode()
    assert (
        "1 process" in deepest.content.decode() and "data-branch=" not in deepest.content.decode()
    )
    # A wide branch costs what a narrow one does (the map's counts by system are two queries
    # here, in a test's transaction; in service they are kept for each version of the map).
    with django_assert_num_queries(8):
        member_client.get(reverse("systems:branch", args=[ip.pk]), **make.HTMX)
    make.SystemFactory.create_batch(20, parent=ip)
    with django_assert_num_queries(8):
        member_client.get(reverse("systems:branch", args=[ip.pk]), **make.HTMX)

    # The sidebar's tree comes folded the same way.
    tree = member_client.get(reverse("systems:tree"), **make.HTMX).content.decode()
    assert f'aria-expanded="false" aria-controls="branch-{revenue.pk}"' in tree
    assert f'id="branch-{revenue.pk}" role="list" hidden' in tree
    assert f'aria-expanded="true" aria-controls="branch-{wealth.pk}"' in tree


def test_a_system_moved_inside_an_opened_branch_redraws_that_branch_only(founder_client, settings):
    settings.MAP_FOLD_OVER = 2
    wealth = make.SystemFactory(name="Wealth generation")
    revenue = make.SystemFactory(name="Revenue generation", parent=wealth)
    first = make.SystemFactory(name="IP creation", parent=revenue)
    second = make.SystemFactory(name="Partnerships", parent=revenue)
    branch = f"map-branch-{revenue.pk}"
    html = founder_client.get(reverse("systems:branch", args=[revenue.pk]), **make.HTMX)
    html = html.content.decode()
    assert f'data-hx-target="#{branch}"' in html  # each move is sent for the branch

    response = founder_client.post(
        reverse("systems:move", args=[first.pk]),
        {"direction": "down", "next": reverse("systems:branch", args=[revenue.pk])},
        HTTP_HX_TARGET=branch,
        **make.HTMX,
    )
    assert response.status_code == 200 and "HX-Location" not in response
    html = response.content.decode()
    assert html.index("Partnerships") < html.index("IP creation")
    assert "Wealth generation" not in html  # the branch, not the map
    # The moved system's button keeps the focus (it is now the last: "up" is the one left).
    moved = re.search(rf'<form [^>]*action="/systems/{first.pk}/move/".*?</form>', html, re.S)
    assert re.search(r'value="up"[^>]*data-autofocus', moved.group(0))
    assert list(revenue.get_children()) == [second, first]

    # Moved among the map's open levels: the map is shown again, as before.
    make.SystemFactory(name="Hiring")
    response = founder_client.post(
        reverse("systems:move", args=[wealth.pk]), {"direction": "down"}, **make.HTMX
    )
    assert '"target": "#main"' in response["HX-Location"]
