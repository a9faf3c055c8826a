"""Issue 14: the 500s the fuzz test found, fixed, each as the person meets it."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import timezone

from processes.models import MetricValue
from processes.periods import code, period_start
from tests.factories import ProcessFactory, SystemFactory
from tests.test_access_matrix import objects  # noqa: F401 (its fixture)

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "bad_next",
    ["weekly", "systems:home", "//evil.example.com/", "a\x00b", "/\x00", "/" + "x" * 20_000],
    ids=["a-word", "a-url-name", "another-site", "nul", "path-with-nul", "huge"],
)
def test_a_next_that_is_not_a_path_here_sends_the_person_back_after_the_value_is_saved(
    founder_client,
    objects,  # noqa: F811
    bad_next,
):
    metric = objects["metric"]
    week = period_start("weekly", timezone.localdate())
    url = reverse("metrics:record", args=[metric.pk])
    data = {"period": code("weekly", week), "value": "4", "next": bad_next}
    founder_client.raise_request_exception = False

    response = founder_client.post(url, data)

    assert response.status_code == 302
    assert response["Location"] == metric.get_absolute_url()
    assert MetricValue.objects.get(metric=metric, period=week).value == 4


def test_a_next_that_is_a_path_here_is_followed(founder_client, objects):  # noqa: F811
    metric = objects["metric"]
    week = code("weekly", period_start("weekly", timezone.localdate()))
    data = {"period": week, "value": "4", "next": "/metrics/?system=1"}
    response = founder_client.post(reverse("metrics:record", args=[metric.pk]), data)
    assert response["Location"] == "/metrics/?system=1"


@pytest.mark.parametrize("kind", ["systems", "processes"])
def test_moving_with_a_next_that_is_a_word_moves_and_shows_the_default_page(
    founder_client,
    objects,  # noqa: F811
    kind,
):
    first = objects["system"] if kind == "systems" else objects["process"]
    second = SystemFactory() if kind == "systems" else ProcessFactory(system=first.system)
    founder_client.raise_request_exception = False

    response = founder_client.post(
        reverse(f"{kind}:move", args=[second.pk]), {"direction": "up", "next": "weekly"}
    )

    assert response.status_code == 302
    assert response["Location"] == (
        reverse("systems:home") if kind == "systems" else first.system.get_absolute_url()
    )
    ordered = list(type(first).objects.filter(pk__in=[first.pk, second.pk]))
    if kind == "processes":
        ordered.sort(key=lambda p: p.position)
    else:
        ordered.sort(key=lambda s: (s.tree_id, s.lft))
    assert ordered == [second, first]


@pytest.mark.parametrize("username", ["a%00b", "%00", "member%00"])
def test_a_person_whose_name_holds_a_nul_byte_is_not_found(member_client, username):
    member_client.raise_request_exception = False
    assert member_client.get(f"/people/{username}/").status_code == 404


@pytest.mark.parametrize(
    "as_typed",
    [str, lambda pk: f" {pk}", lambda pk: f"{pk}\x00",
     lambda pk: "".join(chr(0x660 + int(d)) for d in str(pk)),  # the same digits, Arabic-Indic
     lambda pk: "99999999999999999999", lambda pk: "-1"],
    ids=["plain", "space", "nul", "arabic-digits", "past-64-bits", "negative"],
)  # fmt: skip
def test_an_id_in_the_query_string_is_plain_digits_or_nothing(founder_client, objects, as_typed):  # noqa: F811
    system = objects["system"]
    founder_client.raise_request_exception = False
    response = founder_client.get(reverse("processes:new"), {"system": as_typed(system.pk)})
    assert response.status_code == (200 if as_typed(system.pk) == str(system.pk) else 404)
