"""Specification tests of consent and the policy decision point, on SQLite and PostgreSQL."""
