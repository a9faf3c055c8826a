from __future__ import annotations

from html.parser import HTMLParser

import pytest

from opsmodel import markdown
from opsmodel.markdown import render_markdown

PAYLOADS = [
    "<script>alert(1)</script>",
    '<img src=x onerror="alert(1)">',
    "[click](javascript:alert(1))",
    '<a href="javascript:alert(1)">click</a>',
    "![x](javascript:alert(1))",
    '<svg onload="alert(1)"></svg>',
    '<div hx-get="/admin/" hx-trigger="load">x</div>',
    '<div data-hx-get="/admin/" data-hx-trigger="load">x</div>',
    '<a href="https://example.com" data-hx-post="/admin/">x</a>',
    "<iframe src='https://example.com'></iframe>",
    "[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "<scr<script>ipt>alert(1)</script>",
    "[x](JaVaScRiPt:alert(1))",
]


class Elements(HTMLParser):
    """Every element and attribute in a fragment, as a browser would parse them."""

    def __init__(self, html: str):
        super().__init__()
        self.found: list[tuple[str, dict]] = []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        self.found.append((tag, dict(attrs)))


def test_markdown_renders_a_numbered_recipe():
    html = render_markdown("1. Open **Stripe**.\n2. Send the `invoice`.\n\n> Tip")
    tags = [tag for tag, _ in Elements(html).found]
    assert tags == ["ol", "li", "strong", "li", "code", "blockquote", "p"]


@pytest.mark.parametrize("payload", PAYLOADS)
def test_markdown_never_lets_active_content_through(payload):
    for tag, attrs in Elements(render_markdown(payload)).found:
        assert tag not in {"script", "svg", "iframe", "object", "embed", "style"}
        for name, value in attrs.items():
            assert not name.startswith("on"), (tag, name)
            assert not name.startswith(("hx-", "data-hx-")), (tag, name)
            if name in {"href", "src"}:
                assert value.split(":")[0].strip().lower() in {"http", "https", "mailto", "x"}


def test_a_text_is_rendered_once_and_an_edited_one_afresh(monkeypatch):
    """The HTML of a text is kept by the text itself: drawing an SOP again does not parse its
    body again, and its edited body (other text) is rendered from the new text at once."""
    parsed = []
    parse = markdown._parser.render
    monkeypatch.setattr(markdown._parser, "render", lambda text: parsed.append(text) or parse(text))
    markdown.kept_rendered.cache_clear()
    first = render_markdown("1. Open **Stripe**.")
    again = render_markdown("1. Open **Stripe**.")
    edited = render_markdown("1. Open **PayPal**.")
    assert first == again == "<ol>\n<li>Open <strong>Stripe</strong>.</li>\n</ol>\n"
    assert "<strong>PayPal</strong>" in edited
    assert parsed == ["1. Open **Stripe**.", "1. Open **PayPal**."]
    assert isinstance(again, markdown.SafeString)
    # A long text is rendered every time rather than kept, so what is kept stays small.
    long = "word " * (markdown.KEPT_LENGTH // 5 + 1)
    assert render_markdown(long) == render_markdown(long) == f"<p>{long.strip()}</p>\n"
    assert parsed[2:] == [long, long]
    assert render_markdown(None) == ""


def test_links_are_kept_and_open_safely():
    [(tag, attrs)] = Elements(render_markdown("[Stripe](https://stripe.com)")).found[1:]
    assert tag == "a"
    assert attrs["href"] == "https://stripe.com"
    assert "noopener" in attrs["rel"]
