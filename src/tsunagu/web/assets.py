"""Static assets (CSS, at most a little JS) served locally under ``/static`` — no CDN."""

from __future__ import annotations

from starlette.staticfiles import StaticFiles

from tsunagu.core.templating import STATIC_DIR


def static_files() -> StaticFiles:
    """The ASGI app that serves ``src/tsunagu/web/static``."""
    return StaticFiles(directory=STATIC_DIR)
