"""Search of cases on SQLite and PostgreSQL."""
