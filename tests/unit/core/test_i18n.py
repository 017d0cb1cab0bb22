"""The catalogues are complete and the language of a request is chosen as documented."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir

from tsunagu.core.i18n import (
    SUPPORTED_LOCALES,
    gettext_for,
    negotiate_locale,
    parse_accept_language,
    read_catalogue,
)
from tsunagu.core.templating import environment, format_datetime_in

PACKAGE = Path(__file__).resolve().parents[3] / "src" / "tsunagu"
JINJA_OPTIONS = {
    "extensions": "jinja2.ext.i18n",
    "trim_blocks": "True",
    "lstrip_blocks": "True",
}


def marked_strings() -> set[str]:
    """Every string the templates and the Python code mark for translation."""
    found = extract_from_dir(
        str(PACKAGE),
        method_map=[("web/templates/**.html", "jinja2.ext:babel_extract"), ("**.py", "python")],
        options_map={"web/templates/**.html": JINJA_OPTIONS},
        keywords={"_": None, "gettext": None, "gettext_noop": None},
    )
    return {message for _file, _line, message, _comments, _context in found}


class TestCatalogues:
    def test_every_message_has_a_japanese_translation(self) -> None:
        untranslated = [m.id for m in read_catalogue("ja") if m.id and not m.string]
        assert untranslated == []

    def test_every_marked_string_is_catalogued_in_every_language(self) -> None:
        marked = marked_strings()
        for locale in SUPPORTED_LOCALES:
            catalogued = {m.id for m in read_catalogue(locale) if m.id}
            assert sorted(marked - catalogued) == [], locale

    def test_templates_mark_strings_at_all(self) -> None:
        assert "Staff sign-in" in marked_strings()

    def test_japanese_placeholders_match_the_english_ones(self) -> None:
        for message in read_catalogue("ja"):
            if message.id and "%(" in str(message.id):
                names = sorted(part.split(")")[0] for part in str(message.id).split("%(")[1:])
                translated = sorted(
                    part.split(")")[0] for part in str(message.string).split("%(")[1:]
                )
                assert names == translated, message.id

    def test_english_falls_back_to_the_source_string(self) -> None:
        assert gettext_for("en", "Dashboard") == "Dashboard"
        assert gettext_for("ja", "Dashboard") == "ダッシュボード"


class TestNegotiateLocale:
    def test_user_setting_wins_over_cookie_and_header(self) -> None:
        chosen = negotiate_locale(user_locale="en", cookie_locale="ja", accept_language="ja")
        assert chosen == "en"

    def test_cookie_wins_over_accept_language(self) -> None:
        assert negotiate_locale(cookie_locale="en", accept_language="ja-JP") == "en"

    def test_accept_language_is_read_by_quality(self) -> None:
        assert negotiate_locale(accept_language="fr;q=1, en;q=0.8, ja;q=0.9") == "ja"

    def test_region_subtags_match_their_language(self) -> None:
        assert negotiate_locale(accept_language="en-GB") == "en"

    def test_unsupported_choices_fall_through_to_the_default(self) -> None:
        chosen = negotiate_locale(user_locale="fr", cookie_locale="de", accept_language="ko")
        assert chosen == "ja"

    def test_default_is_configurable(self) -> None:
        assert negotiate_locale(default="en") == "en"

    def test_zero_quality_means_not_acceptable(self) -> None:
        assert parse_accept_language("en;q=0, ja") == ["ja"]


class TestFormatDatetime:
    moment = datetime(2026, 11, 27, 11, 42, tzinfo=UTC)

    def test_japanese_shows_tokyo_time(self) -> None:
        assert format_datetime_in(self.moment, "ja", "Asia/Tokyo") == "2026年11月27日 20:42 JST"

    def test_english_shows_tokyo_time(self) -> None:
        assert format_datetime_in(self.moment, "en", "Asia/Tokyo") == "27 Nov 2026 20:42 JST"

    def test_organization_zone_is_honoured(self) -> None:
        assert format_datetime_in(self.moment, "en", "UTC") == "27 Nov 2026 11:42 UTC"

    @pytest.mark.parametrize("locale", SUPPORTED_LOCALES)
    def test_filter_uses_the_zone_of_the_page(self, locale: str) -> None:
        template = environment(locale).from_string("{{ when | format_datetime }}")
        rendered = template.render(when=self.moment, locale=locale, timezone="Asia/Tokyo")
        assert "20:42 JST" in rendered


class TestTemplates:
    def test_autoescape_is_on(self) -> None:
        rendered = environment("ja").from_string("{{ v }}").render(v="<script>")
        assert rendered == "&lt;script&gt;"

    def test_trans_is_translated_per_environment(self) -> None:
        source = '{{ _("Sign in") }}'
        assert environment("ja").from_string(source).render() == "サインイン"
        assert environment("en").from_string(source).render() == "Sign in"
