"""Markdown of descriptions and comments renders, and nothing in it can run script."""

from __future__ import annotations

from html.parser import HTMLParser

from hypothesis import given
from hypothesis import strategies as st

from tsunagu.cases.markdown import render


class _Tags(HTMLParser):
    """Every element and attribute in a piece of HTML."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: set[str] = set()
        self.attributes: list[tuple[str, str | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        self.attributes.extend(attrs)


def parsed(html: str) -> _Tags:
    parser = _Tags()
    parser.feed(html)
    return parser


class TestMarkdown:
    def test_emphasis_lists_and_tables_render(self) -> None:
        html = render("**重要**\n\n- 一\n- 二\n\n|a|b|\n|-|-|\n|1|2|")
        assert "<strong>重要</strong>" in html
        assert "<li>一</li>" in html
        assert "<td>1</td>" in html

    def test_a_script_tag_is_shown_as_text(self) -> None:
        html = render("<script>alert(1)</script>")
        assert "<script" not in html
        assert "&lt;script&gt;" in html

    def test_a_javascript_link_loses_its_target(self) -> None:
        html = render("[click](javascript:alert(1))")
        assert "javascript:" not in html.replace("[click](javascript:alert(1))", "")
        assert "href=" not in html

    def test_raw_html_with_an_event_handler_becomes_text(self) -> None:
        found = parsed(render('<img src="x" onerror="alert(1)">'))
        assert "img" not in found.tags
        assert not [name for name, _ in found.attributes if name.startswith("on")]

    def test_links_are_marked_nofollow_noopener(self) -> None:
        html = render("[市](https://example.jp/)")
        assert 'rel="noopener noreferrer nofollow"' in html

    @given(st.text(max_size=200))
    def test_no_input_yields_a_script_element_or_handler(self, text: str) -> None:
        found = parsed(render(text))
        assert not found.tags & {"script", "iframe", "object", "embed", "style"}
        assert not [name for name, _ in found.attributes if name.startswith("on")]
        assert not [v for _, v in found.attributes if v and v.lower().startswith("javascript")]
