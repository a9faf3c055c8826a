"""The source's scope rules as live checks, and the health of the whole map."""

from __future__ import annotations

import pytest
from django.urls import reverse

from opsmodel.front.health import map_health
from tests import factories as make

pytestmark = pytest.mark.django_db


def messages(warnings) -> str:
    return " | ".join(w.message for w in warnings)


def test_the_sop_page_shows_its_warnings_with_the_rule(member_client):
    sop = make.SOPFactory(estimated_minutes=240)
    html = member_client.get(sop.get_absolute_url()).content.decode()
    assert "longer than one sitting" in html
    assert "belongs at the process level" in html


def test_the_health_page_shows_coverage_and_every_warning(member_client):
    process = make.ProcessFactory()
    make.StepFactory(process=process)
    step = make.StepFactory(process=process)
    make.SOPFactory(process=process, step=step, owner=None)
    html = member_client.get(reverse("front:health")).content.decode()
    assert "50%</strong> Steps with an SOP" in html
    assert "0%</strong> SOPs with an owner" in html
    assert "No owner: one person does this task." in html


@pytest.mark.parametrize("size", [(2, 1, 2), (12, 3, 5)])
def test_the_health_page_runs_a_fixed_number_of_queries(
    member_client, django_assert_max_num_queries, size
):
    make.build_map(*size)
    make.UserFactory(first_name="Sam")
    # 2 of them read what the runs say (opsmodel.runs.health).
    with django_assert_max_num_queries(14):
        assert member_client.get(reverse("front:health"), HTTP_HX_REQUEST="true").status_code == 200


def test_the_system_page_shows_its_scope_warnings(member_client):
    system = make.SystemFactory(purpose="", owner=None)
    html = member_client.get(system.get_absolute_url()).content.decode()
    for text in ["No processes", "No owner: who answers for it?", "No purpose", "No monthly"]:
        assert text in html


def known_map():
    """Revenue ⊃ Leads. Leads: 4 steps, 3 with an SOP, one SOP without owner.
    Revenue itself: 2 steps, none with an SOP."""
    owner = make.UserFactory()
    revenue = make.SystemFactory(name="Revenue generation", owner=owner)
    leads = make.SystemFactory(name="Lead generation", parent=revenue, owner=owner)
    process = make.ProcessFactory(system=leads, name="Cold outreach", owner=owner)
    for n in range(4):
        step = make.StepFactory(process=process, name=f"Lead step {n}", owner=owner)
        if n < 3:
            make.SOPFactory(process=process, step=step, owner=owner if n else None, outcome="Done")
    billing = make.ProcessFactory(system=revenue, name="Billing", owner=owner)
    make.StepFactory(process=billing, name="Send the invoice", owner=owner)
    make.StepFactory(process=billing, name="Chase late payers", owner=owner)
    return revenue, leads


def test_coverage_is_given_per_system_with_its_sub_systems():
    revenue, leads = known_map()
    health = map_health()
    rows = {system.name: figures for system, _, figures, _ in health["by_system"]}
    assert [(f.part, f.whole) for f in rows["Lead generation"]] == [(3, 4), (2, 3), (3, 3)]
    assert [(f.part, f.whole) for f in rows["Revenue generation"]] == [(3, 6), (2, 3), (3, 3)]
    assert [(f.part, f.whole) for f in health["coverage"]] == [(3, 6), (2, 3), (3, 3)]
    scoped = map_health(leads)
    assert [(f.part, f.whole) for f in scoped["coverage"]] == [(3, 4), (2, 3), (3, 3)]
    assert [s.name for s, *_ in scoped["by_system"]] == ["Lead generation"]
    assert [step.name for step in scoped["undocumented"]] == ["Lead step 3"]
    assert {step.name for step in health["undocumented"]} == {
        "Lead step 3",
        "Send the invoice",
        "Chase late payers",
    }


def test_each_figure_links_to_the_list_behind_it(member_client):
    revenue, leads = known_map()
    html = member_client.get(reverse("front:health")).text
    assert 'href="#gap-undocumented"><strong>50%</strong> Steps with an SOP' in html
    assert 'id="gap-undocumented"' in html and "Chase late payers" in html
    assert 'href="#gap-unowned"><strong>67%</strong> SOPs with an owner' in html
    # Each system's figures open its own lists.
    scoped_url = f"{reverse('front:health')}?system={leads.pk}"
    assert f'href="{scoped_url}#gap-undocumented"' in html
    scoped = member_client.get(scoped_url).text
    assert "How well Lead generation follows the map's rules" in scoped
    assert "Lead step 3" in scoped and "Chase late payers" not in scoped
    assert "75%</strong> Steps with an SOP" in scoped


def test_health_for_a_system_that_does_not_exist_is_a_404(member_client):
    for bad in ["999", "x"]:
        assert member_client.get(reverse("front:health"), {"system": bad}).status_code == 404


@pytest.mark.parametrize("size", [(2, 1, 2), (12, 3, 5)])
def test_health_for_one_system_runs_a_fixed_number_of_queries(
    member_client, django_assert_max_num_queries, size
):
    systems = make.build_map(*size)
    with django_assert_max_num_queries(15):
        url = f"{reverse('front:health')}?system={systems[0].pk}"
        assert member_client.get(url, HTTP_HX_REQUEST="true").status_code == 200


def test_long_lists_show_the_first_fifty_and_say_how_many_more(member_client):
    process = make.ProcessFactory()
    for n in range(52):
        make.SOPFactory(process=process, title=f"Unowned {n:02}", owner=None)
    html = member_client.get(reverse("front:health")).text
    section = html.split('id="gap-unowned"')[1].split("</section>")[0]
    assert '<span class="count">52</span>' in section
    assert "Unowned 49" in section and "Unowned 50" not in section
    assert "And 2 more." in section
    show_all = f"{reverse('front:health')}?show=unowned#gap-unowned"
    assert f'<a href="{show_all}">Show all 52' in section
    whole = member_client.get(reverse("front:health"), {"show": "unowned"}).text
    section = whole.split('id="gap-unowned"')[1].split("</section>")[0]
    assert "Unowned 51" in section and "more." not in section
    # The other lists stay short.
    assert "Show all" not in whole.split('id="gap-undocumented"')[1].split("</section>")[0]


def test_an_empty_system_choice_means_the_whole_map(member_client):
    known_map()
    response = member_client.get(reverse("front:health"), {"system": ""})
    assert response.status_code == 200 and "How well the map follows its own rules" in response.text


def test_the_open_warnings_figure_counts_every_warning_on_a_known_map(member_client):
    known_map()
    # Each system: no metric (2). Each process: steps without a due date, a step without an
    # SOP, no weekly metric (6). One SOP without an owner (1).
    assert map_health()["open"] == 9
    html = member_client.get(reverse("front:health")).text
    assert 'href="#gap-warnings"><strong>9</strong> open scope warnings' in html
    warnings = html.split('id="gap-warnings"')[1]
    assert warnings.count("<li>") == 9
    assert "Cold outreach</a>: 4 steps without a due date." in warnings
    assert "Revenue generation</a>: No monthly or annual metric." in warnings


def test_each_item_in_the_lists_says_where_it_is(member_client):
    known_map()
    html = member_client.get(reverse("front:health")).text
    unowned = html.split('id="gap-unowned"')[1].split("</section>")[0]
    assert '<span class="muted">· in Cold outreach</span>' in unowned
    assert '<span class="muted">Lead generation ›</span> <a href="' in html  # Cold outreach's
