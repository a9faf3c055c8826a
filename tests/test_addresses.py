"""Addresses filled in with ids (opsmodel.addresses) are the addresses Django reverses, for
every view of the project, below a script prefix too, and in templates' {% url %}."""

from __future__ import annotations

import pytest
from django.template import Context, Template
from django.urls import (
    NoReverseMatch,
    URLPattern,
    URLResolver,
    get_resolver,
    reverse,
    set_script_prefix,
)
from django.urls.converters import IntConverter

from opsmodel.addresses import address


def views_with_ids(patterns=None, namespace="", converters=()) -> list[tuple[str, int]]:
    """Every named view of the project whose address takes only ids, and how many."""
    found = []
    for entry in get_resolver().url_patterns if patterns is None else patterns:
        taken = (*converters, *entry.pattern.converters.values())
        if entry.pattern.regex.groups > len(entry.pattern.converters):
            continue  # a regular expression's groups: not ids
        if isinstance(entry, URLResolver):
            inner = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            found += views_with_ids(entry.url_patterns, inner, taken)
        elif isinstance(entry, URLPattern) and entry.name:
            ids = all(isinstance(converter, IntConverter) for converter in taken)
            found += [(f"{namespace}{entry.name}", len(taken))] if ids else []
    return found


VIEWS = views_with_ids()


def test_the_project_has_views_by_id_to_check():
    names = {name for name, _ in VIEWS}
    assert {"sops:detail", "processes:detail", "runs:detail", "systems:detail"} <= names
    assert any(count == 0 for _, count in VIEWS)
    assert any(count == 2 for _, count in VIEWS) or any(count == 1 for _, count in VIEWS)


@pytest.mark.parametrize("name,count", VIEWS)
def test_every_view_by_id_gets_the_address_django_reverses(name, count):
    for ids in ([7] * count, [123456] * count, list(range(1, count + 1))):
        assert address(name, *ids) == reverse(name, args=ids)


def test_below_a_script_prefix_the_address_starts_with_it():
    address("sops:detail", 5)  # pieces kept for the root first
    set_script_prefix("/ops/")
    try:
        assert address("sops:detail", 5) == reverse("sops:detail", args=[5]) == "/ops/sops/5/"
    finally:
        set_script_prefix("/")
    assert address("sops:detail", 5) == "/sops/5/"


def test_while_a_view_answers_its_links_read_the_request_s_prefix_once_then_forget_it(rf):
    from django.http import HttpResponse

    from opsmodel.middleware import AddressesMiddleware

    def answer(request):
        middleware.process_view(request, answer, (), {})  # as Django calls it, before the view
        set_script_prefix("/elsewhere/")  # read already: the view's links keep the request's
        try:
            return HttpResponse(address("sops:detail", 5))
        finally:
            set_script_prefix("/ops/")

    middleware = AddressesMiddleware(answer)
    set_script_prefix("/ops/")
    try:
        assert middleware(rf.get("/")).content == b"/ops/sops/5/"
        set_script_prefix("/")
        assert address("sops:detail", 5) == "/sops/5/"  # after the response: read each time
    finally:
        set_script_prefix("/")


@pytest.mark.parametrize("kind", ["sop", "step", "process", "run"])
def test_a_word_where_the_view_takes_one_gets_the_address_django_reverses(kind):
    assert address("comments:thread", kind, 12) == reverse("comments:thread", args=[kind, 12])
    assert address("comments:thread", kind, 12) == f"/comments/{kind}/12/"


def test_what_is_not_an_id_is_reversed_as_before():
    assert address("front:person", "ann") == reverse("front:person", args=["ann"])
    for name in ("a&b", "ann.lee", "ann@example.com", ".", "..", "x y", "Zoë"):
        assert address("front:person", name) == reverse("front:person", args=[name])
    for name in ("person0017", "ann_lee", "ann-lee", "0"):
        assert address("front:person", name) == reverse("front:person", args=[name])
    for not_an_id in (-1, "x", "sop"):
        with pytest.raises(NoReverseMatch):
            address("sops:detail", not_an_id)
    # True is an int to Python, not an id: Django's reversing decides (and writes "True").
    with pytest.raises(NoReverseMatch):
        address("sops:detail", True)
    with pytest.raises(NoReverseMatch):
        address("no-such-view", 5)


@pytest.mark.parametrize(
    "source,expected",
    [
        ("{% url 'sops:detail' 5 %}", "/sops/5/"),
        ("{% url 'sops:detail' pk %}", "/sops/12/"),
        ("{% url 'sops:detail' pk=pk %}", "/sops/12/"),
        ("{% url 'front:person' name %}", "/people/a&amp;b/"),  # escaped, as Django's tag does
        ("{% url 'sops:detail' pk as there %}[{{ there }}]", "[/sops/12/]"),
        ("{% url 'no-such-view' pk as there %}[{{ there }}]", "[]"),
        ("{% url view pk %}", "/processes/12/"),  # a view named by a variable
        ("{% url view|default:'sops:detail' pk %}", "/processes/12/"),
        ("{% url missing|default:'sops:detail' pk %}", "/sops/12/"),
    ],
)
def test_the_url_tag_draws_what_djangos_draws(source, expected):
    values = {"pk": 12, "name": "a&b", "view": "processes:detail"}
    assert Template(source).render(Context(values)) == expected


def test_every_template_has_the_quicker_tag():
    from opsmodel.templatetags.addresses import URLNode

    (node,) = Template("{% url 'sops:detail' 5 %}").nodelist
    assert type(node) is URLNode


def test_an_unknown_view_still_fails_loudly_in_the_tag():
    with pytest.raises(NoReverseMatch):
        Template("{% url 'no-such-view' 5 %}").render(Context())
