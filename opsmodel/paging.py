"""Pages of a long list: which page was asked for, and the links to the others.

Every long list (the scorecard, goals, search results) goes through `paginate`, so each has
the same pager (templates/includes/pager.html): previous and next, the first and last pages
and those around the current one, with the list's other filters kept in every link. A page
number out of range, or not a number, shows the nearest page and says so, never an error.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.core.paginator import Page, Paginator
from django.http import HttpRequest


def paginate(request: HttpRequest, items: Sequence, per_page: int, label: str) -> dict:
    """The page of `items` asked for with ?page=, and what the pager shows (as context).

    `label` names the pager for screen readers: "Pages of the scorecard".
    """
    paginator = Paginator(items, per_page)
    asked = request.GET.get("page", "")
    page = paginator.get_page(asked)
    notice = ""
    if asked and asked != str(page.number):
        shown = asked[:12]
        notice = f"There is no page “{shown}”: this is page {page.number} of {paginator.num_pages}."
    others = request.GET.copy()
    for key in ("page", "part"):
        others.pop(key, None)
    return {
        "page": page,
        "pager": {
            "label": label,
            "numbers": page_numbers(page),
            "query": others.urlencode() + "&" if others else "",
            "notice": notice,
        },
    }


def page_numbers(page: Page) -> list:
    """The first and last page, and two either side of the current one; … for the gaps."""
    if page.paginator.num_pages <= 1:
        return []
    return list(page.paginator.get_elided_page_range(page.number, on_each_side=2, on_ends=1))
