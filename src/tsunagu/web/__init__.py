"""The web application: FastAPI app assembly (``create_app``), error handlers, middleware,
shared templates (base layout) and static assets served locally (no CDN).

Depends on every domain; no domain imports ``tsunagu.web``.
"""
