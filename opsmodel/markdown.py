"""Markdown written by people, rendered to HTML that is safe to show anyone."""

from __future__ import annotations

import functools
import re

import nh3
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from markdown_it import MarkdownIt

# Raw HTML in the source is escaped by the parser, and the output still goes through nh3:
# two independent layers, so a bug in one does not let a <script> through.
_parser = MarkdownIt("commonmark", {"html": False, "linkify": False}).enable(
    ["table", "strikethrough"]
)

ALLOWED_TAGS = {
    "a", "blockquote", "br", "code", "del", "em", "h1", "h2", "h3", "h4", "h5", "h6",
    "hr", "li", "ol", "p", "pre", "s", "strong", "table", "tbody", "td", "th", "thead",
    "tr", "ul", "img", "iframe",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    # Pictures: from this app (an SOP's own attachments, /sops/…/files/…) or any https address,
    # as the CSP's img-src allows; they load lazily and fit the column (app.css).
    "img": {"src", "alt", "title", "loading"},
    "ol": {"start"},
    "th": {"align"},
    "td": {"align"},
    # Only the players of the video embeds below; `keep_only_players` drops any other source.
    "iframe": {"src", "title", "loading", "allow", "allowfullscreen", "referrerpolicy"},
}

# A line holding only a link to a video on one of these becomes its player, from the host's
# player address (YouTube's that sets no cookies). The CSP's frame-src allows these hosts only.
VIDEOS = [
    (
        re.compile(
            r"https?://(?:www\.|m\.)?youtube\.com/(?:watch\?(?:[^\s#]*&)?v=|shorts/|embed/|live/)"
            r"([A-Za-z0-9_-]{11})(?:[?&#/][^\s]*)?"
        ),
        "https://www.youtube-nocookie.com/embed/{}",
        "YouTube video",
    ),
    (
        re.compile(r"https?://youtu\.be/([A-Za-z0-9_-]{11})(?:[?&#/][^\s]*)?"),
        "https://www.youtube-nocookie.com/embed/{}",
        "YouTube video",
    ),
    (
        re.compile(r"https?://(?:www\.)?vimeo\.com/(\d{1,12})(?:[?#/][^\s]*)?"),
        "https://player.vimeo.com/video/{}",
        "Vimeo video",
    ),
    (
        re.compile(r"https?://(?:www\.)?loom\.com/(?:share|embed)/([0-9a-f]{32})(?:[?#][^\s]*)?"),
        "https://www.loom.com/embed/{}",
        "Loom video",
    ),
]
PLAYER = re.compile(
    r"https://(?:www\.youtube-nocookie\.com/embed/[A-Za-z0-9_-]{11}"
    r"|player\.vimeo\.com/video/\d{1,12}"
    r"|www\.loom\.com/embed/[0-9a-f]{32})"
)


def player_of(line: str) -> tuple[str, str] | None:
    """The player's address and title for a line that is only a video link (bare, or written
    <https://…>), or None."""
    line = line.strip()
    if line.startswith("<") and line.endswith(">"):
        line = line[1:-1]
    for pattern, player, title in VIDEOS:
        match = pattern.fullmatch(line)
        if match:
            return player.format(match.group(1)), title
    return None


def embed_videos(state) -> None:
    """A core rule of the parser: a paragraph that is only a video link becomes its player
    (an html_block token, which the renderer writes out as it is; nh3 still checks it)."""
    tokens = state.tokens
    for i in range(len(tokens) - 2):
        opening, inline, closing = tokens[i : i + 3]
        if (opening.type, inline.type, closing.type) != (
            "paragraph_open",
            "inline",
            "paragraph_close",
        ):
            continue
        found = player_of(inline.content) if "\n" not in inline.content.strip() else None
        if found is None:
            continue
        src, title = found
        html = (
            f'<iframe src="{escape(src)}" title="{escape(title)}" loading="lazy" '
            'allow="fullscreen; picture-in-picture" allowfullscreen '
            'referrerpolicy="strict-origin-when-cross-origin"></iframe>\n'
        )
        opening.type, opening.tag, opening.nesting = "html_block", "", 0
        opening.content = html
        inline.type, inline.content, inline.children = "text", "", []
        closing.type, closing.tag, closing.nesting = "text", "", 0
        closing.content = ""


_parser.core.ruler.push("embed_videos", embed_videos)


def keep_only_players(tag: str, attribute: str, value: str) -> str | None:
    """nh3's last word on each attribute: an iframe's source must be one of the players."""
    if tag == "iframe" and attribute == "src" and not PLAYER.fullmatch(value):
        return None
    return value


# The HTML of so many texts (SOPs' bodies, comments) is kept in each process, by the text
# itself: a text is rendered once, however often its page is drawn, until it is edited (other
# text, another key). Rendering is a function of the text alone (the parser and the rules above
# are fixed), so what is kept is never stale. Texts longer than KEPT_LENGTH characters are
# rendered each time, so that what is kept stays small: at worst KEPT texts of that length and
# their HTML, some 5 MB of a worker's memory; an SOP of a page or two keeps a few kB.
KEPT = 256
KEPT_LENGTH = 10_000


def render_markdown(text: str) -> SafeString:
    text = text or ""
    if len(text) > KEPT_LENGTH:
        return mark_safe(rendered(text))
    return mark_safe(kept_rendered(text))


def rendered(text: str) -> str:
    return sanitise(_parser.render(text))


kept_rendered = functools.lru_cache(maxsize=KEPT)(rendered)


def sanitise(html: str) -> str:
    """Only the tags and attributes above, links and pictures by http(s) or from this app,
    iframes of the video players only."""
    clean = nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        attribute_filter=keep_only_players,
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer nofollow",
        set_tag_attribute_values={"img": {"loading": "lazy"}},
    )
    # An iframe whose source was dropped (none of ours could be) shows nothing: it goes.
    return re.sub(r"<iframe(?![^>]*\ssrc=)[^>]*>\s*</iframe>", "", clean)
