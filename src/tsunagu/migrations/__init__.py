"""Alembic migrations for every domain (one history, one head).

They ship inside the package (not at the repository root, as STYLE.md sketches) so that an
installed ``tsunagu`` can migrate an empty database by itself: every CLI command and
``tsunagu serve`` run ``core.database.migrate`` before use.
"""
