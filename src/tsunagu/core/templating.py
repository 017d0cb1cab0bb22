"""Server-rendered HTML: the Jinja2 environment every page uses, and ``render``.

- Templates live in ``src/tsunagu/web/templates`` (a path, so ``core`` imports no
  ``web`` module); autoescaping is always on.
- One environment per supported language, each with that language's gettext
  translations installed (Jinja's i18n extension, new-style ``_()`` with keyword
  formatting), so concurrent requests in different languages never share state.
- ``format_datetime`` shows an aware datetime in the zone of the page (the organization's,
  or ``Settings.default_timezone``): ``2026年11月27日 20:42 JST`` in Japanese,
  ``27 Nov 2026 20:42 JST`` in English.

``render`` takes the language from ``request.state.locale`` when an authentication
dependency has set it (the signed-in user's setting), otherwise negotiates it from the
``lang`` cookie and ``Accept-Language``.
"""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from jinja2 import Environment, FileSystemLoader, pass_context, select_autoescape
from jinja2.runtime import Context
from starlette.requests import Request
from starlette.responses import HTMLResponse

from tsunagu.core.i18n import LOCALE_NAMES, SUPPORTED_LOCALES, negotiate_locale, translations
from tsunagu.core.settings import Settings, get_settings

WEB_DIR = Path(__file__).resolve().parent.parent / "web"
TEMPLATE_DIR = WEB_DIR / "templates"
STATIC_DIR = WEB_DIR / "static"
LANG_COOKIE = "lang"

_MONTHS_EN = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def format_datetime_in(value: datetime, locale: str, zone: str) -> str:
    """An aware ``value`` as people in ``zone`` read it, in ``locale``'s style."""
    try:
        tz = ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        tz = ZoneInfo("Asia/Tokyo")
    local = value.astimezone(tz)
    abbreviation = local.tzname() or ""
    clock = f"{local.hour:02d}:{local.minute:02d}"
    if locale == "ja":
        return f"{local.year}年{local.month}月{local.day}日 {clock} {abbreviation}".rstrip()
    month = _MONTHS_EN[local.month - 1]
    return f"{local.day} {month} {local.year} {clock} {abbreviation}".rstrip()


@pass_context
def _format_datetime_filter(context: Context, value: datetime | None) -> str:
    if value is None:
        return ""
    locale = str(context.get("locale", SUPPORTED_LOCALES[0]))
    zone = str(context.get("timezone") or "Asia/Tokyo")
    return format_datetime_in(value, locale, zone)


@lru_cache(maxsize=len(SUPPORTED_LOCALES))
def environment(locale: str) -> Environment:
    """The template environment of ``locale`` (built once per process)."""
    env = Environment(
        loader=FileSystemLoader(TEMPLATE_DIR),
        autoescape=select_autoescape(default=True, default_for_string=True),
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.install_gettext_translations(translations(locale), newstyle=True)  # type: ignore[attr-defined]
    env.filters["format_datetime"] = _format_datetime_filter
    env.globals["locale_names"] = LOCALE_NAMES
    return env


def _settings_of(request: Request) -> Settings:
    settings = getattr(request.app.state, "settings", None)
    return settings if isinstance(settings, Settings) else get_settings()


def request_locale(request: Request) -> str:
    """The language of ``request``: set by authentication, else cookie/Accept-Language."""
    chosen = getattr(request.state, "locale", None)
    if isinstance(chosen, str) and chosen in SUPPORTED_LOCALES:
        return chosen
    return negotiate_locale(
        cookie_locale=request.cookies.get(LANG_COOKIE),
        accept_language=request.headers.get("accept-language"),
        default=_settings_of(request).default_locale,
    )


def render(
    request: Request, name: str, context: dict[str, Any] | None = None, status_code: int = 200
) -> HTMLResponse:
    """The template ``name`` rendered for ``request`` in its language."""
    locale = request_locale(request)
    values: dict[str, Any] = {
        "request": request,
        "locale": locale,
        "timezone": _settings_of(request).default_timezone,
    }
    values.update(context or {})
    html = environment(locale).get_template(name).render(values)
    response = HTMLResponse(html, status_code=status_code)
    response.headers["Content-Language"] = locale
    response.headers.setdefault("Cache-Control", "no-store")
    return response


__all__ = [
    "LANG_COOKIE",
    "STATIC_DIR",
    "TEMPLATE_DIR",
    "environment",
    "format_datetime_in",
    "render",
    "request_locale",
]
