"""Pages of a long list: which page was asked for, and the links to the others.

Every long list (the scorecard, goals, search results) goes through `paginate`, so each has
the same pager (drawn_pager, `{% pager %}`): previous and next, the first and last pages
and those around the current one, with the list's other filters kept in every link. A page
number out of range, or not a number, shows the nearest page and says so, never an error.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.core.paginator import Page, Paginator
from django.http import HttpRequest
from django.utils.safestring import SafeString, mark_safe

from opsmodel.escaping import escape


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


def drawn_pager(page: Page, pager: dict) -> SafeString:
    """The pager of a list (`page` and `pager` as paginate() gives them): previous, the page
    numbers (this one marked), next; nothing for a list of one page. Drawn in Python: a
    template of it cost as much as a list's rows."""
    if not page.has_other_pages():
        return mark_safe("")
    query = escape(pager["query"])

    def link(number) -> str:
        return f'href="?{query}page={number}" data-hx-get="?{query}page={number}"'

    drawn = [f'<nav class="pager" aria-label="{escape(pager["label"])}">']
    if page.has_previous():
        drawn.append(
            f'<a class="button button-secondary" rel="prev" {link(page.previous_page_number())}>'
            '← Previous<span class="visually-hidden"> page</span></a>'
        )
    numbers = []
    for number in pager["numbers"]:
        if number == page.number:
            shown = (
                f'<a aria-current="page" aria-label="Page {number}, this page" {link(number)}>'
                f"{number}</a>"
            )
        elif number == page.paginator.ELLIPSIS:
            shown = '<span aria-hidden="true">…</span>'
        else:
            shown = f'<a aria-label="Page {number}" {link(number)}>{number}</a>'
        numbers.append(f"<li>{shown}</li>")
    drawn.append(f'<ul class="pager-pages" role="list">{"".join(numbers)}</ul>')
    if page.has_next():
        drawn.append(
            f'<a class="button button-secondary" rel="next" {link(page.next_page_number())}>'
            'Next<span class="visually-hidden"> page</span> →</a>'
        )
    drawn.append("</nav>")
    return mark_safe("\n".join(drawn))
