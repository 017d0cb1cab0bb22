"""tsunagu (つなぐ) — a platform on which people own the data organizations hold about them.

The package is a modular monolith: ``core`` holds the shared machinery (settings, database,
errors, clock, ids, crypto, i18n, HTTP plumbing); each domain (``identity`` first, then
``ledger``, ``consent``, ``vault`` …) owns its tables, services, API router, pages and CLI;
``web`` assembles the FastAPI application and ``cli`` the Typer command line.  Imports point
one way, checked by import-linter (see ``pyproject.toml``).
"""

__version__ = "0.1.0"
