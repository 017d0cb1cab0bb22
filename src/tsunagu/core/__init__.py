"""Shared machinery every domain builds on; imports no domain.

- ``settings``  — configuration from ``TSUNAGU_*`` environment variables and ``TSUNAGU_HOME``
- ``database``  — SQLAlchemy engine (SQLite WAL + foreign keys, or PostgreSQL), sessions,
  the declarative ``Base`` with a naming convention, and ``migrate`` (Alembic upgrade head)
- ``errors``    — ``AppError`` and its tree; every error the product shows is one of these
- ``clock``     — aware UTC ``now`` and the ``UTCDateTime`` column type
- ``ids``       — time-ordered UUIDs
- ``crypto``    — random tokens and token digests
- ``i18n``      — gettext catalogues (Japanese, English) and locale negotiation
- ``imports``   — the all-or-nothing CSV import core every domain uses
- ``http``      — adapter plumbing shared by routers: the per-request session, problem+json
- ``templating``— the Jinja environment of the pages and ``render`` (CSRF and page sessions
  live in ``identity/web_auth.py``)
- ``logging``   — structured (JSON-line) logs

Invariant: nothing here imports ``tsunagu.<domain>``; domains import ``core``.
"""
