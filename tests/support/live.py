"""A tsunagu app served by uvicorn on 127.0.0.1 in a thread, for the browser tests."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import uvicorn
from playwright.sync_api import expect

from tsunagu.core.settings import Settings
from tsunagu.web.app import create_app


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def serving(settings: Settings, name: str = "live-server") -> Iterator[str]:
    """Serve the app of ``settings`` until the block ends; yields its base URL."""
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(settings),
            host="127.0.0.1",
            port=port,
            log_level="warning",
            lifespan="off",
            ws="none",
            access_log=False,
        )
    )
    thread = threading.Thread(target=server.run, name=name, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            pytest.fail("the live server did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


#: the browser locale of each language the pages speak
BROWSER_LOCALES = {"ja": "ja-JP", "en": "en-US"}
#: the staff sign-in form's labels: e-mail, password, the button
SIGN_IN_LABELS = {
    "ja": ("メールアドレス", "パスワード", "サインイン"),
    "en": ("E-mail address", "Password", "Sign in"),
}


def staff_page(
    browser: Any,
    base_url: str,
    lang: str,
    email: str,
    password: str,
    *,
    contexts: list[Any],
    before_sign_in: Callable[[Any], None] | None = None,
    **context_options: Any,
) -> Any:
    """A Playwright page signed in through the staff form in ``lang``, on the dashboard.

    Its browser context is appended to ``contexts`` (the caller closes them);
    ``before_sign_in(page)`` runs first, e.g. to collect console errors from the start."""
    context_options.setdefault("viewport", {"width": 1280, "height": 900})
    context = browser.new_context(
        locale=BROWSER_LOCALES[lang], base_url=base_url, **context_options
    )
    context.set_default_timeout(15_000)
    contexts.append(context)
    page = context.new_page()
    if before_sign_in is not None:
        before_sign_in(page)
    email_label, password_label, button = SIGN_IN_LABELS[lang]
    page.goto("/signin")
    page.get_by_label(email_label, exact=True).fill(email)
    page.get_by_label(password_label, exact=True).fill(password)
    page.get_by_role("button", name=button, exact=True).click()
    expect(page).to_have_url(f"{base_url}/dashboard")
    return page
