"""Escaping for the HTML the app draws in Python (rows of lists, cards, options).

`django.utils.html.escape()` is `SafeString(html.escape(str(text)))` wrapped to keep lazy
translations lazy; the wrapper looks through every argument on every call, which cost more
than the escaping on a page of some hundred rows. This is the same escaping, for text drawn
at once: the same result, a SafeString (so `format_html` and `conditional_escape` leave it
as it is).
"""

from __future__ import annotations

import html

from django.utils.safestring import SafeString


def escape(text) -> SafeString:
    """`django.utils.html.escape(text)`, for text drawn now."""
    return SafeString(html.escape(str(text)))


def conditional_escape(text) -> SafeString:
    """`django.utils.html.conditional_escape(text)`: escaped, unless it is safe already."""
    if hasattr(text, "__html__"):
        return SafeString(text.__html__())
    return SafeString(html.escape(str(text)))
