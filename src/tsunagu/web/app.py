"""The application factory."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy.engine import Engine

import tsunagu
from tsunagu.core.database import make_engine, make_session_factory, migrate, ping
from tsunagu.core.errors import AppError
from tsunagu.core.http import problem_response
from tsunagu.core.settings import Settings, get_settings
from tsunagu.identity import endpoints as identity_endpoints
from tsunagu.identity import import_endpoints as identity_import_endpoints
from tsunagu.identity import pages as identity_pages
from tsunagu.web.error_pages import render_error_page


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
    if engine is None:
        engine = make_engine(settings.resolved_database_url())
    if run_migrations:
        migrate(engine)
    app = FastAPI(
        title="tsunagu",
        version=tsunagu.__version__,
        openapi_url="/api/v1/openapi.json",
        docs_url="/api/v1/docs",
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.session_factory = session_factory or make_session_factory(engine)

    @app.exception_handler(AppError)
    def _app_error(request: Request, exc: AppError) -> Response:
        if not request.url.path.startswith("/api/"):
            return render_error_page(request, exc)
        return problem_response(
            request,
            status=exc.status_code,
            code=exc.code,
            title=exc.title,
            detail=exc.message,
            errors=exc.errors,
        )

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", include_in_schema=False)
    def readyz(request: Request) -> JSONResponse:
        try:
            ping(request.app.state.engine)
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
    app.include_router(identity_pages.router)
    return app
