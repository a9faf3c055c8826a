"""Real-browser tests: Playwright driving Debian's Chromium at /usr/bin/chromium.

A missing browser fails these tests rather than skipping them, so CI cannot pass without them.
"""

from __future__ import annotations

import io
import os
import re
import zipfile
from pathlib import Path

import pytest
from django.core.management import call_command

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(scope="module")
def browser():
    # live_server runs Django in a thread next to Playwright's event loop.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    from playwright.sync_api import sync_playwright

    assert Path(CHROMIUM).exists(), f"Chromium is needed at {CHROMIUM}: apt-get install -y chromium"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield browser
        browser.close()


@pytest.fixture
def login():
    return "member"


@pytest.fixture
def bypass_csp():
    """Only the accessibility checks inject a script (axe-core) past the page's CSP."""
    return False


@pytest.fixture
def page(browser, live_server, settings, login, bypass_csp):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    call_command("loaddemo", stdout=io.StringIO())
    context = browser.new_context(
        base_url=live_server.url, viewport={"width": 1280, "height": 900}, bypass_csp=bypass_csp
    )
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: msg.type == "error" and errors.append(msg.text))
    page.console_errors = errors  # CSP violations are console errors too: none may happen
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill(login)
    page.get_by_label("Password").fill("opsmodel-demo")
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(re.compile(r"/(my-work/)?$"))
    page.goto("/")
    yield page
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=ARTIFACTS / "last-page.png", full_page=True)
    context.close()
    assert errors == []


def test_drilling_down_swaps_the_main_region_and_back_works(page):
    from playwright.sync_api import expect

    # A marker on window survives htmx swaps but not a full page load.
    page.evaluate("window.__sameDocument = true")
    main = page.locator("#main")

    main.get_by_role("link", name="Lead generation").click()
    expect(page).to_have_url(re.compile(r"/systems/\d+/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Lead generation")
    expect(page).to_have_title("Lead generation · Opsmodel")
    expect(page.locator('#sidebar a[aria-current="true"]')).to_have_text("Lead generation")

    main.get_by_role("link", name="YouTube content creation").click()
    expect(page).to_have_url(re.compile(r"/processes/\d+/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("YouTube content creation")

    main.get_by_role("link", name="Recording a video").click()
    expect(page).to_have_url(re.compile(r"/sops/\d+/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Recording a video")
    expect(page.locator(".prose ol li").first).to_contain_text("Charge the camera")
    # Focus moved to the new heading, for keyboard and screen-reader users.
    assert page.evaluate("document.activeElement.tagName") == "H1"
    assert page.evaluate("window.__sameDocument") is True

    page.go_back()
    expect(page).to_have_url(re.compile(r"/processes/\d+/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("YouTube content creation")
    page.go_back()
    expect(page.get_by_role("heading", level=1)).to_have_text("Lead generation")
    page.go_forward()
    expect(page.get_by_role("heading", level=1)).to_have_text("YouTube content creation")
    assert page.evaluate("window.__sameDocument") is True

    # Reloading a pushed URL renders the whole page.
    page.reload()
    expect(page.get_by_role("heading", level=1)).to_have_text("YouTube content creation")
    expect(page.locator("#sidebar")).to_be_visible()
    assert page.evaluate("window.__sameDocument") is None


def test_a_large_map_opens_folded_and_its_branches_open_from_the_keyboard(page, settings):
    from django.core.cache import caches
    from playwright.sync_api import expect

    settings.MAP_FOLD_OVER = 2
    caches["default"].clear()  # the map drawn unfolded and kept: a setting is no write
    page.reload()
    main = page.locator("#main")
    expect(main.get_by_role("heading", level=1)).to_be_visible()
    expect(main.get_by_role("link", name="IP creation")).to_have_count(0)
    toggle = main.get_by_role("button", name=re.compile(r"Revenue generation: \d+ systems? inside"))
    expect(toggle).to_have_attribute("aria-expanded", "false")
    toggle.focus()
    page.keyboard.press("Enter")
    expect(toggle).to_have_attribute("aria-expanded", "true")
    expect(main.get_by_role("link", name="IP creation")).to_be_visible()
    expect(toggle).to_be_focused()
    page.keyboard.press("Enter")
    expect(toggle).to_have_attribute("aria-expanded", "false")
    expect(main.get_by_role("link", name="IP creation")).to_be_hidden()
    page.keyboard.press("Space")
    main.get_by_role("link", name="IP creation").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("IP creation")
    # The sidebar's tree, folded as well, opens the way to the page's own system.
    current = page.locator('#sidebar a[aria-current="true"]')
    expect(current).to_have_text("IP creation")
    page.reload()
    expect(current).to_have_text("IP creation")
    expect(current).to_be_visible()
    twisty = page.get_by_role("button", name="Sub-systems of Revenue generation")
    expect(twisty).to_have_attribute("aria-expanded", "true")
    assert page.console_errors == []


@pytest.mark.parametrize("login", ["founder"])
def test_a_founder_reorders_systems_inside_an_opened_branch_from_the_keyboard(page, settings):
    from django.core.cache import caches
    from playwright.sync_api import expect

    from systems.models import System

    revenue = System.objects.get(name="Revenue generation")
    System.objects.create(name="Partnerships", parent=revenue)
    settings.MAP_FOLD_OVER = 2
    caches["default"].clear()
    page.reload()
    main = page.locator("#main")
    opener = main.get_by_role("button", name=re.compile(r"Revenue generation: \d+ systems? inside"))
    opener.click()
    expect(opener).to_have_attribute("aria-expanded", "true")  # fetched, and shown
    branch = page.locator(f"#map-branch-{revenue.pk}")
    names = branch.locator(":scope > ul > li > article h3")
    expect(names).to_have_text(["IP creation", "Partnerships"])
    branch.get_by_role("button", name="Move IP creation down").focus()
    page.keyboard.press("Enter")
    expect(names).to_have_text(["Partnerships", "IP creation"])
    # The branch stays open, the rest of the map as it was, the focus on the moved system.
    expect(main.get_by_role("heading", level=1)).to_be_visible()
    expect(branch.get_by_role("button", name="Move IP creation up")).to_be_focused()
    assert [s.name for s in revenue.get_children()] == ["Partnerships", "IP creation"]


def test_a_branch_that_could_not_be_fetched_says_so_and_opens_on_the_next_try(page, settings):
    from django.core.cache import caches
    from playwright.sync_api import expect

    settings.MAP_FOLD_OVER = 2
    caches["default"].clear()
    page.reload()
    main = page.locator("#main")
    toggle = main.get_by_role("button", name=re.compile(r"Revenue generation: \d+ systems? inside"))
    page.route("**/branch/", lambda route: route.abort())  # the network drops it
    toggle.click()
    notice = page.locator("#notice")
    expect(notice).to_have_text("Could not open Revenue generation: try again.")
    expect(notice).to_have_class(re.compile(r"\bstatus-problem\b"))  # not a success's colour
    expect(toggle).not_to_have_attribute("aria-busy", "true")
    expect(toggle).to_have_attribute("aria-expanded", "false")
    # What the browser and htmx log of the dropped request, and nothing else.
    assert page.console_errors and all(
        "ERR_FAILED" in error or "htmx:" in error for error in page.console_errors
    )
    page.console_errors.clear()
    page.unroute("**/branch/")
    toggle.click()
    expect(toggle).to_have_attribute("aria-expanded", "true")
    expect(main.get_by_role("link", name="IP creation")).to_be_visible()


def test_the_sidebar_tree_collapses_from_the_keyboard(page):
    from playwright.sync_api import expect

    twisty = page.get_by_role("button", name="Sub-systems of Revenue generation")
    twisty.focus()
    page.keyboard.press("Enter")
    expect(twisty).to_have_attribute("aria-expanded", "false")
    expect(page.locator("#sidebar").get_by_role("link", name="IP creation")).to_be_hidden()
    page.keyboard.press("Space")
    expect(page.locator("#sidebar").get_by_role("link", name="IP creation")).to_be_visible()


@pytest.mark.parametrize("login", ["founder"])
def test_a_branch_closed_in_the_sidebar_stays_closed_through_the_pages_own_swaps(page):
    from playwright.sync_api import expect

    sidebar = page.locator("#sidebar")
    sidebar.get_by_role("link", name="IP creation").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("IP creation")
    twisty = page.get_by_role("button", name="Sub-systems of Revenue generation")
    expect(twisty).to_have_attribute("aria-expanded", "true")
    twisty.click()
    expect(sidebar.get_by_role("link", name="IP creation")).to_be_hidden()
    # An edit opened and cancelled on the same system's page: the branch is left as it was.
    page.locator("#main").get_by_role("link", name="Edit IP creation").click()
    page.get_by_role("link", name="Cancel").click()
    expect(page.locator("#main").get_by_role("link", name="Edit IP creation")).to_be_visible()
    # The swap has settled (focus goes to the heading then): the branch stays closed after it.
    expect(page.get_by_role("heading", level=1)).to_be_focused()
    expect(twisty).to_have_attribute("aria-expanded", "false")
    # Another system's page, inside the closed branch, opens the way to it again.
    page.locator("#main").get_by_role("link", name="Lead generation").first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Lead generation")
    expect(twisty).to_have_attribute("aria-expanded", "true")
    expect(sidebar.get_by_role("link", name="Lead generation")).to_be_visible()


def test_a_script_in_an_sop_body_never_runs(page):
    from sops.models import SOP

    sop = SOP.objects.get(title="Recording a video")
    sop.body = (
        "<script>window.__pwned = 1</script>\n\n"
        '<img src=x onerror="window.__pwned = 2">\n\n'
        "1. Safe step"
    )
    sop.save()
    page.goto(sop.get_absolute_url())
    page.get_by_role("heading", name="Recording a video").wait_for()
    assert page.evaluate("window.__pwned") is None


AXE = Path(__file__).resolve().parent / "vendor" / "axe.min.js"  # axe-core 4.14, MPL-2.0


def axe_violations(page) -> list[str]:
    page.add_script_tag(path=AXE)
    result = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
    return [
        f"{v['id']} ({v['impact']}): {v['help']} — {[n['target'] for n in v['nodes']][:3]}"
        for v in result["violations"]
    ]


@pytest.mark.parametrize("bypass_csp", [True])
def test_every_page_passes_axe_accessibility_checks(page):
    from sops.models import SOP

    sop = SOP.objects.select_related("process__system").get(title="Recording a video")
    urls = [
        "/",
        sop.process.system.get_absolute_url(),
        sop.process.get_absolute_url(),
        sop.get_absolute_url(),
    ]
    for url in urls:
        page.goto(url)
        assert axe_violations(page) == [], url


def test_the_login_page_passes_axe_accessibility_checks(browser, live_server):
    page = browser.new_page(base_url=live_server.url, bypass_csp=True)
    page.goto("/accounts/login/")
    assert axe_violations(page) == []
    page.close()


@pytest.mark.parametrize("bypass_csp", [True])
@pytest.mark.parametrize("login", ["founder"])  # the demo's founder is an admin too
def test_the_pages_that_manage_people_pass_axe_accessibility_checks(page, browser, live_server):
    for url in [
        "/people/",
        "/people/new/",
        "/people/member/",
        "/people/member/edit/",
        "/people/member/deactivate/",
        "/people/member/reassign/",
    ]:
        page.goto(url)
        assert axe_violations(page) == [], url
    visitor = browser.new_page(base_url=live_server.url, bypass_csp=True)
    for url in [
        "/accounts/password/forgot/",
        "/accounts/password/forgot/sent/",
        "/accounts/password/set/MQ/no-such-token/",
        "/accounts/password/set/done/",
    ]:
        visitor.goto(url)
        assert axe_violations(visitor) == [], url
    visitor.close()


@pytest.mark.parametrize("login", ["founder"])
def test_a_founder_edits_a_process_inline_and_reorders_its_steps(page):
    from playwright.sync_api import expect

    from processes.models import Process

    process = Process.objects.get(name="YouTube content creation")
    page.goto(process.get_absolute_url())
    page.evaluate("window.__sameDocument = true")

    # Edit inline: the form replaces the summary, saving swaps the summary back.
    page.get_by_role("link", name="Edit YouTube content creation").click()
    name = page.get_by_label("Name")
    expect(name).to_be_focused()
    name.fill("YouTube videos")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("YouTube videos")
    # The breadcrumb and the sidebar show the new name too; the page never reloaded.
    expect(page.locator(".breadcrumbs [aria-current]")).to_have_text("YouTube videos")
    assert page.evaluate("window.__sameDocument") is True

    # Bad input keeps what was typed and says what is wrong, next to the field.
    page.get_by_role("link", name="Edit YouTube videos").click()
    # Wait for the form to settle (its first field takes focus) before typing elsewhere.
    expect(page.get_by_label("Name")).to_be_focused()
    page.get_by_label("Name").fill("")
    page.get_by_label("Result").fill("Two videos a week")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator("#id_name_error")).to_have_text("This field is required.")
    expect(page.get_by_label("Result")).to_have_value("Two videos a week")
    page.get_by_role("link", name="Cancel").click()
    expect(page.locator("form.edit-form")).to_have_count(0)

    # Reorder from the keyboard: move "Editing" up, focus stays on the button.
    steps = page.locator(".road-step h3")
    expect(steps).to_have_text(
        ["Step 1: Scripting", "Step 2: Filming", "Step 3: Editing", "Step 4: Publishing"]
    )
    page.get_by_role("button", name="Move Editing up").focus()
    page.keyboard.press("Enter")
    expect(steps).to_have_text(
        ["Step 1: Scripting", "Step 2: Editing", "Step 3: Filming", "Step 4: Publishing"]
    )
    expect(page.get_by_role("button", name="Move Editing up")).to_be_focused()

    # Reorder with the mouse: drag "Publishing" onto the first step.
    publishing, scripting = (process.steps.get(name=n).pk for n in ["Publishing", "Scripting"])
    page.locator(f"#step-{publishing}").drag_to(
        page.locator(f"#step-{scripting}"),
        target_position={"x": 10, "y": 40},
    )
    expect(steps.first).to_have_text("Step 1: Publishing")

    page.reload()
    expect(page.locator(".road-step h3")).to_have_text(
        ["Step 1: Publishing", "Step 2: Scripting", "Step 3: Editing", "Step 4: Filming"]
    )
    expect(page.get_by_role("heading", level=1)).to_have_text("YouTube videos")


def test_the_csp_blocks_inline_script_and_the_app_still_works(page):
    from playwright.sync_api import Error, expect

    with pytest.raises(Error, match="Content Security Policy"):
        page.add_script_tag(content="window.__injected = true")
    assert page.evaluate("window.__injected") is None
    page.console_errors.clear()  # that one violation was the point of the test

    # htmx, the sidebar and the app's own script all run under the policy.
    page.locator("#main").get_by_role("link", name="Lead generation").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Lead generation")
    expect(page.locator('#sidebar a[aria-current="true"]')).to_have_text("Lead generation")


@pytest.mark.parametrize("login", ["founder"])
def test_a_founder_compares_two_revisions_and_restores_one_from_the_keyboard(page):
    from playwright.sync_api import expect

    from sops.models import SOP

    sop = SOP.objects.get(title="Writing a video script")
    page.goto(sop.get_absolute_url() + "edit/")
    body = page.locator("#id_body")
    body.fill(body.input_value().replace("in another", "in the next"))
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Writing a video script")
    expect(page.get_by_role("heading", level=1)).to_be_focused()  # the page has settled

    page.get_by_role("link", name="History").focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_be_focused()
    expect(page.get_by_role("row")).to_have_count(3)  # the header, revisions 2 and 1
    page.get_by_role("button", name="Compare the two revisions").press("Enter")
    expect(page.get_by_role("heading", level=1)).to_contain_text("revision 1 → 2")
    expect(page.locator("del").first).to_contain_text("another")
    expect(page.locator("ins").first).to_contain_text("the next")
    page.get_by_role("link", name="One column").click()
    expect(page.locator(".diff-inline")).to_be_visible()

    page.get_by_role("link", name="Restore revision 1…").click()
    expect(page.locator("#id_body")).to_have_value(re.compile("in another"))
    page.get_by_role("button", name="Restore revision 1").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Writing a video script")
    expect(page.get_by_role("status")).to_have_text(
        "Restored revision 1; it is now the newest revision."
    )
    sop.refresh_from_db()
    assert "in another" in sop.body


@pytest.mark.parametrize("bypass_csp", [True])
@pytest.mark.parametrize("login", ["member", "founder"])  # founders see more: fixes, promotion
def test_history_health_warning_and_promotion_pages_pass_axe_accessibility_checks(page, login):
    from opsmodel import history
    from sops.models import SOP

    sop = SOP.objects.get(title="Writing a video script")
    history.record(sop, None, "Created")
    sop.body = sop.body.replace("in another", "in the next")
    history.record(sop, None, "Edited")
    compare = f"{sop.get_absolute_url()}history/compare/?from=1&to=2"
    system = sop.process.system
    too_big = SOP.objects.get(title="Launching the course")  # the demo's SOP with warnings
    urls = [
        f"{sop.get_absolute_url()}history/",
        compare,
        f"{compare}&layout=inline",
        "/health/",
        f"/health/?system={system.pk}",
        too_big.get_absolute_url(),
        too_big.process.get_absolute_url(),
        "/my-work/",
    ]
    if login == "founder":
        # The promotion, and the editor of an SOP's instructions with its toolbar and preview.
        urls += [f"{too_big.get_absolute_url()}promote/", f"{sop.get_absolute_url()}edit/"]
    else:
        urls.append(f"{sop.get_absolute_url()}suggest/")
    for url in urls:
        page.goto(url)
        # Folded explanations and warnings are checked open.
        page.evaluate("document.querySelectorAll('details').forEach(d => d.open = true)")
        assert axe_violations(page) == [], url


@pytest.mark.parametrize("login", ["founder"])
def test_a_founder_turns_an_sop_too_big_for_one_sitting_into_a_process(page):
    from playwright.sync_api import expect

    from sops.models import SOP

    sop = SOP.objects.get(title="Launching the course")
    page.goto(sop.get_absolute_url())
    page.get_by_text("Worth a look").click()
    expect(page.get_by_text("Estimated at 240 minutes: longer than one sitting")).to_be_visible()
    page.get_by_role("link", name="Turn this SOP into a process…").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Turn “Launching the course” into a process?"
    )
    page.get_by_role("button", name="Create the process").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Launching the course")
    expect(page.get_by_role("status")).to_have_text(
        "Turned “Launching the course” into the process “Launching the course”."
    )
    expect(page.get_by_role("heading", name=re.compile("Steps"))).to_be_visible()
    expect(page.locator("ol.road > li")).to_have_count(5)


def log_in(browser, live_server, username: str, width: int = 390, height: int = 844):
    """A second person, in a browser context of their own."""
    viewport = {"width": width, "height": height}
    context = browser.new_context(base_url=live_server.url, viewport=viewport)
    page = context.new_page()
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill("opsmodel-demo")
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(re.compile(r"/(my-work/)?$"))
    return context, page


@pytest.mark.parametrize("login", ["founder"])
def test_a_founder_starts_a_run_the_member_ticks_it_and_the_founder_sees_who_and_when(
    page, browser, live_server
):
    from playwright.sync_api import expect

    from processes.models import Process

    process = Process.objects.get(name="YouTube content creation")
    page.goto(process.get_absolute_url())
    page.get_by_role("link", name="Start a run of YouTube content creation").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Start a run of YouTube content creation"
    )
    # A start too far away is refused next to its field; what was typed stays.
    page.get_by_label("Name of the run").fill("Video #99")
    page.get_by_label("Starts on").fill("2099-01-01")
    page.get_by_role("button", name="Start the run").click()
    expect(page.locator("#id_starts_on_error")).to_have_text(
        "A run starts within a year of today, before or after."
    )
    expect(page.get_by_label("Name of the run")).to_have_value("Video #99")
    page.get_by_label("Starts on").fill(timezone_today())
    page.get_by_role("button", name="Start the run").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Video #99")
    expect(page.get_by_role("status")).to_contain_text("Started “Video #99”: 4 steps")
    run_url = page.url

    # The team member ticks Scripting from My work, in place, on a phone.
    context, member = log_in(browser, live_server, "member")
    member.goto("/my-work/")
    rows = member.locator(".run-step").filter(has=member.get_by_role("link", name="Video #99"))
    row = rows.filter(has_text="Scripting")
    row.get_by_role("button", name="Done: Scripting").click()
    expect(row).to_contain_text("Done by Sam Lee")
    expect(member.get_by_role("status")).to_have_text("Ticked “Scripting”.")
    # Focus stays with the row: on its Undo button, for the next press.
    expect(member.get_by_role("button", name="Undo: Scripting")).to_be_focused()
    context.close()

    # The founder sees it ticked, with who and when.
    page.goto(run_url)
    scripting = page.locator(".run-step").filter(has_text="Scripting")
    expect(scripting).to_contain_text(
        re.compile(r"Done by Sam Lee, \w{3} \d{1,2} \w{3}, \d\d:\d\d")
    )
    expect(page.locator(".run-progress-label")).to_have_text("1 of 4 done")


def timezone_today() -> str:
    from django.utils import timezone

    return timezone.localdate().isoformat()


@pytest.mark.parametrize("bypass_csp", [True])
@pytest.mark.parametrize("login", ["founder", "member"])
def test_run_pages_pass_axe_accessibility_checks(page, login):
    from opsmodel.runs.models import Run
    from processes.models import Process

    process = Process.objects.get(name="YouTube content creation")
    urls = ["/runs/", "/runs/?late=1", process.get_absolute_url(), "/my-work/"]
    urls += [run.get_absolute_url() for run in Run.objects.filter(process=process)]
    if login == "founder":
        urls.append(f"/runs/new/?process={process.pk}")
    for url in urls:
        page.goto(url)
        page.evaluate("document.querySelectorAll('details').forEach(d => d.open = true)")
        assert axe_violations(page) == [], url


def test_a_member_follows_the_bell_to_the_inbox_opens_an_alert_and_sets_a_digest_by_keyboard(
    page,
):
    from playwright.sync_api import expect

    from opsmodel.notify.models import Preferences

    # The demo's run under way told the member of their two steps in it.
    bell = page.get_by_role("link", name="Inbox, 1 unread")
    expect(bell).to_be_visible()
    bell.focus()
    page.keyboard.press("Enter")
    # The new page settles with focus on its heading (for screen readers): wait for that, or
    # it would take focus back from the alert after the test gave it.
    expect(page.get_by_role("heading", name="What you were told")).to_be_focused()
    alert = page.get_by_role("button", name="Unread: 2 steps for you in Video #2")
    alert.focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Video #2")).to_be_visible()
    expect(page.get_by_role("link", name="Inbox", exact=True)).to_be_visible()  # none unread

    page.goto("/people/member/#notifications")
    page.get_by_label("Digest email").select_option("weekly")
    page.get_by_label("On (weekly digest)").select_option("Friday")
    page.get_by_label("Sent at").select_option("16:00")
    page.get_by_label("Things you are made owner of").uncheck()
    page.get_by_role("button", name="Save preferences").focus()
    page.keyboard.press("Enter")
    expect(page.locator("#notice")).to_contain_text("Preferences saved.")
    prefs = Preferences.objects.get(person__username="member")
    assert (prefs.digest, prefs.digest_weekday, prefs.digest_hour) == ("weekly", 4, 16)
    assert prefs.email_owner is False and prefs.email_assigned is True


@pytest.mark.parametrize("bypass_csp", [True])
def test_the_inbox_and_the_preferences_pass_axe_accessibility_checks(page):
    for url in ["/inbox/", "/inbox/?show=unread", "/people/member/"]:
        page.goto(url)
        assert axe_violations(page) == [], url


@pytest.mark.parametrize("reread", [True, False], ids=["read-again", "typo-fix"])
def test_a_member_suggests_an_edit_the_founder_approves_and_the_member_reads_it_again_if_asked(
    browser, live_server, settings, reread
):
    from playwright.sync_api import expect

    from sops.models import SOP

    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    call_command("loaddemo", stdout=io.StringIO())
    sop = SOP.objects.get(title="Recording a video")
    _, member = log_in(browser, live_server, "member", 1280, 900)
    member.goto(sop.get_absolute_url())
    member.get_by_role("button", name="I have read and understood this version").click()
    expect(member.get_by_text("You confirmed you have read and understood")).to_be_visible()
    member.get_by_role("link", name="Suggest an edit to Recording a video").click()
    expect(member.get_by_role("button", name="Send suggestion")).to_be_visible()
    instructions = member.get_by_role("textbox", name="Instructions")
    instructions.fill(instructions.input_value().rstrip() + "\n\nCheck the sound level first.")
    member.get_by_label("Why (optional)").fill("The last take had no sound")
    member.get_by_role("button", name="Send suggestion").click()
    expect(member.get_by_text("Waiting for review")).to_be_visible()

    _, founder = log_in(browser, live_server, "founder", 1280, 900)
    founder.goto("/sops/suggestions/")
    founder.get_by_role("link", name="Recording a video").click()
    expect(founder.get_by_text("Check the sound level first.").first).to_be_visible()
    ask = founder.get_by_label("Everyone who has read this SOP must read it again and confirm")
    expect(ask).to_be_checked()  # new instructions: asked by default
    if not reread:
        ask.uncheck()
    founder.get_by_role("button", name="Approve and publish").click()
    expect(founder.locator("#notice")).to_contain_text("Approved")

    member.goto(sop.get_absolute_url())
    expect(member.get_by_text("Check the sound level first.")).to_be_visible()
    again = member.get_by_role("button", name="I have read and understood this version")
    if reread:
        expect(again).to_be_visible()
    else:
        expect(again).to_have_count(0)
        expect(member.get_by_text("You confirmed you have read and understood")).to_be_visible()
    member.context.close()
    founder.context.close()


@pytest.mark.parametrize("bypass_csp", [True])
@pytest.mark.parametrize("login", ["member", "founder"])
def test_the_suggestion_pages_pass_axe_accessibility_checks(page, login):
    from opsmodel.models import User
    from sops import suggestions
    from sops.models import SOP

    sop = SOP.objects.get(title="Recording a video")
    values = {**suggestions.values_of(sop), "body": sop.body + "\n\nCheck the sound."}
    made = suggestions.suggest(sop, User.objects.get(username="member"), sop.version, values)
    for url in [f"/sops/{sop.pk}/suggest/", "/sops/suggestions/", made.get_absolute_url()]:
        page.goto(url)
        assert axe_violations(page) == [], url


def test_a_member_comments_mentioning_the_founder_who_replies_and_the_member_resolves(
    page, browser, live_server
):
    from playwright.sync_api import expect

    from opsmodel.comments.models import Comment
    from sops.models import SOP

    sop = SOP.objects.get(title="Recording a video")
    page.goto(sop.get_absolute_url())
    box = page.get_by_label("Add a comment")
    box.focus()
    page.keyboard.type("Which microphone do we use, @May")
    # The suggestions open as a listbox; the arrow keys move through it, Enter mentions.
    listbox = page.get_by_role("listbox", name="People to mention")
    expect(listbox.get_by_role("option")).to_have_count(1)
    expect(page.locator(".comments [role=status]").first).to_contain_text("1 person to mention")
    page.keyboard.press("ArrowDown")
    option = listbox.get_by_role("option", name="Maya Ortiz @founder")
    expect(option).to_have_attribute("aria-selected", "true")
    expect(box).to_have_attribute("aria-activedescendant", option.get_attribute("id"))
    page.keyboard.press("Enter")
    expect(listbox).to_be_hidden()
    expect(box).to_have_value("Which microphone do we use, @founder ")
    page.keyboard.type("?")
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Post comment")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("#notice")).to_contain_text("Comment posted.")
    thread = page.locator(".comment-thread").first
    expect(thread.get_by_role("link", name="@founder")).to_be_visible()
    comment = Comment.objects.get()
    assert comment.body == "Which microphone do we use, @founder ?"

    # The founder finds it in the inbox, on a phone, and replies by keyboard.
    context, founder = log_in(browser, live_server, "founder")
    founder.goto("/inbox/")
    alert = founder.get_by_role(
        "button", name="Unread: Sam Lee mentioned you on the SOP “Recording a video”"
    )
    alert.focus()
    founder.keyboard.press("Enter")
    expect(founder.get_by_role("heading", level=1)).to_have_text("Recording a video")
    founder.screenshot(path=ARTIFACTS / "comments-390.png", full_page=True)
    reply = founder.locator("summary", has_text="Reply")
    reply.focus()
    founder.keyboard.press("Enter")
    founder.get_by_label("Your reply").focus()
    founder.keyboard.type("The **Rode**, in the top drawer.")
    founder.get_by_role("button", name="Reply", exact=True).focus()
    founder.keyboard.press("Enter")
    expect(founder.locator("#notice")).to_contain_text("Reply posted.")
    expect(founder.locator(".comment-replies")).to_contain_text("The Rode, in the top drawer.")
    context.close()

    # The member sees the answer and resolves the thread.
    page.goto(sop.get_absolute_url())
    expect(page.locator(".comment-replies")).to_contain_text("Maya Ortiz")
    page.screenshot(path=ARTIFACTS / "comments-1280.png", full_page=True)
    page.get_by_role("button", name="Resolve the thread of Sam Lee").focus()
    page.keyboard.press("Enter")
    expect(page.locator("#notice")).to_contain_text("Thread resolved.")
    expect(page.locator(".comment-resolved summary")).to_contain_text("Resolved by Sam Lee")
    comment.refresh_from_db()
    assert comment.resolved_by.username == "member"


@pytest.mark.parametrize("bypass_csp", [True])
@pytest.mark.parametrize("login", ["founder", "member"])
def test_a_page_with_a_thread_passes_axe_accessibility_checks(page, login):
    from django.contrib.auth import get_user_model

    from opsmodel.comments import threads
    from opsmodel.runs.models import RunStep
    from sops.models import SOP

    people = get_user_model().objects
    sop = SOP.objects.get(title="Recording a video")
    first = threads.post(sop, people.get(username="member"), "Is the *mic* charged, @founder?")
    threads.post(sop, people.get(username="founder"), "Yes.", parent=first)
    solved = threads.post(sop, people.get(username="member"), "Where is the tripod?")
    threads.resolve(solved, people.get(username="member"), sop)
    run_step = RunStep.objects.filter(run__process=sop.process).first()
    threads.post(run_step, people.get(username="founder"), "Start early")
    for url in [sop.get_absolute_url(), threads.thread_url(run_step)]:
        page.goto(url)
        page.evaluate("document.querySelectorAll('details').forEach(d => d.open = true)")
        page.get_by_label("Add a comment").focus()
        page.keyboard.type("@a")
        page.get_by_role("listbox", name="People to mention").wait_for()
        page.keyboard.press("ArrowDown")
        assert axe_violations(page) == [], url


WIDTHS = [360, 390, 768, 1024, 1280, 1440]


def main_pages() -> list[str]:
    from opsmodel.runs.models import Run
    from sops.models import SOP

    sop = SOP.objects.select_related("process__system").get(title="Recording a video")
    run = Run.objects.filter(process=sop.process).first()
    return [
        "/",
        sop.process.system.get_absolute_url(),
        sop.process.get_absolute_url(),
        sop.get_absolute_url(),
        "/my-work/",
        "/runs/",
        run.get_absolute_url(),
        "/metrics/",
        "/metrics/goals/",
        "/people/",
        "/people/founder/",
        "/health/",
        "/search/?q=video",
        "/inbox/",
        "/sops/suggestions/",
        "/software/",
        sop.software.first().get_absolute_url(),
        "/tokens/",
        "/api/docs/",
    ]


@pytest.mark.parametrize("login", ["founder", "member"])
def test_no_page_scrolls_sideways_from_a_phone_to_a_wide_screen(page, login):
    """The page itself never scrolls sideways: the header's sections, the scorecard and the
    steps scroll or wrap within their own boxes. One logged-in context, resized per width."""
    # The starter library is the founders' (a team member is refused it).
    urls = main_pages() + (["/starters/"] if login == "founder" else [])
    too_wide = []
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 800})
        for url in urls:
            page.goto(url)
            page.locator("h1").first.wait_for()
            scroll, inner = page.evaluate(
                "[document.documentElement.scrollWidth, window.innerWidth]"
            )
            if scroll > inner:
                too_wide.append((width, url, scroll))
        # The account links stay on screen at every width.
        assert page.get_by_role("button", name="Log out").is_visible(), width
        box = page.get_by_role("button", name="Log out").bounding_box()
        assert box["x"] + box["width"] <= width, width
    assert too_wide == []


def test_on_a_phone_the_systems_tree_starts_folded_and_nothing_shifts_as_the_page_loads(page):
    from sops.models import SOP

    sop = SOP.objects.get(title="Recording a video")
    page.set_viewport_size({"width": 390, "height": 740})
    page.goto(sop.get_absolute_url())
    page.wait_for_load_state("load")
    assert page.evaluate("document.querySelector('#sidebar details').open") is False
    assert page.locator("#sidebar").get_by_role("link", name="Lead generation").is_hidden()
    # The SOP's first instruction is on the first screen.
    first = page.locator(".prose ol li").first.bounding_box()
    assert first["y"] < 740
    shifts = page.evaluate(
        """new Promise(resolve => {
            new PerformanceObserver(list => resolve(list.getEntries().map(e => e.value)))
                .observe({type: "layout-shift", buffered: true});
            setTimeout(() => resolve([]), 500);
        })"""
    )
    assert sum(shifts) == 0
    # On a wider screen the tree is open.
    page.set_viewport_size({"width": 1280, "height": 800})
    page.reload()
    expect_visible = page.locator("#sidebar").get_by_role("link", name="Lead generation")
    expect_visible.wait_for()
    assert page.evaluate("document.querySelector('#sidebar details').open") is True


@pytest.mark.parametrize("login", ["founder"])
def test_a_notice_covers_no_control_and_goes_at_the_next_page(page):
    from playwright.sync_api import expect

    from processes.models import Process

    process = Process.objects.get(name="YouTube content creation")
    page.goto(process.get_absolute_url())
    page.get_by_role("link", name="Edit YouTube content creation").click()
    page.get_by_role("button", name="Save", exact=True).click()
    notice = page.locator("#notice")
    expect(notice).to_have_text("Saved.")
    expect(notice).to_have_attribute("role", "status")
    toast = notice.bounding_box()
    header = page.locator(".topbar").bounding_box()
    assert toast["y"] > header["y"] + header["height"]  # under the header, not over it
    page.locator(".mainnav").get_by_role("link", name="Runs").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Runs")
    expect(notice).to_have_text("")


@pytest.mark.parametrize("login", ["founder"])
def test_a_printed_process_page_shows_its_steps_but_not_the_controls(page):
    from playwright.sync_api import expect

    from processes.models import Process

    process = Process.objects.get(name="YouTube content creation")
    page.goto(process.get_absolute_url())
    expect(page.locator("#add-step")).to_be_visible()
    page.emulate_media(media="print")
    expect(page.locator(".road-step").first).to_be_visible()
    expect(page.locator("#add-step")).to_be_hidden()
    expect(page.locator(".step-actions").first).to_be_hidden()
    expect(page.locator(".topbar")).to_be_hidden()
    for button in page.locator("main button, main .button").all():
        expect(button).to_be_hidden()
    # This week's value prints as a figure, not as a box to type in.
    value = page.locator(".record input[name=value]").first
    expect(value).to_be_visible()
    assert value.evaluate("el => getComputedStyle(el).borderTopStyle") == "none"
    # The handbook runs its SOPs on from each other instead of starting each on a new page.
    page.goto(f"{process.system.get_absolute_url()}handbook/")
    breaks = page.locator(".handbook-sop").evaluate_all(
        "els => els.map(el => getComputedStyle(el).breakBefore)"
    )
    assert breaks and "page" not in breaks


@pytest.mark.parametrize("bypass_csp", [True])
@pytest.mark.parametrize("login", ["founder"])
def test_a_founder_adds_a_tool_from_the_sop_form_by_keyboard_and_it_is_saved_ticked(page):
    """ "Add a tool" under the SOP form's software: opened, filled and sent from the keyboard
    (Enter adds the tool, it does not save the SOP); the tool comes back ticked, what was typed
    in the SOP's form stays, and saving the SOP keeps the new tool."""
    from playwright.sync_api import expect

    from sops.models import SOP

    sop = SOP.objects.get(title="Recording a video")
    before = set(sop.software.values_list("name", flat=True))
    page.goto(f"{sop.get_absolute_url()}edit/")
    page.get_by_label("Title").fill("Recording a video, lit")
    page.get_by_text("Add a tool", exact=True).focus()
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")
    expect(page.get_by_label("Name", exact=True)).to_be_focused()
    page.keyboard.type("Loom")
    page.keyboard.press("Tab")
    page.keyboard.type("https://www.loom.com")
    page.keyboard.press("Enter")
    expect(page.get_by_role("status").filter(has_text="Added “Loom”")).to_be_visible()
    expect(page.get_by_role("checkbox", name="Loom")).to_be_checked()
    for name in before:
        expect(page.get_by_role("checkbox", name=name, exact=True)).to_be_checked()
    # Nothing typed in the SOP's form was lost, and the SOP is not saved yet.
    expect(page.get_by_label("Title")).to_have_value("Recording a video, lit")
    assert SOP.objects.get(pk=sop.pk).title == "Recording a video"
    assert axe_violations(page) == []
    # Focus is back in the emptied little form, for another tool.
    expect(page.get_by_label("Name", exact=True)).to_be_focused()
    expect(page.get_by_label("Name", exact=True)).to_have_value("")

    page.get_by_role("button", name="Save", exact=True).focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text("Recording a video, lit")
    sop.refresh_from_db()
    assert sop.title == "Recording a video, lit"
    assert set(sop.software.values_list("name", flat=True)) == before | {"Loom"}


@pytest.mark.parametrize("bypass_csp", [True])
@pytest.mark.parametrize("login", ["member", "founder"])
def test_the_software_pages_pass_axe_accessibility_checks(page, login):
    from systems.models import Software

    urls = ["/software/", Software.objects.get(name="Notion").get_absolute_url()]
    if login == "founder":
        urls += ["/software/new/", f"{urls[1]}edit/"]
    for url in urls:
        page.goto(url)
        assert axe_violations(page) == [], url


@pytest.mark.parametrize("login", ["founder"])
def test_typing_survives_search_and_back_and_escape_closes_an_inline_edit(page):
    from playwright.sync_api import expect

    from processes.models import Process

    process = Process.objects.get(name="YouTube content creation")
    page.goto(process.get_absolute_url())

    # Steps are added from the keyboard one after another: focus stays in the emptied form,
    # and the status line says what was added.
    add_name = page.locator("#add-step").get_by_label("Step", exact=True)
    add_name.fill("Thumbnail")
    add_name.press("Enter")
    expect(page.locator("#notice")).to_have_text("Added step “Thumbnail”.")
    expect(page.locator(".road-step h3").last).to_have_text("Step 5: Thumbnail")
    add_name = page.locator("#add-step").get_by_label("Step", exact=True)
    expect(add_name).to_be_focused()
    expect(add_name).to_have_value("")

    # Typing in an inline edit, then searching, keeps what was typed; Back offers it again.
    page.get_by_role("link", name="Edit step Filming").click()
    name = page.locator("form.edit-form-inline").get_by_label("Step", exact=True)
    expect(name).to_be_focused()
    name.fill("Filming with two cameras")
    page.get_by_role("searchbox", name="Search the map").fill("invoice")
    expect(page).to_have_url(re.compile(r"/search/\?q=invoice"))
    expect(page.locator("#notice")).to_contain_text("“Edit step: Filming” is kept")
    page.go_back()
    expect(page).to_have_url(re.compile(r"/processes/\d+/$"))
    offer = page.locator(".draft-elsewhere")
    expect(offer).to_contain_text("unsaved changes in “Edit step: Filming”")
    offer.get_by_role("button", name="Open it").click()
    name = page.locator("form.edit-form-inline").get_by_label("Step", exact=True)
    expect(name).to_have_value("Filming with two cameras")
    expect(page.locator("form.edit-form-inline .draft-line")).to_contain_text(
        "Restored what you typed"
    )

    # Escape closes the inline edit as Cancel does, asking first because something was typed.
    questions: list[str] = []

    def answer(dialog):
        questions.append(dialog.message)
        dialog.accept()

    page.once("dialog", answer)
    name.press("Escape")
    expect(page.locator("form.edit-form-inline")).to_have_count(0)
    assert questions == ["Discard what you typed in “Edit step: Filming”?"]
    assert process.steps.filter(name="Filming").exists()
    page.reload()
    expect(page.get_by_role("heading", level=1)).to_have_text("YouTube content creation")
    expect(page.locator(".draft-line")).to_have_count(0)

    # An unchanged inline edit closes on Escape without a question, and saving one says so.
    page.get_by_role("link", name="Edit step Scripting").click()
    name = page.locator("form.edit-form-inline").get_by_label("Step", exact=True)
    expect(name).to_be_focused()
    name.press("Escape")
    expect(page.locator("form.edit-form-inline")).to_have_count(0)
    page.get_by_role("link", name="Edit step Scripting").click()
    name = page.locator("form.edit-form-inline").get_by_label("Step", exact=True)
    expect(name).to_be_focused()
    name.fill("Scripting the video")
    name.press("Enter")
    expect(page.locator("#notice")).to_have_text("Saved step “Scripting the video”.")
    assert len(questions) == 1


@pytest.mark.parametrize("login", ["founder"])
def test_an_admin_adds_a_person_by_keyboard_who_sets_a_password_from_the_email(
    page, browser, live_server, settings
):
    from django.core import mail
    from playwright.sync_api import expect

    from opsmodel.models import User

    settings.SITE_URL = live_server.url  # the links in the email
    page.goto("/people/")
    page.get_by_role("link", name="+ Add a person").focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Add a person")).to_be_focused()  # settled
    page.get_by_label("First name").focus()
    for text in ["Kim", "Park", "Video editor", "kim", "kim@example.com"]:
        page.keyboard.type(text)
        page.keyboard.press("Tab")  # to the next field (past a field's help, which is text)
    page.get_by_role("checkbox", name="Team members").focus()
    page.keyboard.press("Space")
    page.get_by_role("button", name="Add and send the link").focus()
    page.keyboard.press("Enter")

    expect(page.get_by_role("heading", name="Kim Park")).to_be_visible()
    expect(page.locator("#notice")).to_contain_text(
        "Added Kim Park. The link to set a password went to kim@example.com."
    )
    kim = User.objects.get(username="kim")
    assert (kim.job_title, kim.email) == ("Video editor", "kim@example.com")
    assert [g.name for g in kim.groups.all()] == ["Team members"]

    [message] = [m for m in mail.outbox if m.to == ["kim@example.com"]]
    link = re.search(r"http://\S+/accounts/password/set/\S+/", message.body)[0]
    context = browser.new_context(viewport={"width": 390, "height": 844})
    newcomer = context.new_page()
    newcomer.goto(link)
    newcomer.get_by_label("New password", exact=True).fill("a-long-Password-9")
    newcomer.get_by_label("New password confirmation").fill("a-long-Password-9")
    newcomer.keyboard.press("Enter")
    expect(newcomer.get_by_role("heading", name="Your password is set")).to_be_visible()
    newcomer.get_by_role("link", name="Continue to Opsmodel").click()
    expect(newcomer.get_by_role("heading", name="Hello, Kim")).to_be_visible()
    context.close()


@pytest.mark.parametrize("login", ["founder"])
def test_a_founder_formats_attaches_and_pastes_a_picture_and_the_preview_shows_it(page):
    """The editor of an SOP's instructions: the toolbar from the keyboard, a picture attached
    with the Attach button and another pasted into the box, each uploaded and linked at the
    cursor, and the preview beside the box drawing them (under the CSP: no console error)."""
    from playwright.sync_api import expect

    from sops.models import SOP, Attachment
    from tests.test_attachments import png

    sop = SOP.objects.get(title="Recording a video")
    page.goto(f"{sop.get_absolute_url()}edit/")
    body = page.locator("#id_body")
    preview = page.locator("#body-preview")
    expect(preview.locator("ol li").first).to_be_visible()  # beside the box, at 1280 px
    # Bold from the keyboard, on a new line's words.
    body.press("Control+End")
    body.press_sequentially("\n\nCheck the levels")
    for _ in range(len("the levels")):
        body.press("Shift+ArrowLeft")
    body.press("Control+b")
    expect(body).to_have_value(re.compile(r"Check \*\*the levels\*\*$"))
    expect(preview.locator("strong", has_text="the levels")).to_be_visible()
    # The toolbar is one Tab stop before the box; the arrow keys move along it.
    body.press("Shift+Tab")
    expect(page.get_by_role("button", name="Heading")).to_be_focused()
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    expect(page.get_by_role("button", name="Bulleted list")).to_be_focused()
    page.keyboard.press("Enter")
    expect(body).to_have_value(re.compile(r"\n- Check \*\*the levels\*\*$"))
    expect(preview.locator("ul li strong", has_text="the levels")).to_be_visible()
    expect(body).to_be_focused()
    # The toolbar's Attach button opens the file chooser.
    body.press("Control+End")
    with page.expect_file_chooser() as chosen:
        page.get_by_role("button", name="Attach a picture or file").click()
    chosen.value.set_files(
        files=[{"name": "mic setup.png", "mimeType": "image/png", "buffer": png(40, 20)}]
    )
    expect(page.get_by_role("status").filter(has_text="Attached mic setup.png.")).to_be_visible()
    attached = Attachment.objects.get(name="mic setup.png")
    expect(body).to_have_value(
        re.compile(re.escape(f"![mic setup.png]({attached.get_absolute_url()})"))
    )
    picture = preview.locator(f'img[src="{attached.get_absolute_url()}"]')
    expect(picture).to_be_visible()
    assert picture.evaluate("img => img.naturalWidth") == 40  # served, and allowed by the CSP
    # A picture pasted into the box goes the same way.
    body.focus()
    page.evaluate(
        """bytes => {
            const box = document.querySelector('#id_body');
            const data = new DataTransfer();
            data.items.add(new File([new Uint8Array(bytes)], 'image.png', {type: 'image/png'}));
            box.dispatchEvent(new ClipboardEvent('paste', {clipboardData: data, bubbles: true}));
        }""",
        list(png(10, 10, (0, 120, 0))),
    )
    expect(preview.locator("img")).to_have_count(2)
    pasted = Attachment.objects.get(name="image.png")
    assert (
        preview.locator(f'img[src="{pasted.get_absolute_url()}"]').evaluate(
            "img => img.naturalWidth"
        )
        == 10
    )
    # Saved, the SOP's page shows both pictures and lists the two files.
    page.get_by_role("button", name="Save").click()
    expect(page.locator(".recipe .prose img")).to_have_count(2)
    expect(page.locator("#files li")).to_have_count(2)
    assert "- Check **the levels**" in SOP.objects.get(pk=sop.pk).body


@pytest.mark.parametrize("login", ["founder"])
def test_on_a_phone_the_preview_waits_behind_its_button(page):
    from playwright.sync_api import expect

    from sops.models import SOP

    page.set_viewport_size({"width": 390, "height": 844})
    sop = SOP.objects.get(title="Recording a video")
    page.goto(f"{sop.get_absolute_url()}edit/")
    toggle = page.get_by_role("button", name="Preview", exact=True)
    expect(page.locator("#body-preview")).to_be_hidden()
    toggle.focus()
    page.keyboard.press("Enter")
    expect(toggle).to_have_attribute("aria-expanded", "true")
    expect(page.locator("#body-preview ol li").first).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390


@pytest.mark.parametrize("login", ["founder"])
@pytest.mark.parametrize("bypass_csp", [True])
def test_the_api_tokens_docs_and_webhooks_pages_pass_axe_accessibility_checks(page):
    from opsmodel.api.models import Delivery, Endpoint

    # A token made on the page (shown once, with its Copy button), then the reference.
    page.goto("/tokens/")
    page.get_by_label("Name").fill("Shop sales")
    page.get_by_label("Read and write").check()
    page.get_by_role("button", name="Make the token").click()
    page.locator("#new-token").wait_for()
    assert page.locator("#new-token").input_value().startswith("opm_")
    assert axe_violations(page) == [], "/tokens/"
    endpoint = Endpoint.objects.create(url="https://hooks.example.com/a", events=["run.started"])
    Delivery.objects.create(endpoint=endpoint, event="run.started", message_id="m1", payload={})
    for url in ["/api/docs/", "/webhooks/", endpoint.get_absolute_url()]:
        page.goto(url)
        page.locator("h1").wait_for()
        assert axe_violations(page) == [], url


def handbook_zip_bytes() -> bytes:
    data = io.BytesIO()
    with zipfile.ZipFile(data, "w") as archive:
        archive.writestr(
            "Handbook/Finance/Send an invoice.md",
            "---\ntitle: Send an invoice\nowner: Jonas Berg\n---\n# Send an invoice\n\n"
            "Open the client's folder and send this month's invoice.\n",
        )
        archive.writestr(
            "Handbook/Finance/Month-end close.md",
            "# Month-end close\n\n1. Reconcile the bank\n2. Review expenses\n3. Send the report\n",
        )
        archive.writestr("Handbook/Finance/Scratch notes.md", "# Scratch notes\n\nAnything.\n")
    return data.getvalue()


@pytest.mark.parametrize("bypass_csp", [True])
@pytest.mark.parametrize("login", ["founder"])
def test_a_founder_imports_markdown_leaving_one_file_out_by_keyboard(page):
    from playwright.sync_api import expect

    from sops.models import SOP

    page.goto("/map/import/markdown/")
    assert axe_violations(page) == [], "upload"
    page.get_by_label("A zip of Markdown files, or one Markdown file").set_input_files(
        {"name": "handbook.zip", "mimeType": "application/zip", "buffer": handbook_zip_bytes()}
    )
    page.get_by_role("button", name="Upload and preview").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("handbook.zip")
    assert axe_violations(page) == [], "preview"
    for width in (390, 1280):
        page.set_viewport_size({"width": width, "height": 800})
        scroll, inner = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
        assert scroll <= inner, width
    # The owner named in the file is chosen already; the scratch file is left out by keyboard.
    page.get_by_role("button", name="Change the owner of “Send an invoice”").click()
    assert page.get_by_label("Owner of “Send an invoice”").input_value() == "jonas"
    expect(page.get_by_label("Owner of “Send an invoice”")).to_be_focused()
    page.get_by_label("“Scratch notes” becomes").focus()
    page.get_by_label("“Scratch notes” becomes").select_option(label="Leave out")
    page.get_by_role("button", name=re.compile(r"^Import \d+ items?$")).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Imported “handbook.zip”")
    assert axe_violations(page) == [], "report"
    assert SOP.objects.get(title="Send an invoice").owner.username == "jonas"
    assert not SOP.objects.filter(title="Scratch notes").exists()
    assert "you chose to leave it out" in page.content()


@pytest.mark.parametrize("login", ["founder"])
@pytest.mark.parametrize("bypass_csp", [True])
def test_a_founder_adds_a_starter_template_from_a_system_page_on_a_phone(page):
    """The library on a phone: reached from a system, that system chosen; accessible, no
    sideways scroll with the outlines open; the template added there, marked; a second time
    refused in words, the message focused."""
    from systems.models import System

    page.set_viewport_size({"width": 390, "height": 844})
    parent = System.objects.get(name="Revenue generation")
    page.goto(parent.get_absolute_url())
    page.get_by_role("link", name="Add a starter template here").click()
    page.get_by_role("heading", name="Starter templates").wait_for()
    assert page.get_by_label("Where").evaluate("s => s.options[s.selectedIndex].text.trim()") == (
        "Revenue generation"
    )
    for summary in page.locator("details.starter-outline > summary").all():
        summary.click()
    assert page.get_by_text("Chasing overdue invoices").is_visible()
    for width in (360, 390):
        page.set_viewport_size({"width": width, "height": 844})
        assert page.evaluate("document.documentElement.scrollWidth") <= width
    assert axe_violations(page) == []
    page.get_by_role("button", name="Add “Customer support” to the map").click()
    page.get_by_role("heading", name="Customer support", level=1).wait_for()
    assert page.get_by_text("From the starter template “Customer support”").is_visible()
    top = System.objects.get(name="Customer support")
    assert top.parent == parent and page.url.endswith(top.get_absolute_url())
    page.goto(f"/starters/?parent={parent.pk}")
    page.get_by_role("button", name="Add “Customer support” to the map").click()
    alert = page.get_by_role("alert")
    alert.wait_for()
    assert "already has a sub-system called “Customer support”" in alert.inner_text()
    page.wait_for_function("document.activeElement.classList.contains('error-summary')")
    assert System.objects.filter(name="Customer support").count() == 1


def test_the_next_page_of_a_tool_s_sops_comes_in_with_the_list_in_view(page):
    from sops.fills import SOPS_PER_PAGE
    from tests.factories import ProcessFactory, SoftwareFactory, SOPFactory

    bank = SoftwareFactory(name="Bank")
    process = ProcessFactory(name="Payments")
    for n in range(SOPS_PER_PAGE * 2 + 1):  # a second page as long as the first
        SOPFactory(process=process, title=f"Pay supplier {n:02}", software=[bank])
    page.goto(bank.get_absolute_url())
    pager = page.get_by_role("navigation", name="Pages of the SOPs that use Bank")
    pager.get_by_role("link", name="Next page").focus()
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"\?page=2$"))
    page.get_by_role("link", name="Pay supplier 49").wait_for()
    # The list's heading at the top of the window, below the top bar; not the tool's.
    heading = page.get_by_role("heading", name=re.compile("SOPs that use it")).bounding_box()
    top_bar = page.locator("header.topbar").bounding_box()
    assert top_bar["height"] <= heading["y"] < 200
    assert page.evaluate("window.scrollY") > 0
