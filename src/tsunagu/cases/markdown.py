"""Markdown of case descriptions and comments, rendered to HTML that is safe to show.

CommonMark with tables and strikethrough (``markdown-it-py``, raw HTML off) and then a
sanitiser with an allow-list (``nh3``, Ammonia): no script, no event handler, no
``javascript:`` link survives, whatever the author typed.  Links open with
``rel="noopener noreferrer nofollow"``.
"""

from __future__ import annotations

import nh3
from markdown_it import MarkdownIt
from markupsafe import Markup

_parser = MarkdownIt("commonmark", {"html": False, "linkify": False, "breaks": True}).enable(
    ["table", "strikethrough"]
)

_TAGS = {
    "a", "blockquote", "br", "code", "del", "em", "h1", "h2", "h3", "h4", "h5", "h6", "hr",
    "li", "ol", "p", "pre", "s", "strong", "table", "tbody", "td", "th", "thead", "tr", "ul",
    "img",
}  # fmt: skip
_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title"},
    "th": {"style"},
    "td": {"style"},
    "ol": {"start"},
}


def render(text: str) -> Markup:
    """The Markdown ``text`` as sanitised HTML, marked safe for Jinja."""
    html = _parser.render(text or "")
    clean = nh3.clean(
        html,
        tags=_TAGS,
        attributes=_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer nofollow",
        filter_style_properties={"text-align"},
    )
    return Markup(clean)  # noqa: S704 - sanitised by nh3 just above
