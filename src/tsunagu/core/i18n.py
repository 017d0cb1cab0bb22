"""Translations (gettext catalogues read with Babel) and the choice of a request's language.

Source strings are English; ``src/tsunagu/locale/<lang>/LC_MESSAGES/messages.po`` holds
the catalogue of each supported language, and every other ``.po`` file beside it (one per
domain: ``consent.po``, ``vault.po``) is merged in.  The files are compiled in memory the
first time a language is used, so there is no build step: edit a ``.po`` file, restart.

A request's language is, in order: the signed-in user's own setting, the ``lang`` cookie
set by the language switcher, the best match of ``Accept-Language``, and finally
``Settings.default_locale``.  Only ``SUPPORTED_LOCALES`` are ever chosen.

Invariant: every ``msgid`` of the catalogues has a Japanese translation (a unit test
checks it, and that every string the templates mark for translation is catalogued).
"""

from __future__ import annotations

import gettext
import io
from functools import lru_cache
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

SUPPORTED_LOCALES = ("ja", "en")
#: the name of each language in that language, for the switcher
LOCALE_NAMES = {"ja": "日本語", "en": "English"}
DOMAIN = "messages"
LOCALE_DIR = Path(__file__).resolve().parent.parent / "locale"


def catalogue_path(locale: str) -> Path:
    """The ``.po`` file of ``locale``."""
    return LOCALE_DIR / locale / "LC_MESSAGES" / f"{DOMAIN}.po"


def read_catalogue(locale: str) -> Catalog:
    """The catalogue of ``locale``: ``messages.po`` merged with every other ``.po`` file
    beside it (one per domain, e.g. ``consent.po``), so domains keep their own strings."""
    with catalogue_path(locale).open("rb") as fh:
        catalogue = read_po(fh, locale=locale, domain=DOMAIN)
    for extra in sorted(catalogue_path(locale).parent.glob("*.po")):
        if extra.name == f"{DOMAIN}.po":
            continue
        with extra.open("rb") as fh:
            for message in read_po(fh, locale=locale, domain=DOMAIN):
                if message.id and message.id not in catalogue:
                    catalogue[message.id] = message
    return catalogue


@lru_cache(maxsize=len(SUPPORTED_LOCALES))
def translations(locale: str) -> gettext.GNUTranslations:
    """The compiled translations of a supported ``locale`` (compiled once per process)."""
    if locale not in SUPPORTED_LOCALES:
        raise ValueError(f"unsupported locale {locale!r}")
    buffer = io.BytesIO()
    write_mo(buffer, read_catalogue(locale))
    buffer.seek(0)
    return gettext.GNUTranslations(buffer)


def normalise_locale(value: str | None) -> str | None:
    """``value`` as a supported locale (``ja-JP`` → ``ja``, ``en_US`` → ``en``), or None."""
    if not value:
        return None
    primary = value.strip().replace("_", "-").split("-", 1)[0].lower()
    return primary if primary in SUPPORTED_LOCALES else None


def parse_accept_language(header: str | None) -> list[str]:
    """Language tags of an ``Accept-Language`` header, most preferred first (q=0 dropped)."""
    if not header:
        return []
    weighted: list[tuple[float, int, str]] = []
    for index, part in enumerate(header.split(",")):
        tag, _, params = part.strip().partition(";")
        tag = tag.strip()
        if not tag or tag == "*":
            continue
        quality = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if quality > 0:
            weighted.append((-quality, index, tag))
    return [tag for _, _, tag in sorted(weighted)]


def negotiate_locale(
    *,
    user_locale: str | None = None,
    cookie_locale: str | None = None,
    accept_language: str | None = None,
    default: str = "ja",
) -> str:
    """The language to show: user setting, then cookie, then Accept-Language, then default."""
    for candidate in (user_locale, cookie_locale):
        chosen = normalise_locale(candidate)
        if chosen:
            return chosen
    for tag in parse_accept_language(accept_language):
        chosen = normalise_locale(tag)
        if chosen:
            return chosen
    return normalise_locale(default) or SUPPORTED_LOCALES[0]


def gettext_noop(message: str) -> str:
    """Mark ``message`` for the catalogue where it is defined; translate it where shown."""
    return message


def gettext_for(locale: str, message: str) -> str:
    """``message`` translated into ``locale``."""
    return translations(locale).gettext(message)


__all__ = [
    "LOCALE_NAMES",
    "SUPPORTED_LOCALES",
    "catalogue_path",
    "gettext_for",
    "gettext_noop",
    "negotiate_locale",
    "normalise_locale",
    "parse_accept_language",
    "read_catalogue",
    "translations",
]
