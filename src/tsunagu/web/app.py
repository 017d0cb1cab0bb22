"""The application factory: ``create_app`` assembles the ASGI app.

Order of the layers, outermost first: Starlette's server-error guard, the request envelope
(``web.middleware``: request id, body limit, security headers, access log, last-resort 500),
the exception handlers (``web.handlers``: problem+json under /api, pages elsewhere), then
the routers of every domain.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text
from sqlalchemy.engine import Engine

import tsunagu
from tsunagu.cases import endpoints as cases_endpoints
from tsunagu.cases import inquiry_pages as cases_inquiry_pages
from tsunagu.cases import integration_endpoints as cases_integration_endpoints
from tsunagu.cases import integration_pages as cases_integration_pages
from tsunagu.cases import kpt_endpoints as cases_kpt_endpoints
from tsunagu.cases import kpt_pages as cases_kpt_pages
from tsunagu.cases import pages as cases_pages
from tsunagu.cases import settings_endpoints as cases_settings_endpoints
from tsunagu.cases import settings_pages as cases_settings_pages
from tsunagu.cases import worker as cases_worker
from tsunagu.cleanroom import endpoints as cleanroom_endpoints
from tsunagu.cleanroom import pages as cleanroom_pages
from tsunagu.consent import endpoints as consent_endpoints
from tsunagu.core.database import make_engine, make_session_factory, migrate
from tsunagu.core.http import problem_response
from tsunagu.core.logging import configure_logging
from tsunagu.core.settings import Settings, get_settings
from tsunagu.crm import activity_endpoints as crm_activity_endpoints
from tsunagu.crm import campaign_endpoints as crm_campaign_endpoints
from tsunagu.crm import campaign_pages as crm_campaign_pages
from tsunagu.crm import endpoints as crm_endpoints
from tsunagu.crm import handoff_pages as crm_handoff_pages
from tsunagu.crm import pages as crm_pages
from tsunagu.identity import endpoints as identity_endpoints
from tsunagu.identity import import_endpoints as identity_import_endpoints
from tsunagu.identity import pages as identity_pages
from tsunagu.identity.api_key_auth import ApiKeyCache
from tsunagu.linkage import endpoints as linkage_endpoints
from tsunagu.linkage import pages as linkage_pages
from tsunagu.linkage import psi_endpoints as linkage_psi_endpoints
from tsunagu.vault import endpoints as vault_endpoints
from tsunagu.vault import import_endpoints as vault_import_endpoints
from tsunagu.vault import portal_api as vault_portal_api
from tsunagu.vault import portal_pages as vault_portal_pages
from tsunagu.vault import staff_pages as vault_staff_pages
from tsunagu.web import ledger_api, ledger_pages
from tsunagu.web.assets import static_files
from tsunagu.web.handlers import install_exception_handlers, render_app_error
from tsunagu.web.middleware import RequestEnvelopeMiddleware


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    """The server's background work: the ledger's checkpoint publisher and the sender of
    case e-mails and webhook deliveries (each decides by ``app.state`` whether to run)."""
    async with ledger_api.lifespan(app), cases_worker.lifespan(app):
        yield


def create_app(
    settings: Settings | None = None,
    *,
    engine: Engine | None = None,
    session_factory: object | None = None,
    run_migrations: bool = True,
) -> FastAPI:
    """The tsunagu ASGI app.

    ``engine``/``session_factory`` may be given (tests bind sessions to one connection);
    otherwise they are made from ``settings`` and the database is migrated first.
    """
    settings = settings or get_settings()
    configure_logging(settings.log_level, json_lines=settings.log_json)
    if engine is None:
        engine = make_engine(settings.resolved_database_url())
    if run_migrations:
        migrate(engine)
    app = FastAPI(
        title="tsunagu",
        version=tsunagu.__version__,
        openapi_url="/api/v1/openapi.json",
        # FastAPI's Swagger and ReDoc pages load scripts from a CDN, which the
        # Content-Security-Policy (and DESIGN.md: no CDN) forbids; the schema is the contract
        docs_url=None,
        redoc_url=None,
        lifespan=_lifespan,
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.session_factory = session_factory or make_session_factory(engine)
    app.state.read_session_factory = session_factory or make_session_factory(
        engine, read_mostly=True
    )
    app.state.api_key_cache = ApiKeyCache(settings.api_key_cache_seconds)
    # the checkpoint publisher runs in servers, not in tests that bring their own sessions
    app.state.ledger_publisher_enabled = session_factory is None
    # so does the sender of case e-mails and webhooks (unless turned off)
    app.state.cases_worker_enabled = session_factory is None and settings.cases_worker

    install_exception_handlers(app)
    app.add_middleware(
        RequestEnvelopeMiddleware,
        max_body_bytes=settings.max_body_bytes,
        render_error=render_app_error,
        hsts=settings.secure_cookies,
    )

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", include_in_schema=False)
    def readyz(request: Request) -> JSONResponse:
        # through the session factory, as every request reaches the database
        try:
            with request.app.state.session_factory() as session:
                session.execute(text("SELECT 1"))
        except Exception:
            return problem_response(
                request,
                status=503,
                code="database_unreachable",
                title="Service unavailable",
                detail="the database does not answer",
            )
        return JSONResponse({"status": "ready"})

    app.include_router(identity_endpoints.router, prefix="/api/v1")
    app.include_router(identity_import_endpoints.router, prefix="/api/v1")
    app.include_router(ledger_api.router, prefix="/api/v1")
    app.include_router(consent_endpoints.router, prefix="/api/v1")
    app.include_router(vault_endpoints.router, prefix="/api/v1")
    app.include_router(vault_import_endpoints.router, prefix="/api/v1")
    app.include_router(crm_endpoints.router, prefix="/api/v1")
    app.include_router(crm_campaign_endpoints.router, prefix="/api/v1")
    app.include_router(crm_activity_endpoints.router, prefix="/api/v1")
    app.include_router(cases_settings_endpoints.router, prefix="/api/v1")
    app.include_router(cases_integration_endpoints.router, prefix="/api/v1")
    app.include_router(cases_kpt_endpoints.router, prefix="/api/v1")
    app.include_router(cases_endpoints.router, prefix="/api/v1")
    app.include_router(linkage_endpoints.router, prefix="/api/v1")
    app.include_router(linkage_psi_endpoints.router, prefix="/api/v1")
    app.include_router(cleanroom_endpoints.router, prefix="/api/v1")
    app.include_router(identity_pages.router)
    app.include_router(ledger_pages.router)
    app.include_router(vault_portal_pages.router)
    app.include_router(vault_portal_api.router)
    app.include_router(vault_staff_pages.router)
    app.include_router(crm_pages.router)
    app.include_router(crm_campaign_pages.router)
    app.include_router(crm_handoff_pages.router)
    app.include_router(cases_settings_pages.router)
    app.include_router(cases_integration_pages.router)
    app.include_router(cases_pages.router)
    app.include_router(cases_kpt_pages.router)
    app.include_router(cases_inquiry_pages.router)
    app.include_router(linkage_pages.router)
    app.include_router(cleanroom_pages.router)
    app.mount("/static", static_files(), name="static")
    return app
