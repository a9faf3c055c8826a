"""Days and moments written quickly (opsmodel.dates) are what Django writes: in every format
the templates and the code use, on every day of the week and month of the year."""

from __future__ import annotations

import datetime
import re
import zoneinfo
from pathlib import Path

import pytest
from django.template import Context, Template
from django.template import defaultfilters as django_filters
from django.utils import dateformat, timezone, translation

from opsmodel.dates import format_date, pieces_of

ROOT = Path(__file__).resolve().parent.parent

# Every format a template writes with |date, and every one the code writes.
TEMPLATE_FORMATS = sorted(
    {
        match
        for path in (ROOT / "templates").rglob("*.html")
        for match in re.findall(r'\|date:"([^"]*)"', path.read_text())
    }
)
CODE_FORMATS = ["D j M", "D j M, H:i", "j M", "j M Y", "j F", "l j F", "j M Y, H:i"]

DAYS = [datetime.date(2026, 1, 1) + datetime.timedelta(days=n) for n in range(0, 400, 9)]
MOMENTS = [
    datetime.datetime(2026, 3, 29, 0, 5, tzinfo=datetime.UTC) + datetime.timedelta(hours=n * 7)
    for n in range(60)
]


def test_the_templates_write_dates():
    assert len(TEMPLATE_FORMATS) >= 5


@pytest.mark.parametrize("format_string", sorted({*TEMPLATE_FORMATS, *CODE_FORMATS}))
def test_each_format_used_is_written_quickly_and_as_django_writes_it(format_string):
    assert pieces_of(format_string) is not None  # the quick way, not Django's
    for day in DAYS:
        if not re.search("[Hi]", format_string):
            assert format_date(day, format_string) == dateformat.format(day, format_string)
    for moment in MOMENTS:
        local = timezone.localtime(moment, zoneinfo.ZoneInfo("Europe/London"))
        assert format_date(local, format_string) == dateformat.format(local, format_string)


def test_the_filter_writes_a_moment_in_the_time_zone_shown_as_djangos_does():
    moment = datetime.datetime(2026, 6, 30, 23, 30, tzinfo=datetime.UTC)
    source = '{{ when|date:"D j M Y, H:i" }}'
    with timezone.override("Europe/Berlin"):
        drawn = Template(source).render(Context({"when": moment}))
        assert drawn == "Wed 1 Jul 2026, 01:30"
        local = timezone.localtime(moment)
        assert drawn == django_filters.date(local, "D j M Y, H:i")


@pytest.mark.parametrize(
    "format_string, value, expected",
    [
        ("DATE_FORMAT", datetime.date(2026, 12, 4), "4 Dec 2026"),  # a format's name
        ("jS \\o\\f F", datetime.date(2026, 12, 1), "1st of December"),
        ("j M", None, ""),
        ("j M", "not a date", ""),
    ],
)
def test_anything_else_is_written_by_django_as_before(format_string, value, expected):
    drawn = Template(f'{{{{ v|date:"{format_string}" }}}}').render(Context({"v": value}))
    assert drawn == expected == django_filters.date(value, format_string)


def test_a_time_of_day_asked_of_a_date_is_refused_as_django_refuses_it():
    day = datetime.date(2026, 12, 4)
    with pytest.raises(TypeError, match="time-related"):
        django_filters.date(day, "j M H:i")
    with pytest.raises(TypeError, match="time-related"):
        Template('{{ v|date:"j M H:i" }}').render(Context({"v": day}))


def test_in_another_language_django_writes_the_names():
    day = datetime.date(2026, 12, 4)
    with translation.override("de"):
        assert format_date(day, "D j M") == dateformat.format(day, "D j M")
        assert format_date(day, "D j M") != "Fri 4 Dec"


def test_every_template_has_the_quicker_filter():
    from opsmodel.templatetags.dates import date

    (node,) = Template('{{ v|date:"j M" }}').nodelist
    assert node.filter_expression.filters[0][0] is date
