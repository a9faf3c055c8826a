"""Software in the app: every tool with its cost and what uses it, each tool's page, founders
and admins adding and editing tools (also where they pick them), and every write path keeping
the same rules (the forms, the admin, the import)."""

from __future__ import annotations

import copy
import re
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse

from opsmodel.front.exchange import BadDocument, export_map, import_map
from opsmodel.roles import ADMINS
from systems.models import Software
from tests import factories as make

pytestmark = pytest.mark.django_db


@pytest.fixture
def tools(founder, member):
    """Two tools: Notion (used by a system and two SOPs, 20.00 a month) and Stripe (by one
    SOP, cost not known), and Canva (9.99, used by nothing)."""
    notion = make.SoftwareFactory(
        name="Notion", link="https://www.notion.so", category="operations", owner=founder,
        cost_per_month=Decimal("20.00"),
    )  # fmt: skip
    stripe = make.SoftwareFactory(name="Stripe", link="https://stripe.com", category="finance")
    canva = make.SoftwareFactory(name="Canva", owner=member, cost_per_month=Decimal("9.99"))
    system = make.SystemFactory(name="Revenue generation")
    system.software.set([notion])
    process = make.ProcessFactory(system=system, name="Billing")
    make.SOPFactory(process=process, title="Send the invoice", software=[notion, stripe])
    make.SOPFactory(process=process, title="Chase late payers", software=[notion])
    return {"notion": notion, "stripe": stripe, "canva": canva, "system": system}


@pytest.fixture
def admin_user():
    return make.UserFactory(username="admin", is_staff=True, roles=[ADMINS])


def text(response) -> str:
    """The page as a person reads it: tags out, spaces folded."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.content.decode()))


def row_of(html: str, name: str) -> str:
    return next(row for row in html.split("<tr>") if f">{name}</a>" in row)


def test_the_list_shows_every_tool_with_what_uses_it_and_the_monthly_total(member_client, tools):
    response = member_client.get(reverse("systems:software"))
    assert response.status_code == 200
    html = response.content.decode()
    notion = text(type(response)(row_of(html, "Notion")))
    assert "Operations and projects" in notion and "Maya Ortiz" in notion
    assert "1 system" in notion and "2 SOPs" in notion and "20.00" in notion
    assert "0 systems" in text(type(response)(row_of(html, "Canva")))
    assert "not known" in text(type(response)(row_of(html, "Stripe")))
    # The link opens the tool's own site safely; the name opens its page here.
    assert 'href="https://www.notion.so" rel="noopener noreferrer" target="_blank"' in html
    assert f'href="{tools["notion"].get_absolute_url()}"' in html
    footer = text(type(response)(html.split("<tfoot>")[1]))
    assert "Total a month" in footer and "29.99" in footer and "1 tool has no cost yet" in footer
    # Team members read it; they are not offered to add a tool.
    assert "+ New tool" not in html


def test_a_tool_page_lists_the_systems_and_the_sops_that_use_it(member_client, tools):
    response = member_client.get(tools["notion"].get_absolute_url())
    page = text(response)
    assert "Systems that use it 1" in page and "Revenue generation" in page
    assert "SOPs that use it 2" in page
    assert "Send the invoice" in page and "Chase late payers" in page
    assert "20.00" in page and "https://www.notion.so" in page
    stripe = text(member_client.get(tools["stripe"].get_absolute_url()))
    assert "No system lists it." in stripe and "Send the invoice" in stripe
    assert "Chase late payers" not in stripe and "Not known" in stripe


def test_a_tool_used_by_many_sops_lists_them_a_page_at_a_time(member_client):
    from sops.fills import SOPS_PER_PAGE

    bank = make.SoftwareFactory(name="Bank")
    process = make.ProcessFactory(name="Payments")
    for n in range(SOPS_PER_PAGE + 5):
        make.SOPFactory(process=process, title=f"Pay supplier {n:02}", software=[bank])
    # In a system further down the map: after them, though its title comes first.
    make.SOPFactory(process=make.ProcessFactory(), title="Audit the bank", software=[bank])
    url = bank.get_absolute_url()
    first = member_client.get(url).content.decode()
    assert f'SOPs that use it <span class="count">{SOPS_PER_PAGE + 6}</span>' in first
    assert first.count("Pay supplier") == SOPS_PER_PAGE and "Pay supplier 00" in first
    assert 'aria-label="Pages of the SOPs that use Bank"' in first
    assert 'rel="next" href="?page=2"' in first and "Audit the bank" not in first
    # Paging keeps the list in view: the next page comes in with its heading at the top.
    assert 'data-hx-swap="innerHTML show:#tool-sops-heading:top"><nav class="pager"' in first
    # The next page, as htmx fetches it: the rest, in the map's order.
    second = member_client.get(url, {"page": 2}, **make.HTMX).content.decode()
    assert second.count("Pay supplier") == 5
    assert second.index("Pay supplier 29") < second.index("Audit the bank")
    assert "<html" not in second and 'rel="prev" href="?page=1"' in second
    # A page that is not there: said so, the nearest shown.
    late = member_client.get(url, {"page": "9"}).content.decode()
    assert "There is no page “9”: this is page 2 of 2." in late


def test_a_stored_javascript_link_is_shown_as_text_never_followed(member_client):
    tool = make.SoftwareFactory(name="Old", link="https://ok.example.com")
    Software.objects.filter(pk=tool.pk).update(link="javascript:alert(1)")
    for url in (reverse("systems:software"), tool.get_absolute_url()):
        assert 'href="javascript:' not in member_client.get(url).content.decode()


def test_a_founder_adds_a_tool_and_changes_its_cost(founder_client, founder):
    data = {"name": "Loom", "link": "https://www.loom.com", "category": "communication",
            "owner": founder.pk, "cost_per_month": "12.50", "notes": "Screen videos."}  # fmt: skip
    response = founder_client.post(reverse("systems:software_new"), data)
    loom = Software.objects.get(name="Loom")
    assert response.status_code == 302 and response["Location"] == loom.get_absolute_url()
    assert loom.cost_per_month == Decimal("12.50") and loom.owner == founder
    edit = reverse("systems:software_edit", args=[loom.pk])
    response = founder_client.post(edit, {**data, "cost_per_month": "15"})
    assert response.status_code == 302
    loom.refresh_from_db()
    assert loom.cost_per_month == Decimal("15.00")
    response = founder_client.post(edit, {**data, "cost_per_month": ""})
    loom.refresh_from_db()
    assert loom.cost_per_month is None


@pytest.mark.parametrize(
    "field, value, message",
    [
        ("cost_per_month", "-1", "A cost cannot be below 0."),
        ("cost_per_month", "12.345", "two decimal places"),
        ("cost_per_month", "lots", "Write the cost as a number"),
        ("link", "javascript:alert(1)", "Enter a web address starting with https://."),
        ("name", "Notion", "There is already a tool with that name."),
    ],
)
def test_the_form_refuses_what_no_write_path_may_store(
    founder_client, tools, field, value, message
):
    data = {"name": "Loom", "link": "", "category": "other", "owner": "", "cost_per_month": ""}
    response = founder_client.post(reverse("systems:software_new"), {**data, field: value})
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not Software.objects.filter(name="Loom").exists()


def test_team_members_may_not_add_or_change_a_tool(member_client, tools):
    notion = tools["notion"]
    data = {"name": "Loom", "category": "other", "cost_per_month": "1"}
    assert member_client.post(reverse("systems:software_new"), data).status_code == 403
    edit = reverse("systems:software_edit", args=[notion.pk])
    assert member_client.post(edit, {**data, "name": "Notion"}).status_code == 403
    add = {"tool-name": "Loom", "tool-category": "other"}
    assert member_client.post(reverse("systems:software_add"), add).status_code == 403
    assert not Software.objects.filter(name="Loom").exists()
    notion.refresh_from_db()
    assert notion.cost_per_month == Decimal("20.00")
    # The page offers them no edit either.
    assert "software_edit" not in member_client.get(notion.get_absolute_url()).content.decode()
    assert "/edit/" not in member_client.get(notion.get_absolute_url()).content.decode()


def test_founders_add_and_change_but_do_not_delete_tools(founder, admin_user):
    assert founder.has_perms(["systems.add_software", "systems.change_software"])
    assert not founder.has_perm("systems.delete_software")
    assert admin_user.has_perms(["systems.add_software", "systems.delete_software"])


def test_an_admin_edits_a_tool_in_the_app(admin_user, tools):
    client = Client()
    client.force_login(admin_user)
    notion = tools["notion"]
    edit = reverse("systems:software_edit", args=[notion.pk])
    data = {"name": "Notion", "link": "https://www.notion.so", "category": "operations",
            "owner": notion.owner_id, "cost_per_month": "24.00"}  # fmt: skip
    assert client.post(edit, data).status_code == 302
    notion.refresh_from_db()
    assert notion.cost_per_month == Decimal("24.00")


def test_the_admin_shows_the_cost_and_refuses_a_negative_one(admin_client, tools):
    changelist = admin_client.get(reverse("admin:systems_software_changelist"))
    assert "Cost per month" in changelist.content.decode()
    notion = tools["notion"]
    change = reverse("admin:systems_software_change", args=[notion.pk])
    data = {"name": "Notion", "link": "https://www.notion.so", "category": "operations",
            "owner": notion.owner_id, "cost_per_month": "-3", "notes": ""}  # fmt: skip
    response = admin_client.post(change, data)
    assert response.status_code == 200 and "A cost cannot be below 0." in response.content.decode()
    notion.refresh_from_db()
    assert notion.cost_per_month == Decimal("20.00")


# Adding a tool where it is picked: the system's and the SOP's forms.


def test_the_system_and_sop_forms_offer_add_a_tool_inside_the_form_without_a_nested_form(
    founder_client, tools
):
    sop = tools["notion"].sops.first()
    for url in (
        reverse("systems:edit", args=[tools["system"].pk]),
        reverse("sops:edit", args=[sop.pk]),
    ):
        html = founder_client.get(url).content.decode()
        form = html[html.index('<form method="post"', html.index("<main")) :]
        form = form[: form.index("</form>")]
        # The disclosure sits in the form, under the checkboxes, and opens no form of its own.
        assert "<summary>Add a tool</summary>" in form
        assert form.index('id="id_software_choices"') < form.index("Add a tool")
        assert form.count("<form") == 1
        assert 'data-hx-params="software,tool-name,tool-link,tool-category"' in form


def test_team_members_suggesting_an_edit_are_not_offered_to_add_a_tool(member_client, tools):
    sop = tools["notion"].sops.first()
    html = member_client.get(reverse("sops:suggest", args=[sop.pk])).content.decode()
    assert "Add a tool" not in html


def test_a_tool_added_where_it_is_picked_comes_back_ticked_with_the_others_kept(
    founder_client, founder, tools
):
    stripe = tools["stripe"]
    response = founder_client.post(
        reverse("systems:software_add"),
        {"software": [str(stripe.pk)], "tool-name": "Loom",
         "tool-link": "https://www.loom.com", "tool-category": "communication"},
        HTTP_HX_REQUEST="true",
    )  # fmt: skip
    loom = Software.objects.get(name="Loom")
    assert loom.category == "communication" and loom.link == "https://www.loom.com"
    assert loom.owner == founder and loom.cost_per_month is None
    html = response.content.decode()
    ticked = set(re.findall(r'value="(\d+)"[^>]*checked', html))
    assert ticked == {str(stripe.pk), str(loom.pk)}
    assert f'value="{tools["canva"].pk}"' in html  # every tool still offered
    assert "Added “Loom” (you look after it) and ticked it" in html
    # Only the checkboxes and the little block come back: nothing of the form around them.
    assert "<form" not in html and 'name="title"' not in html and 'name="name"' not in html
    assert 'data-hx-swap-oob="true"' in html


@pytest.mark.parametrize(
    "name, link, message",
    [
        ("Notion", "", "There is already a tool with that name."),
        ("Loom", "javascript:alert(1)", "Enter a web address starting with https://."),
        ("", "", "This field is required."),
    ],
)
def test_a_tool_refused_where_it_is_picked_says_why_next_to_its_field(
    founder_client, tools, name, link, message
):
    stripe = tools["stripe"]
    response = founder_client.post(
        reverse("systems:software_add"),
        {"software": [str(stripe.pk)], "tool-name": name, "tool-link": link,
         "tool-category": "other"},
        HTTP_HX_REQUEST="true",
    )  # fmt: skip
    html = response.content.decode()
    assert message in html and 'class="field-error"' in html
    assert set(re.findall(r'value="(\d+)"[^>]*checked', html)) == {str(stripe.pk)}
    assert f'value="{link}"' in html or not link  # what was typed stays
    assert Software.objects.count() == 3


def test_a_tool_added_on_the_sop_form_is_saved_with_the_sop(founder_client, tools):
    sop = tools["notion"].sops.get(title="Chase late payers")
    founder_client.post(
        reverse("systems:software_add"),
        {"tool-name": "Loom", "tool-category": "communication"},
        HTTP_HX_REQUEST="true",
    )
    loom = Software.objects.get(name="Loom")
    data = {
        "version": sop.version, "title": "Chase late payers, kindly", "process": sop.process_id,
        "owner": sop.owner_id, "outcome": sop.outcome, "estimated_minutes": 30,
        "software": [tools["notion"].pk, loom.pk], "body": sop.body, "review_interval_days": 90,
    }  # fmt: skip
    response = founder_client.post(reverse("sops:edit", args=[sop.pk]), data)
    assert response.status_code == 302
    sop.refresh_from_db()
    assert sop.title == "Chase late payers, kindly"
    assert set(sop.software.values_list("name", flat=True)) == {"Notion", "Loom"}


def test_search_finds_a_tool_and_opens_its_page(member_client, tools):
    html = member_client.get(reverse("front:search"), {"q": "notion"}).content.decode()
    assert f'href="{tools["notion"].get_absolute_url()}"' in html


# The export and the import carry the cost.


def test_export_and_import_carry_the_cost(tools):
    doc = export_map()
    costs = {t["name"]: t["cost_per_month"] for t in doc["software"]}
    assert costs == {"Canva": "9.99", "Notion": "20.00", "Stripe": None}
    Software.objects.filter(name="Notion").update(cost_per_month=Decimal("1.00"))
    import_map(copy.deepcopy(doc))
    assert Software.objects.get(name="Notion").cost_per_month == Decimal("20.00")
    assert Software.objects.get(name="Stripe").cost_per_month is None
    assert export_map()["software"] == doc["software"]


def test_an_export_made_before_costs_still_imports(tools):
    doc = export_map()
    for tool in doc["software"]:
        del tool["cost_per_month"]
    doc["software"].append({"name": "Loom", "link": "https://www.loom.com"})
    import_map(doc)
    assert Software.objects.get(name="Loom").cost_per_month is None


@pytest.mark.parametrize(
    "cost, message",
    [
        ("-5", "cost_per_month: A cost cannot be below 0."),
        (12.345, "cost_per_month: Ensure that there are no more than 2 decimal places."),
        ([1], "cost_per_month should be a number"),
    ],
)
def test_the_import_refuses_a_cost_the_forms_refuse(tools, cost, message):
    doc = export_map()
    doc["software"].append({"name": "Loom", "cost_per_month": cost})
    with pytest.raises(BadDocument) as refused:
        import_map(doc)
    assert any(message in problem for problem in refused.value.problems), refused.value.problems
    assert not Software.objects.filter(name="Loom").exists()


def test_a_number_in_the_document_is_read_exactly(tools):
    doc = export_map()
    doc["software"].append({"name": "Loom", "cost_per_month": 12.5})
    import_map(doc)
    assert Software.objects.get(name="Loom").cost_per_month == Decimal("12.50")
